"""Lesson 5 exercises: a room shared by several processes through Redis, without the network.

In a notebook::

    from labkit.exercises import lesson5 as ex

    def my_log_order(writes):
        ...  # your code here

    ex.check.log_order(my_log_order)

Exercises:

* ``log_order(writes) -> list[str]``: ``writes`` maps each server process to
  the stream entries it wrote to the room's log, ``(entry_id, fields)`` as
  ``XRANGE`` gives them (``fields["e"]`` is the kind, ``"say"`` for a public
  message, whose text is ``fields["x"]``; ``fields["t"]`` is the sender's
  clock). Return the texts of the messages in the order *every* process
  delivers them: the order of the stream's IDs, ``MILLISECONDS-SEQUENCE``,
  compared as two numbers.
* ``unique_joins(members, joins) -> list[bool]``: ``members`` is the room's
  members hash (name key -> process), ``joins`` the ``(process, name)`` joins
  in the order Redis ran their scripts. Each join is one atomic
  set-if-absent: it wins if nobody holds its name key (NFKC, then casefold)
  and then holds it. Return which joins won, and leave ``members`` as Redis
  would.

A wrong value is shown against the expected one first, with the inputs; the
guess at its cause (each process's writes one after the other, IDs compared
as text, the senders' clocks trusted, case or width ignored, the winner not
recorded...) comes after.
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable
from typing import Any

from ..i18n import N_, _
from .core import Lesson, WrongAnswer, call, show
from .solutions import lesson5 as solutions

__all__ = ["JOIN_CASES", "ORDER_CASES", "check", "hint", "lesson", "solution"]

lesson = Lesson("lesson5")
check, hint, solution = lesson.check, lesson.hint, lesson.solution

Entry = tuple[str, dict[str, str]]
Writes = dict[str, list[Entry]]


def _say(entry_id: str, process: str, text: str, t: str) -> Entry:
    return entry_id, {"e": "say", "m": f"{process.lower()}7", "x": text, "t": t}


#: What two processes wrote to one room's log. Process A's clock runs 2 ms behind
#: B's; three entries share one millisecond. Every typical mistake gives another order.
ORDER_CASES: tuple[Writes, ...] = (
    {
        "A": [
            _say("1733000000000-2", "A", "a1", "1732999999.998"),
            _say("1733000000000-10", "A", "a2", "1732999999.998"),
            _say("1733000000005-0", "A", "a3", "1733000000.003"),
        ],
        "B": [
            ("1733000000000-0", {"e": "in", "m": "b2", "n": "ben", "t": "1733000000.000"}),
            _say("1733000000000-9", "B", "b1", "1733000000.000"),
            _say("1733000000003-1", "B", "b2", "1733000000.003"),
        ],
    },
    {
        "A": [],
        "B": [_say("1733000001000-0", "B", "only", "1733000001.0")],
    },
    {
        "A": [_say("1733000002000-0", "A", "first", "1733000005.0")],
        "B": [
            _say("1733000002001-0", "B", "second", "1733000002.001"),
            ("1733000002002-0", {"e": "out", "m": "b7", "t": "1733000002.002"}),
        ],
        "C": [_say("1733000002001-1", "C", "third", "1733000002.001")],
    },
)

#: (members before, joins in the order Redis ran them).
JOIN_CASES: tuple[tuple[dict[str, str], list[tuple[str, str]]], ...] = (
    ({}, [("A", "ana"), ("B", "ana")]),
    ({}, [("A", "Ana"), ("B", "ana"), ("B", "carl"), ("A", "Carl")]),
    ({"ben": "B"}, [("A", "ben"), ("A", "dora")]),
    ({}, [("A", "ＡＮＡ"), ("B", "ana")]),
    ({}, [("A", "Straße"), ("B", "STRASSE")]),
    ({}, [("A", "eve"), ("A", "eve")]),
)


# --- log_order --------------------------------------------------------------------


def _texts(entries: list[Entry]) -> list[str | None]:
    return [fields.get("x") for _, fields in entries if fields.get("e") == "say"]


def _order_mistakes(writes: Writes) -> list[tuple[list[Any], str, str]]:
    """(the order a mistake gives, what it is, how to fix it) for ``writes``."""
    every = [entry for written in writes.values() for entry in written]

    def sort(key: Callable[[Entry], Any]) -> list[str | None]:
        return _texts(sorted(every, key=key))

    return [
        (
            _texts(every),
            _("that is each process's writes one after the other"),
            _(
                "Every process reads the one stream, where the writes of all processes are "
                "interleaved: sort all the entries by their stream ID."
            ),
        ),
        (
            sort(lambda e: e[0]),
            _("that sorts the IDs as text, where '…-10' comes before '…-9'"),
            _(
                "An ID is MILLISECONDS-SEQUENCE: split it at the dash and compare the two "
                "parts as numbers, (int(ms), int(seq))."
            ),
        ),
        (
            sort(lambda e: int(e[0].split("-")[0])),
            _(
                "that sorts by the milliseconds only, so entries of the same millisecond stay "
                "in the order you listed them"
            ),
            _(
                "Within one millisecond the sequence number after the dash gives the order: "
                "compare (int(ms), int(seq))."
            ),
        ),
        (
            sort(lambda e: float(e[1].get("t", "0"))),
            _("that trusts the senders' clocks (t), which disagree between machines"),
            _(
                "The order is the one Redis gave the entries when it added them: their IDs, "
                "not the time a process wrote in them."
            ),
        ),
        (
            list(reversed(solutions.log_order(writes))),
            _("that is newest first"),
            _("XRANGE and XREAD give the oldest entry first, and so does the room."),
        ),
    ]


@lesson.exercise(
    hint=N_(
        "Put the entries of every process into one list: each process reads the same stream,\n"
        'which holds them all. Sort them by their ID, "MILLISECONDS-SEQUENCE", compared as two\n'
        'numbers: key=lambda entry: tuple(map(int, entry[0].split("-"))). Then keep the texts\n'
        '(fields["x"]) of the entries whose fields["e"] is "say".'
    ),
    solution=(solutions.log_order,),
)
def log_order(my_log_order: Any) -> str:
    """Check ``log_order(writes) -> list[str]``: the one order every process delivers."""
    for writes in ORDER_CASES:
        want = solutions.log_order(writes)
        got = call(my_log_order, copy.deepcopy(writes), name="log_order")
        if isinstance(got, tuple):
            got = list(got)
        if got == want:
            continue
        label = f"log_order({show(writes, 50)})"
        tried = _("{call} returned {got}\nexpected {want}").format(
            call=label, got=show(got, 80), want=repr(want)
        )
        if not isinstance(got, list):
            raise WrongAnswer(
                _("{call} returned {got}; expected a list of texts such as {want}").format(
                    call=label, got=show(got), want=repr(want)
                ),
                hint=_("Return a list: the texts of the messages, oldest first."),
            )
        if any(text not in want for text in got):
            public = _(
                "only public messages belong in it: the joins and leaves "
                "(fields['e'] 'in', 'out') are in the log too"
            )
            raise WrongAnswer(
                f"{tried}\n{public}",
                hint=_("Keep the entries whose fields['e'] == 'say', and give their fields['x']."),
            )
        if sorted(got) != sorted(want):
            raise WrongAnswer(
                f"{tried}\n" + _("some messages are missing or doubled"),
                hint=_(
                    "Every process delivers every message once: take the entries of all "
                    "the processes."
                ),
            )
        for order, why, advice in _order_mistakes(writes):
            if got == order:
                raise WrongAnswer(f"{tried}\n{why}", hint=advice)
        raise WrongAnswer(tried)
    return _(
        "{count} logs put in order. Every process reads the same stream from "
        "the last ID it saw, so every process delivers the messages in this one order, "
        "whoever sent them and whatever their clocks say."
    ).format(count=len(ORDER_CASES))


# --- unique_joins -------------------------------------------------------------------


def _runs(
    members: dict[str, str],
    joins: list[tuple[str, str]],
    key: Callable[[str], str],
    *,
    overwrite: bool = False,
) -> tuple[list[bool], dict[str, str]]:
    """The joins run with the name key ``key`` (or, ``overwrite``, HSET without HEXISTS)."""
    held, won = dict(members), []
    for process, name in joins:
        k = key(name)
        if overwrite:
            won.append(True)
            held[k] = process
        elif k in held:
            won.append(False)
        else:
            held[k] = process
            won.append(True)
    return won, held


def _nfkc(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


#: The name keys learners write instead of NFKC + casefold, closest to right first.
_KEY_MISTAKES: tuple[tuple[Callable[[str], str], str, str], ...] = (
    (
        lambda name: name.casefold(),
        N_("the name key misses NFKC: 'ＡＮＡ' (full-width letters) is 'ana' to a reader"),
        N_("Normalize first: unicodedata.normalize('NFKC', name).casefold()."),
    ),
    (
        lambda name: _nfkc(name).lower(),
        N_("lower() is not casefold(): 'Straße' and 'STRASSE' are the same name to the room"),
        N_("Use casefold(), made for comparing: unicodedata.normalize('NFKC', name).casefold()."),
    ),
    (
        lambda name: name.lower(),
        N_("lower() is not casefold(), and NFKC is missing"),
        N_("The room's name key is unicodedata.normalize('NFKC', name).casefold()."),
    ),
    (
        lambda name: name,
        N_("names are compared as typed: 'Ana' and 'ana' would both be in the room"),
        N_("Compare name keys, not names: unicodedata.normalize('NFKC', name).casefold()."),
    ),
)


@lesson.exercise(
    hint=N_(
        "Go through the joins in order, as Redis runs the scripts: one at a time, nobody in\n"
        'between. For each, compute the name key, unicodedata.normalize("NFKC", '
        "name).casefold().\n"
        "If members already has that key, the join lost (False). Otherwise it won (True), and\n"
        "members[key] = process, so that every later join sees it."
    ),
    solution=(solutions.unique_joins,),
)
def unique_joins(my_unique_joins: Any) -> str:
    """Check ``unique_joins(members, joins) -> list[bool]`` and the ``members`` it leaves."""
    for before, joins in JOIN_CASES:
        want_members = dict(before)
        want = solutions.unique_joins(want_members, list(joins))
        members = dict(before)
        got = call(my_unique_joins, members, list(joins), name="unique_joins")
        label = f"unique_joins({show(before, 30)}, {show(joins, 70)})"
        if isinstance(got, tuple):
            got = list(got)
        if got != want:
            tried = _("{call} returned {got}\nexpected {want}").format(
                call=label, got=show(got, 60), want=repr(want)
            )
            if not isinstance(got, list) or not all(isinstance(v, bool) for v in got):
                raise WrongAnswer(
                    _("{call} returned {got}; expected one True or False per join: {want}").format(
                        call=label, got=show(got), want=repr(want)
                    ),
                    hint=_("Return a list of booleans, one per join, in order."),
                )
            for key, why, advice in _KEY_MISTAKES:
                if got == _runs(before, joins, key)[0]:
                    raise WrongAnswer(f"{tried}\n{_(why)}", hint=_(advice))
            if got == _runs({}, joins, lambda n: _nfkc(n).casefold())[0]:
                raise WrongAnswer(
                    f"{tried}\n" + _("the names already in members were not looked at"),
                    hint=_("members holds the names taken before these joins, by any process."),
                )
            if all(got) and not all(want):
                overwritten = _runs(before, joins, lambda n: _nfkc(n).casefold(), overwrite=True)
                if members == overwritten[1] and members:
                    every = _(
                        "every join won: a join must lose when its name is held (members "
                        "already has its key); and the last join took the name over (HSET "
                        "without HEXISTS)"
                    )
                else:
                    every = _(
                        "every join won: a join must lose when its name is held "
                        "(members already has its key)"
                    )
                raise WrongAnswer(
                    f"{tried}\n{every}",
                    hint=_(
                        "Set-if-absent: check the key, and set it only when it is absent "
                        "(HEXISTS then HSET, in one script)."
                    ),
                )
            raise WrongAnswer(tried)
        if members != want_members:
            text = _(
                "{call} returned the right {got}, but left members = {members}\n"
                "expected members = {want}"
            ).format(call=label, got=repr(got), members=show(members, 80), want=repr(want_members))
            if members == before:
                unrecorded = _(
                    "the winners were not recorded in members: a join on another "
                    "process a moment later would take the same name"
                )
                raise WrongAnswer(
                    f"{text}\n{unrecorded}",
                    hint=_("The winner holds the name: members[key] = process."),
                )
            if set(members) == set(want_members):
                first = _("a name belongs to the process whose join won, the first one")
                raise WrongAnswer(
                    f"{text}\n{first}",
                    hint=_("Set the key only when it is absent; never overwrite it."),
                )
            raise WrongAnswer(
                text, hint=_("members maps each name key (NFKC + casefold) to its process.")
            )
    return _(
        "{count} rounds of joins decided. Because Redis runs one script at a "
        "time, of two joins for the same name at the same moment exactly one wins, on "
        "whichever process it came from; the other gets name_taken."
    ).format(count=len(JOIN_CASES))
