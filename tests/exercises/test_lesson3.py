"""Lesson 3 checkers: the chat room's core alone, then in a live room with three clients."""

from __future__ import annotations

import pytest

from labkit.chat.protocol import (
    ErrorCode,
    ErrorNotice,
    Join,
    Say,
    Typing,
    decode_server_event,
)
from labkit.exercises import lesson3 as ex
from labkit.exercises import live
from labkit.exercises.room import PracticeRoom
from labkit.exercises.solutions import lesson3 as solutions

from .helpers import accepted, chinese_verdict, not_attempted, rejected

# --- recipients ------------------------------------------------------------------------


def test_recipients_accepts_the_reference() -> None:
    """The reference recipients passes its check."""
    accepted(ex.check.recipients(solutions.recipients))


def recipients_filter(sender, members):
    return filter(lambda member: member != sender, members)


def test_recipients_accepts_any_ordered_iterable() -> None:
    """A filter object in the right order is as good as a list."""
    accepted(ex.check.recipients(recipients_filter))


def recipients_with_sender(sender, members):
    return list(members)


def recipients_only_sender(sender, members):
    return [sender]


def recipients_mutating(sender, members):
    members.remove(sender)
    return members


def recipients_as_set(sender, members):
    return set(members) - {sender}


def recipients_substring(sender, members):
    return [member for member in members if sender not in member]


def recipients_reversed(sender, members):
    return [member for member in reversed(members) if member != sender]


@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (recipients_with_sender, ("their own message back", "expected ['bo', 'cy']")),
        (recipients_only_sender, ("only the sender",)),
        (recipients_mutating, ("changed members", "new list")),
        (recipients_as_set, ("returned a set", "order")),
        (recipients_substring, ("recipients('bo', ['bob', 'bo', 'abo'])",)),
        (recipients_reversed, ("another order",)),
    ],
)
def test_recipients_rejects_a_mistake(mistake: object, fragments: tuple[str, ...]) -> None:
    """Each classic broadcast mistake is rejected with the call that showed it."""
    rejected(ex.check.recipients(mistake), *fragments)


def recipients_placeholder(sender, members): ...


def test_recipients_untouched_is_not_attempted() -> None:
    """The untouched recipients gives "not attempted yet"."""
    not_attempted(ex.check.recipients(recipients_placeholder))


# --- join / leave -------------------------------------------------------------------------


def test_join_leave_accepts_the_reference() -> None:
    """The reference on_join / on_leave pass their step-by-step check."""
    accepted(ex.check.join_leave(solutions.on_join, solutions.on_leave))


def join_allows_duplicates(users, name):
    users.append(name)
    return True


def join_case_sensitive(users, name):
    if name in users:
        return False
    users.append(name)
    return True


def join_stores_casefolded(users, name):
    key = name.casefold()
    if key in users:
        return False
    users.append(key)
    return True


def join_returns_new_list(users, name):
    return [*users, name]


def join_forgets_to_return(users, name):
    if name.casefold() not in [user.casefold() for user in users]:
        users.append(name)


def leave_rebinds(users, name):
    users = [user for user in users if user != name]


def leave_pops_last(users, name):
    if users:
        users.pop()


def leave_unchecked(users, name):
    users.remove(name)


SEEN: set[str] = set()


def join_remembers_forever(users, name):
    key = name.casefold()
    if key in SEEN or any(user.casefold() == key for user in users):
        return False
    SEEN.add(key)
    users.append(name)
    return True


@pytest.mark.parametrize(
    ("on_join", "on_leave", "fragments"),
    [
        (join_allows_duplicates, solutions.on_leave, ("on_join(['ana', 'bo'], 'ana')", "taken")),
        (join_case_sensitive, solutions.on_leave, ("'ANA'", "casefold")),
        (join_stores_casefolded, solutions.on_leave, ("'cy'", "as the user typed it")),
        (join_returns_new_list, solutions.on_leave, ("in place",)),
        (join_forgets_to_return, solutions.on_leave, ("returned None", "return True")),
        (solutions.on_join, leave_rebinds, ("ghost",)),
        (solutions.on_join, leave_pops_last, ("removed someone else", "nobody had left")),
        (solutions.on_join, leave_unchecked, ("'zed' never joined", "ValueError")),
        (join_remembers_forever, solutions.on_leave, ("free again",)),
    ],
)
def test_join_leave_rejects_a_mistake(
    on_join: object, on_leave: object, fragments: tuple[str, ...]
) -> None:
    """Each classic user-list mistake is rejected at the step that shows it."""
    SEEN.clear()
    rejected(ex.check.join_leave(on_join, on_leave), *fragments)


def on_leave_placeholder(users, name):
    pass


def test_join_leave_half_done_is_not_attempted() -> None:
    """With on_leave still a placeholder the check says which one is not attempted yet."""
    result = ex.check.join_leave(solutions.on_join, on_leave_placeholder)
    not_attempted(result)
    assert "on_leave" in result.message
    assert "on_join" not in result.message


# --- the live room ----------------------------------------------------------------------------


def test_chat_room_accepts_the_reference() -> None:
    """The reference functions run a real room that real clients use correctly."""
    accepted(ex.check.chat_room(solutions.recipients, solutions.on_join, solutions.on_leave))


def recipients_nobody(sender, members):
    return []


def recipients_raises(sender, members):
    return [member for member in members if member.name != sender]


@pytest.mark.parametrize(
    ("recipients", "on_join", "on_leave", "fragments"),
    [
        (recipients_with_sender, solutions.on_join, solutions.on_leave, ("their own join",)),
        (recipients_nobody, solutions.on_join, solutions.on_leave, ("left this client out",)),
        (solutions.recipients, join_case_sensitive, solutions.on_leave, ("joined as 'BO'",)),
        (solutions.recipients, solutions.on_join, leave_rebinds, ("'count': 3", "ghost")),
        (solutions.recipients, solutions.on_join, leave_pops_last, ("'cy' is missing", "ghost")),
        (recipients_raises, solutions.on_join, solutions.on_leave, ("raised AttributeError",)),
    ],
)
def test_chat_room_rejects_a_mistake(
    recipients: object, on_join: object, on_leave: object, fragments: tuple[str, ...]
) -> None:
    """Each mistake shows on the wire of a live room, and is reported from a client's view."""
    rejected(ex.check.chat_room(recipients, on_join, on_leave), *fragments)


def test_chat_room_catches_a_sender_echo_by_message_order() -> None:
    """A room that sends messages back to their sender is caught by message order alone."""

    def recipients_echo_ana(sender, members):
        if sender == "ana" and len(members) == 3:  # only ana's message, not any join
            return list(members)
        return solutions.recipients(sender, members)

    rejected(
        ex.check.chat_room(recipients_echo_ana, solutions.on_join, solutions.on_leave),
        "ana got their own message back",
    )


# --- the practice room ----------------------------------------------------------------------


def test_practice_room_speaks_the_kit_protocol_and_its_error_codes() -> None:
    """Bad frames get the kit's own error codes and the connection stays open; joins work."""
    probe = live.Probe()
    room = PracticeRoom(probe, solutions.recipients, solutions.on_join, solutions.on_leave)
    with live.serving(room.app) as server, live.Client(server.url, "ana", probe) as ana:

        def answer(frame: str | bytes) -> object:
            ana.send(frame)
            return decode_server_event(ana.expect("an answer"))

        for bad, code in [
            (b"\x00", ErrorCode.BAD_JSON),
            ("not json", ErrorCode.BAD_JSON),
            (Say("hi").encode(), ErrorCode.NOT_JOINED),
            (Join("  ").encode(), ErrorCode.BAD_NAME),
            ('{"type":"dance"}', ErrorCode.UNKNOWN_TYPE),
        ]:
            refused = answer(bad)
            assert isinstance(refused, ErrorNotice) and refused.code is code, (bad, refused)
        ana.send(Join("ana").encode())
        welcome = '{"type":"welcome","name":"ana","users":["ana"],"history":[]}'
        assert ana.expect("a welcome") == welcome
        for bad, code in [
            (Join("ana").encode(), ErrorCode.BAD_NAME),  # already joined
            (Typing().encode(), ErrorCode.UNKNOWN_TYPE),  # not part of lesson 3
            (Say("psst", to="ana").encode(), ErrorCode.UNKNOWN_TYPE),
        ]:
            refused = answer(bad)
            assert isinstance(refused, ErrorNotice) and refused.code is code, (bad, refused)
        with live.Client(server.url, "ANA", probe) as copycat:
            copycat.send(Join("ANA").encode())
            taken = decode_server_event(copycat.expect("name_taken"))
            assert taken == ErrorNotice(ErrorCode.NAME_TAKEN, "the name 'ANA' is taken")
    assert probe.wait_finished(2)
    assert room.users == [] and probe.error is None


# --- in Chinese ----------------------------------------------------------------------


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (recipients_with_sender, ("返回了 ['ana', 'bo', 'cy']，期望 ['bo', 'cy']", "自己发的消息")),
        (recipients_as_set, ("返回了 set", "集合会丢掉顺序")),
        (recipients_mutating, ("修改了 members", "新建一个列表并返回")),
    ],
)
def test_wrong_recipients_are_explained_in_chinese(
    mistake: object, fragments: tuple[str, ...]
) -> None:
    """recipients mistakes: the call, what came back, what was expected, why, in Chinese."""
    result = ex.check.recipients(mistake)
    rejected(result)
    chinese_verdict(
        result, "recipients：还不对", "recipients('ana', ['ana', 'bo', 'cy'])", *fragments
    )


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("on_join", "on_leave", "fragments"),
    [
        (
            join_case_sensitive,
            solutions.on_leave,
            (
                "返回了 True，期望 False：'ANA' 就是大写的 'ana'",
                "user.casefold() == name.casefold()",
            ),
        ),
        (
            solutions.on_join,
            leave_pops_last,
            ("它删掉了别人，而并没有人离开", "而不是 users.pop()"),
        ),
        (solutions.on_join, leave_unchecked, ("'zed' 从未加入", "会抛出 ValueError")),
    ],
)
def test_a_wrong_join_or_leave_is_explained_in_chinese(
    on_join: object, on_leave: object, fragments: tuple[str, ...]
) -> None:
    """join_leave mistakes, step by step, in Chinese."""
    result = ex.check.join_leave(on_join, on_leave)
    rejected(result)
    chinese_verdict(result, "join_leave：还不对", *fragments)


@pytest.mark.usefixtures("chinese")
def test_a_live_room_mistake_is_explained_in_chinese() -> None:
    """In the live room, the event awaited, the one expected and the one that came, in Chinese."""
    result = ex.check.chat_room(recipients_with_sender, solutions.on_join, solutions.on_leave)
    rejected(result)
    chinese_verdict(
        result,
        "chat_room：还不对",
        "ana 在等待 bo 加入的通知\n  期望 {'type': 'join', 'name': 'bo', 'count': 2}\n  实际 ",
        "ana 收到了自己加入的通知",
        "recipients() 包含了发送者",
    )


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("name", "functions", "praise"),
    [
        ("recipients", (solutions.recipients,), "除发送者以外的所有人，顺序不变"),
        ("join_leave", (solutions.on_join, solutions.on_leave), "忽略大小写拒绝了重名"),
        (
            "chat_room",
            (solutions.recipients, solutions.on_join, solutions.on_leave),
            "最后聊天室清空，没有幽灵用户",
        ),
    ],
)
def test_a_right_room_is_praised_in_chinese(
    name: str, functions: tuple[object, ...], praise: str
) -> None:
    """The references pass, the live room too, and their ✓ lines are Chinese."""
    result = getattr(ex.check, name)(*functions)
    accepted(result)
    chinese_verdict(result, f"{name}：正确！", praise)


@pytest.mark.usefixtures("chinese")
def test_lesson3_hints_speak_chinese_and_keep_their_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The join_leave hint is Chinese, with its code lines exactly as in English."""
    ex.hint.join_leave()
    out = capsys.readouterr().out
    assert "ℹ 提示：join_leave" in out
    assert "不区分大小写的比较" in out
    assert "        if any(user.casefold() == name.casefold() for user in users):" in out
