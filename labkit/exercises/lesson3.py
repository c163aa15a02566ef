"""Lesson 3 exercises: the core of a chat room, then that core in a live room.

In a notebook::

    from labkit.exercises import lesson3 as ex

    def recipients(sender, members):
        ...  # your code here

    ex.check.recipients(recipients)

Exercises:

* ``recipients(sender: str, members: list[str]) -> list[str]``: who gets a
  message from ``sender``: every *other* member, in the order of ``members``,
  without changing ``members``. This is the tutorial's "send it to all other
  connected clients".
* ``join_leave``: two functions that keep the room's user list.
  ``on_join(users: list[str], name: str) -> bool`` appends ``name`` and returns
  True, unless a user of the same name *ignoring case* is there: then it
  changes nothing and returns False. ``on_leave(users: list[str], name: str)``
  removes ``name``; a name that is not there is ignored.
* ``chat_room``: the three functions above run a small real chat room
  (:mod:`labkit.exercises.room`); real clients join, talk, leave and come back,
  speaking the kit's chat protocol (:mod:`labkit.chat.protocol`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from ..chat.protocol import (
    ChatError,
    ErrorCode,
    ErrorNotice,
    Join,
    Joined,
    Left,
    Said,
    Say,
    ServerEvent,
    Welcome,
    decode_server_event,
)
from ..i18n import N_, _
from . import live
from .core import Lesson, NotAttempted, WrongAnswer, call, show
from .room import PracticeRoom
from .solutions import lesson3 as solutions

__all__ = ["check", "hint", "lesson", "solution"]

lesson = Lesson("lesson3")
check, hint, solution = lesson.check, lesson.hint, lesson.solution


# --- recipients -----------------------------------------------------------------

#: (sender, members, expected): names that contain each other catch `in` on strings.
RECIPIENT_CASES: tuple[tuple[str, tuple[str, ...], list[str]], ...] = (
    ("ana", ("ana", "bo", "cy"), ["bo", "cy"]),
    ("cy", ("ana", "bo", "cy"), ["ana", "bo"]),
    ("bo", ("bob", "bo", "abo"), ["bob", "abo"]),
    ("ana", ("ana",), []),
)


def _as_list(got: Any, label: str) -> list[Any]:
    """The learner's answer as a list: lists, tuples and other ordered iterables pass."""
    if isinstance(got, list | tuple):
        return list(got)
    if isinstance(got, set | frozenset | dict):
        raise WrongAnswer(
            _("{call} returned a {type} {value}; expected a list").format(
                call=label, type=type(got).__name__, value=show(got)
            ),
            hint=_("Return a list, in the order of members: a set forgets the order."),
        )
    if isinstance(got, str | bytes) or not hasattr(got, "__iter__"):
        raise WrongAnswer(
            _("{call} returned {value}; expected a list of names").format(
                call=label, value=show(got)
            )
        )
    return list(got)


@lesson.exercise(
    hint=N_(
        "Build a new list of every member that is not the sender, in order:\n"
        "\n"
        "    return [member for member in members if member != sender]\n"
        "\n"
        "Don't remove the sender from members: that list is the room's, and the sender is\n"
        "still in the room."
    ),
    solution=(solutions.recipients,),
)
def recipients(recipients: Any) -> str:
    """Check ``recipients(sender, members) -> list``: everyone but the sender."""
    for sender, names, want in RECIPIENT_CASES:
        members = list(names)
        label = f"recipients({sender!r}, {members!r})"
        got = call(recipients, sender, members, name="recipients")
        if members != list(names):
            raise WrongAnswer(
                _("{call} changed members: it is now {members}").format(
                    call=label, members=repr(members)
                ),
                hint=_(
                    "Build and return a new list; members belongs to the room and the "
                    "sender is still in it."
                ),
            )
        got_list = _as_list(got, label)
        if got_list == want:
            continue
        tried = _("{call} returned {got}, expected {want}").format(
            call=label, got=show(got), want=repr(want)
        )
        if got_list == [sender]:
            raise WrongAnswer(
                f"{tried}\n" + _("only the sender would get the message"),
                hint=_("It is the other way round: everyone except the sender."),
            )
        if sender in got_list:
            raise WrongAnswer(
                f"{tried}\n" + _("the sender would get their own message back"),
                hint=_("Leave the sender out: `if member != sender`."),
            )
        if sorted(got_list) == sorted(want):
            raise WrongAnswer(
                f"{tried}\n" + _("the right people, in another order"),
                hint=_("Keep the order of members."),
            )
        raise WrongAnswer(tried, hint=_("Keep every member except the sender, compared with !=."))
    return _("everyone but the sender, in order, and members left as it was.")


# --- join / leave -----------------------------------------------------------------


class _Users:
    """Runs the learner's on_join / on_leave against one list and checks each step."""

    def __init__(self, on_join: Any, on_leave: Any) -> None:
        self.on_join = on_join
        self.on_leave = on_leave
        self.users: list[str] = []

    def join(self, name: str, added: bool, why: str, hint: str) -> None:
        before = list(self.users)
        label = f"on_join({before!r}, {name!r})"
        got = call(self.on_join, self.users, name, name="on_join", expect_value=False)
        want = [*before, name] if added else before
        if got is None and self.users == before:
            raise NotAttempted(_("{call} returned None and changed nothing").format(call=label))
        if not isinstance(got, bool):
            raise WrongAnswer(
                _("{call} returned {got}; expected {want}").format(
                    call=label, got=show(got), want=added
                ),
                hint=_(
                    "Change users in place (users.append(name)) and return True, or "
                    "return False when the name is taken."
                ),
            )
        if got == added and self.users == want:
            return
        if got != added:
            tried = _("{call} returned {got}, expected {want}: {why}").format(
                call=label, got=got, want=added, why=why
            )
        else:
            tried = _("{call} returned {got}, but users is now {users}, expected {want}").format(
                call=label, got=got, users=repr(self.users), want=repr(want)
            )
        lowered = [*before, name.casefold()]
        if added and self.users == lowered and name != name.casefold():
            hint = _(
                "Keep the name as the user typed it (users.append(name)); use casefold() "
                "only to compare."
            )
        raise WrongAnswer(tried, hint=hint)

    def leave(self, name: str, why: str) -> None:
        before = list(self.users)
        label = f"on_leave({before!r}, {name!r})"
        try:
            call(self.on_leave, self.users, name, name="on_leave", expect_value=False)
        except WrongAnswer as wrong:
            if name in before:
                raise
            never = _(
                "{name} never joined: a connection can close before its join was accepted"
            ).format(name=repr(name))
            raise WrongAnswer(
                f"{wrong.message}\n{never}",
                hint=_(
                    "Check `if name in users:` before users.remove(name): remove() raises "
                    "ValueError for a missing name."
                ),
            ) from None
        want = [user for user in before if user != name]
        if self.users == want:
            return
        users = repr(self.users)
        if self.users == before:
            raise WrongAnswer(
                _("{call} left users as it was: {name} stays in the room as a ghost").format(
                    call=label, name=repr(name)
                ),
                hint=_("Remove the name: users.remove(name) (after checking it is there)."),
            )
        if name in self.users or name not in before:
            if name in self.users:
                wrong = _(
                    "{call} made users {users}: it removed someone else and left {name} as a ghost"
                )
            else:
                wrong = _("{call} made users {users}: it removed someone else and nobody had left")
            raise WrongAnswer(
                wrong.format(call=label, users=users, name=repr(name)),
                hint=_("Remove exactly that name: users.remove(name), not users.pop()."),
            )
        raise WrongAnswer(
            _("{call} made users {users}, expected {want} ({why})").format(
                call=label, users=users, want=repr(want), why=why
            ),
            hint=_("Remove only that one name and keep everyone else in order."),
        )


@lesson.exercise(
    hint=N_(
        "on_join: compare case-insensitively with casefold(), then append the name as typed:\n"
        "\n"
        "    if any(user.casefold() == name.casefold() for user in users):\n"
        "        return False\n"
        "    users.append(name)\n"
        "    return True\n"
        "\n"
        "on_leave: remove the name if it is there (a connection can close before it joined):\n"
        "\n"
        "    if name in users:\n"
        "        users.remove(name)"
    ),
    solution=(solutions.on_join, solutions.on_leave),
)
def join_leave(on_join: Any, on_leave: Any) -> str:
    """Check ``on_join(users, name) -> bool`` and ``on_leave(users, name)`` step by step."""
    room = _Users(on_join, on_leave)
    append = _("Append the name and return True.")
    room.join("ana", True, _("the room is empty"), append)
    room.join("bo", True, _("{name} is a new name").format(name="'bo'"), append)
    room.join(
        "ana",
        False,
        _("'ana' is already in the room"),
        _("Duplicate names are allowed: check whether the name is taken before appending."),
    )
    room.join(
        "ANA",
        False,
        _("'ANA' is 'ana' in capitals"),
        _("Names must be unique ignoring case: compare user.casefold() == name.casefold()."),
    )
    room.join(
        "Cy",
        True,
        _("{name} is a new name").format(name="'Cy'"),
        _("Append the name as typed and return True."),
    )
    room.leave("zed", _("'zed' never joined"))
    room.leave("ana", _("{name} left").format(name="'ana'"))
    room.join(
        "Ana",
        True,
        _("'ana' has left, so her name is free again"),
        _("Once a user has left, her name must be free again: decide from users alone."),
    )
    for name in ("bo", "Cy", "Ana"):
        room.leave(name, _("{name} left").format(name=repr(name)))
    return _("duplicates refused ignoring case, names kept as typed, no ghosts left behind.")


# --- the live room -----------------------------------------------------------------


def _shown(event: ServerEvent) -> dict[str, Any]:
    """An event as its JSON object, without the server's clock (``ts``)."""
    return {key: value for key, value in event.as_dict().items() if key != "ts"}


def _said(sender: str, text: str) -> Said:
    """The message event a client expects; its ``ts`` is the server's, never compared."""
    return Said(sender, text, ts=0.0)


def _event(
    client: live.Client,
    what: str,
    want: ServerEvent | None,
    silent: str | Callable[[], str | None] | None = None,
) -> ServerEvent:
    """Receive the next event and check it is ``want`` (any event when ``None``)."""
    raw = client.expect(what, silent=silent)
    try:
        event = decode_server_event(raw)
    except ChatError as exc:
        raise client.probe.wrong(
            _(
                "{who} waited for {what} and got a frame that is not a chat event "
                "({error}): {frame}"
            ).format(who=client.who, what=what, error=exc.message, frame=repr(raw))
        ) from None
    if want is None or _shown(event) == _shown(want):
        return event
    tried = _("{who} waited for {what}\nexpected {want}\ngot      {got}").format(
        who=client.who, what=what, want=_shown(want), got=_shown(event)
    )
    if isinstance(event, Joined) and event.name == client.who:
        own = _("{who} got the announcement of their own join").format(who=client.who)
        raise client.probe.wrong(
            f"{tried}\n{own}",
            hint=_("recipients() included the sender: leave the sender out."),
        )
    if isinstance(event, Said) and event.sender == client.who:
        own = _("{who} got their own message back").format(who=client.who)
        raise client.probe.wrong(
            f"{tried}\n{own}",
            hint=_("recipients() included the sender: leave the sender out."),
        )
    if isinstance(want, Joined | Left) and type(event) is type(want) and event.count != want.count:
        count = _("the count is the length of the users list that on_join and on_leave keep")
        raise client.probe.wrong(
            f"{tried}\n{count}",
            hint=_("A wrong count means a duplicate or a ghost in users: run check.join_leave."),
        )
    raise client.probe.wrong(tried)


def _join(client: live.Client, name: str) -> None:
    client.send(Join(name).encode())
    answer = _event(client, _("an answer to joining as {name}").format(name=repr(name)), None)
    if not isinstance(answer, Welcome):
        raise client.probe.wrong(
            _("{who} could not join as {name}: the room answered {answer}").format(
                who=client.who, name=repr(name), answer=_shown(answer)
            ),
            hint=_("on_join should accept {name}: nobody in the room has that name now.").format(
                name=repr(name)
            ),
        )


@lesson.exercise(
    hint=N_(
        "Run ex.check.recipients and ex.check.join_leave first: this check plugs the same three\n"
        "functions into a real room and watches four connections. The room sends a message to\n"
        "exactly the names recipients(sender, users) returns, and announces len(users) as the\n"
        "count after each join and leave."
    ),
    solution=(solutions.recipients, solutions.on_join, solutions.on_leave),
)
def chat_room(recipients: Any, on_join: Any, on_leave: Any) -> str:
    """Check the three functions together: a real room, real clients joining and leaving.

    Nothing here waits on a timer when the answer is right: every "X must not
    get this" is proven by what X gets next, in the order the server sent it.
    """
    probe = live.Probe()
    room = PracticeRoom(probe, recipients, on_join, on_leave)

    def left_out() -> str:
        missing = [name for name in connected if name not in room.users]
        if missing:
            return _(
                "users is {users}: {name} is missing although still connected, so on_leave "
                "removed the wrong name (users.pop()?) and the leaver stays as a ghost. "
                "Remove exactly that name: users.remove(name)."
            ).format(users=repr(room.users), name=repr(missing[0]))
        return _("recipients() left this client out: everyone but the sender gets it.")

    def joined(name: str) -> str:
        return _("{name}'s join").format(name=name)

    def said(name: str) -> str:
        return _("{name}'s message").format(name=name)

    connected = ["ana"]
    with live.serving(room.app) as server, ExitStack() as clients:
        ana = clients.enter_context(live.Client(server.url, "ana", probe))
        _join(ana, "ana")
        bo = clients.enter_context(live.Client(server.url, "bo", probe))
        _join(bo, "bo")
        connected.append("bo")
        _event(ana, joined("bo"), Joined("bo", 2), left_out)
        cy = clients.enter_context(live.Client(server.url, "cy", probe))
        cy.send(Join("BO").encode())
        answer = _event(cy, _("an answer to joining as {name}").format(name="'BO'"), None)
        if not isinstance(answer, ErrorNotice) or answer.code is not ErrorCode.NAME_TAKEN:
            raise probe.wrong(
                _("cy joined as 'BO' while 'bo' is in the room, and got {answer}").format(
                    answer=_shown(answer)
                ),
                hint=_("on_join must refuse a name that differs only in case."),
            )
        _join(cy, "cy")
        connected.append("cy")
        for other in (ana, bo):
            _event(other, joined("cy"), Joined("cy", 3), left_out)
        ana.send(Say("hi all").encode())
        for other in (bo, cy):
            _event(other, said("ana"), _said("ana", "hi all"), left_out)
        # bo answers only once he has ana's message, so had ana been sent her own,
        # it would reach her before bo's: the order proves it, no waiting needed.
        bo.send(Say("hi ana").encode())
        for other in (ana, cy):
            _event(other, said("bo"), _said("bo", "hi ana"), left_out)
        bo.close()
        connected.remove("bo")
        for other in (ana, cy):
            _event(other, _("{name}'s leave").format(name="bo"), Left("bo", 2), left_out)
        back = clients.enter_context(live.Client(server.url, _("bo, back again"), probe))
        back.send(Join("bo").encode())
        answer = _event(back, _("an answer to joining as {name} again").format(name="'bo'"), None)
        if not isinstance(answer, Welcome):
            raise probe.wrong(
                _(
                    "bo left and came back, but joining as 'bo' again got {answer}: "
                    "the room still holds bo as a ghost"
                ).format(answer=_shown(answer)),
                hint=_("on_leave must remove exactly the name that leaves."),
            )
        for other in (ana, cy):
            _event(other, joined("bo"), Joined("bo", 3), left_out)
    if not probe.wait_finished(4):
        raise probe.wrong(_("the room kept a connection open after its client had left"))
    if probe.error is not None:
        raise probe.wrong("")
    if room.users:
        raise WrongAnswer(
            _("everyone has left, but users is still {users}: ghosts").format(
                users=repr(room.users)
            ),
            hint=_("on_leave must remove the name of every user who leaves."),
        )
    return _(
        "three clients joined, 'BO' was refused next to 'bo', every message reached the "
        "others and never its sender, bo left and came back, and the room emptied "
        "without ghosts."
    )
