"""Lesson 5's checkers accept the reference answers and name each typical mistake."""

from __future__ import annotations

import unicodedata

import pytest

from labkit.exercises import lesson5 as ex
from labkit.exercises.solutions import lesson5 as solutions

from .helpers import accepted, chinese_verdict, not_attempted, rejected

# --- log_order ------------------------------------------------------------------


def _stream_id(entry):
    ms, seq = entry[0].split("-")
    return int(ms), int(seq)


def _all(writes):
    return [entry for written in writes.values() for entry in written]


def _says(entries):
    return [fields["x"] for _, fields in entries if fields["e"] == "say"]


def test_log_order_accepts_the_reference() -> None:
    """The reference passes, and the praise says every process delivers the one order."""
    result = ex.check.log_order(solutions.log_order)
    accepted(result)
    assert "every process" in result.message


def test_the_reference_interleaves_the_processes_by_id() -> None:
    """The first case's order mixes both processes, the same millisecond ordered by sequence."""
    assert solutions.log_order(ex.ORDER_CASES[0]) == ["a1", "b1", "a2", "b2", "a3"]


def test_every_typical_mistake_gives_another_order() -> None:
    """The first case tells each mistake apart from the right answer and from each other."""
    orders = [tuple(order) for order, _, _ in ex._order_mistakes(ex.ORDER_CASES[0])]
    orders.append(tuple(solutions.log_order(ex.ORDER_CASES[0])))
    assert len(set(orders)) == len(orders)


def order_by_process(writes):
    return _says(_all(writes))


def order_as_text(writes):
    return _says(sorted(_all(writes), key=lambda e: e[0]))


def order_by_milliseconds(writes):
    return _says(sorted(_all(writes), key=lambda e: int(e[0].split("-")[0])))


def order_by_clock(writes):
    return _says(sorted(_all(writes), key=lambda e: float(e[1]["t"])))


def order_newest_first(writes):
    return _says(sorted(_all(writes), key=_stream_id, reverse=True))


def order_with_joins(writes):
    return [f.get("x", f.get("n")) for _, f in sorted(_all(writes), key=_stream_id)]


def order_one_process(writes):
    return _says(sorted(writes["A"], key=_stream_id))


def order_as_string(writes):
    return " ".join(solutions.log_order(writes))


@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (order_by_process, ("['a1', 'a2', 'a3', 'b1', 'b2']", "one after the other")),
        (order_as_text, ("as text", "'…-10' comes before '…-9'", "int(seq)")),
        (order_by_milliseconds, ("milliseconds only", "sequence number")),
        (order_by_clock, ("senders' clocks", "IDs")),
        (order_newest_first, ("newest first", "oldest entry first")),
        (order_with_joins, ("only public messages", "'say'")),
        (order_one_process, ("missing or doubled", "all the processes")),
        (order_as_string, ("expected a list", "a1 b1 a2")),
    ],
)
def test_log_order_rejects_a_mistake(mistake: object, fragments: tuple[str, ...]) -> None:
    """Each typical mistake shows expected vs got, then names itself."""
    rejected(ex.check.log_order(mistake), "expected", *fragments)


def order_placeholder(writes): ...


def test_log_order_untouched_is_not_attempted() -> None:
    """The notebook's untouched cell gives "not attempted yet"."""
    not_attempted(ex.check.log_order(order_placeholder))


# --- unique_joins ---------------------------------------------------------------


def test_unique_joins_accepts_the_reference() -> None:
    """The reference passes, and the praise says exactly one of two joins wins."""
    result = ex.check.unique_joins(solutions.unique_joins)
    accepted(result)
    assert "exactly one wins" in result.message


def test_the_reference_keeps_the_first_winner() -> None:
    """Of two joins for one name, the one Redis ran first wins and holds the name."""
    members: dict[str, str] = {}
    assert solutions.unique_joins(members, [("B", "Ana"), ("A", "ＡＮＡ")]) == [True, False]
    assert members == {"ana": "B"}


def _joins_with(key, members, joins, overwrite=False):
    won = []
    for process, name in joins:
        k = key(name)
        if k in members and not overwrite:
            won.append(False)
        else:
            members[k] = process
            won.append(True)
    return won


def _room_key(name):
    return unicodedata.normalize("NFKC", name).casefold()


def joins_as_typed(members, joins):
    return _joins_with(lambda n: n, members, joins)


def joins_casefold_only(members, joins):
    return _joins_with(str.casefold, members, joins)


def joins_lower(members, joins):
    return _joins_with(lambda n: unicodedata.normalize("NFKC", n).lower(), members, joins)


def joins_all_win(members, joins):
    return _joins_with(_room_key, members, joins, overwrite=True)


def joins_unrecorded(members, joins):
    return _joins_with(_room_key, dict(members), joins)


def joins_ignore_members(members, joins):
    seen: dict[str, str] = {}
    won = _joins_with(_room_key, seen, joins)
    members.update(seen)
    return won


def joins_last_writer(members, joins):
    won = solutions.unique_joins(dict(members), joins)
    for process, name in joins:
        members[_room_key(name)] = process
    return won


def joins_count(members, joins):
    return sum(solutions.unique_joins(members, joins))


@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (joins_as_typed, ("'Ana' and 'ana'", "NFKC")),
        (joins_casefold_only, ("misses NFKC", "ＡＮＡ")),
        (joins_lower, ("lower() is not casefold()", "Straße")),
        (joins_all_win, ("every join won", "HSET without HEXISTS", "HEXISTS then HSET")),
        (joins_unrecorded, ("not recorded in members", "members[key] = process")),
        (joins_ignore_members, ("already in members were not looked at",)),
        (joins_last_writer, ("the first one", "never overwrite")),
        (joins_count, ("one True or False per join",)),
    ],
)
def test_unique_joins_rejects_a_mistake(mistake: object, fragments: tuple[str, ...]) -> None:
    """Each typical mistake shows the joins and expected vs got, then names itself."""
    rejected(ex.check.unique_joins(mistake), "unique_joins(", "expected", *fragments)


def joins_placeholder(members, joins):
    pass


def test_unique_joins_untouched_is_not_attempted() -> None:
    """The notebook's untouched cell gives "not attempted yet"."""
    not_attempted(ex.check.unique_joins(joins_placeholder))


# --- in Chinese ----------------------------------------------------------------------


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (order_as_text, ("这是把 ID 当作文本排序，'…-10' 会排在 '…-9' 前面", "int(seq)")),
        (order_by_clock, ("发送者的时钟", "看它们的 ID")),
        (order_with_joins, ("里面只应该有公开消息", "fields['e'] == 'say'")),
    ],
)
def test_a_wrong_log_order_is_explained_in_chinese(
    mistake: object, fragments: tuple[str, ...]
) -> None:
    """The order that came back against the one expected, then the cause, in Chinese."""
    result = ex.check.log_order(mistake)
    rejected(result)
    chinese_verdict(
        result, "log_order：还不对", "期望是 ['a1', 'b1', 'a2', 'b2', 'a3']", *fragments
    )


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (joins_lower, ("lower() 不等于 casefold()", "'Straße' 和 'STRASSE' 是同一个名字")),
        (joins_all_win, ("每次加入都成功了", "把名字抢了过去", "先 HEXISTS 再 HSET")),
        (joins_unrecorded, ("成功者没有记录到 members 里", "members[key] = process")),
    ],
)
def test_wrong_unique_joins_are_explained_in_chinese(
    mistake: object, fragments: tuple[str, ...]
) -> None:
    """Which joins won against which should have, then the cause, in Chinese."""
    result = ex.check.unique_joins(mistake)
    rejected(result)
    chinese_verdict(result, "unique_joins：还不对", *fragments)


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("name", "reference", "praise"),
    [
        ("log_order", solutions.log_order, "3 份日志都排好了顺序"),
        ("unique_joins", solutions.unique_joins, "6 轮加入都判定正确"),
    ],
)
def test_a_right_answer_is_praised_in_chinese(name: str, reference: object, praise: str) -> None:
    """The references pass, and their ✓ lines are Chinese."""
    result = getattr(ex.check, name)(reference)
    accepted(result)
    chinese_verdict(result, f"{name}：正确！", praise)
