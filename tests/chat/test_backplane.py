"""The backplane boundary without I/O: shared rooms as values, the log's entries, the outbox.

A shared room (one copy per server process) answers room-wide changes with
:class:`~labkit.chat.room.Submit`; copies that apply the same events in the
same order agree on everything, and only the copy holding a connection
answers it. Two copies here play two processes; the "log" is a list.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from labkit.chat.backplane import LocalBackplane
from labkit.chat.ledger import Entered, Exited, Member, Spoke, Typed, Whispered
from labkit.chat.protocol import ChatError, ErrorCode, Said
from labkit.chat.room import Action, Broadcast, Disconnect, Reply, Room, Submit
from labkit.errors import BackplaneError
from labkit.protocol.close import CloseCode

pytest.importorskip("redis", reason="redis-py not installed (pip install -e '.[redis]')")

from labkit.chat.outbox import Outbox
from labkit.chat.redis_lua import HEARTBEAT, decode_entry, event_args, members_of


def shared(owner: str) -> Room[str]:
    return Room(shared=True, owner=owner, rate=None, wall_clock=lambda: 1_700_000_000.5)


def send(room: Room[str], conn: str, **event: Any) -> list[Action[str]]:
    return room.handle(conn, json.dumps(event))


def submitted(actions: list[Action[str]]) -> Any:
    [action] = actions
    assert isinstance(action, Submit), action
    return action.event


def texts(actions: list[Action[str]]) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    for action in actions:
        if isinstance(action, Reply):
            out.append(("reply", action.conn, json.loads(action.text)))
        elif isinstance(action, Broadcast):
            out.append(("all", action.exclude, json.loads(action.text)))
    return out


def everywhere(log: list[Any], *copies: Room[str]) -> dict[int, list[Action[str]]]:
    """Apply ``log`` to every copy, in order; what each copy asked for, by copy."""
    return {i: [a for event in log for a in room.apply(event)] for i, room in enumerate(copies)}


def test_a_shared_join_is_submitted_and_welcomed_only_where_the_connection_is() -> None:
    """The join goes to the log; once applied, the owner's copy welcomes, every copy notifies."""
    a, b = shared("A"), shared("B")
    event = submitted(send(a, "ann", type="join", name=" Ann "))
    assert isinstance(event, Entered) and event.member.name == "Ann"
    assert event.member.owner == "A" and event.member.id.startswith("A.")
    assert a.users == [] and send(a, "ann", type="message", text="too early")  # not_joined yet
    done = everywhere([event], a, b)
    assert texts(done[0]) == [
        ("reply", "ann", {"type": "welcome", "name": "Ann", "users": ["Ann"], "history": []}),
        ("all", "ann", {"type": "join", "name": "Ann", "count": 1}),
    ]
    assert texts(done[1]) == [("all", None, {"type": "join", "name": "Ann", "count": 1})]
    assert a.users == b.users == ["Ann"] and list(a.connections) == ["ann"] and not b.connections


def test_copies_that_apply_one_log_agree_on_users_counts_and_history() -> None:
    """Messages from two copies, in one log, leave both copies with the same room."""
    a, b = shared("A"), shared("B")
    log = [submitted(send(a, "ann", type="join", name="Ann"))]
    log.append(submitted(send(b, "bob", type="join", name="Bob")))
    everywhere(log, a, b)
    talk = [
        submitted(send(a, "ann", type="message", text="one")),
        submitted(send(b, "bob", type="message", text="two")),
    ]
    done = everywhere(talk, a, b)
    assert texts(done[0])[1] == ("all", None, {**texts(done[1])[1][2]})  # Bob's, on A: to all
    assert texts(done[1])[0][1] is None and texts(done[1])[1][1] == "bob"  # no echo to Bob
    assert a.users == b.users == ["Ann", "Bob"]
    assert a.history == b.history and [s.text for s in a.history] == ["one", "two"]


def test_a_private_message_is_answered_only_by_the_copies_holding_its_ends() -> None:
    """The recipient's copy delivers it; the sender's copy sends the sender's copy back."""
    a, b = shared("A"), shared("B")
    everywhere(
        [
            submitted(send(a, "ann", type="join", name="Ann")),
            submitted(send(b, "bob", type="join", name="Bob")),
        ],
        a,
        b,
    )
    event = submitted(send(a, "ann", type="message", text="psst", to="BOB"))
    assert isinstance(event, Whispered) and event.to_key == "bob"
    done = everywhere([event], a, b)
    assert [(kind, conn) for kind, conn, _ in texts(done[0])] == [("reply", "ann")]
    assert [(kind, conn) for kind, conn, _ in texts(done[1])] == [("reply", "bob")]
    assert texts(done[0])[0][2]["to"] == "Bob" == texts(done[1])[0][2]["to"]


def test_a_name_already_in_the_copy_is_refused_before_the_log() -> None:
    """A copy that already knows the name answers name_taken at once, as one process does."""
    a = shared("A")
    a.apply(Entered(Member("B.1", "Ann", "ann", "B")))
    [reply] = send(a, "x", type="join", name="ANN")
    assert isinstance(reply, Reply) and json.loads(reply.text)["code"] == "name_taken"


def test_a_failed_submit_answers_the_sender_and_frees_a_join() -> None:
    """Redis away: the join fails with unavailable and the connection may join again."""
    a = shared("A")
    event = submitted(send(a, "ann", type="join", name="Ann"))
    error = ChatError(ErrorCode.UNAVAILABLE, "Redis is away")
    [reply] = a.failed("ann", event, error)
    assert isinstance(reply, Reply) and json.loads(reply.text)["code"] == "unavailable"
    assert isinstance(submitted(send(a, "ann", type="join", name="Ann")), Entered)
    assert a.failed("ann", Typed("A.9", "Ann"), error) == []  # typing fails silently


def test_applying_is_idempotent_where_a_log_repeats_itself() -> None:
    """A second leave, a join already applied, a message of a gone member: nothing happens."""
    a = shared("A")
    entered = Entered(Member("B.1", "Ann", "ann", "B"))
    assert a.apply(entered) and a.apply(entered) == []
    assert len(a.apply(Exited("B.1", "ann"))) == 1
    assert a.apply(Exited("B.1", "ann")) == []
    assert a.apply(Spoke("B.1", Said("Ann", "late", 1.0))) == [] and a.history == ()


def test_a_local_member_taken_out_by_another_process_is_disconnected() -> None:
    """If the log says a connected member left (its process was taken for dead), it is closed."""
    a = shared("A")
    event = submitted(send(a, "ann", type="join", name="Ann"))
    a.apply(event)
    actions = a.apply(Exited(event.member.id, "ann"))
    assert isinstance(actions[-1], Disconnect) and actions[-1].code == CloseCode.SERVICE_RESTART
    assert a.users == [] and a.name_of("ann") is None


def test_resync_turns_a_snapshot_into_leaves_and_joins() -> None:
    """After a gap, a snapshot replaces the copy's members with notices for the difference."""
    a = shared("A")
    a.apply(Entered(Member("B.1", "Old", "old", "B")))
    actions = a.resync([Member("B.2", "New", "new", "B")], [Said("New", "hi", 2.0)])
    assert [json.loads(x.text)["type"] for x in actions if isinstance(x, Broadcast)] == [
        "leave",
        "join",
    ]
    assert a.users == ["New"] and [s.text for s in a.history] == ["hi"]


# --- the log's entries --------------------------------------------------------------------


def fields_of(args: list[str]) -> dict[str, str]:
    """The XADD fields a POST or JOIN script would write for these arguments."""
    tail = args[4:]  # POST: mid, key, history, wire, then fields
    return dict(zip(tail[::2], tail[1::2], strict=True))


@pytest.mark.parametrize(
    "event",
    [
        Spoke("A.1", Said("Ann", 'héllo "x"\n', 1700000000.123)),
        Whispered("A.1", "bob", Said("Ann", "psst", 1700000000.5, to="Bob")),
        Typed("A.1", "Ann"),
    ],
    ids=["say", "pm", "typing"],
)
def test_posted_events_come_back_from_their_log_fields(event: Any) -> None:
    """What a process writes to the log decodes to the same event on every other process."""
    script, args = event_args(event, "A", "ann", 50)
    assert script.name == "post" and args[:2] == ["A.1", "ann"]
    assert decode_entry(fields_of(args)) == event


def test_join_and_leave_entries_decode_and_members_come_in_joining_order() -> None:
    """Join entries carry the member; the members hash sorts back into joining order."""
    fields = {"e": "in", "m": "A.1", "k": "ann", "n": "Ann", "o": "A", "q": "1"}
    assert decode_entry(fields) == Entered(Member("A.1", "Ann", "ann", "A"))
    assert decode_entry({"e": "out", "m": "A.1", "k": "ann"}) == Exited("A.1", "ann")
    assert decode_entry({"e": "future-kind", "m": "x"}) is None
    flat = ["bob", "B.1\nB\n7\nBob", "ann", "A.1\nA\n3\nAnn"]
    assert [m.name for m in members_of(flat)] == ["Ann", "Bob"]
    assert members_of(flat)[0] == Member("A.1", "Ann", "ann", "A")
    assert event_args(Exited("A.1", "ann"), "A", "ann", 0, force=True)[1][-1] == "1"


def test_the_outbox_refuses_at_once_when_full_or_when_redis_is_away() -> None:
    """A slow or absent Redis never blocks a caller: the outbox answers with an error."""

    async def scenario() -> list[Any]:
        results: list[Any] = []
        outbox = Outbox("ns", limit=1, timeout=1.0, trouble=lambda exc: None)
        outbox.put(HEARTBEAT, [], results.append)  # not available yet
        outbox.available = True
        outbox.put(HEARTBEAT, [], results.append)  # queued (nothing sends it here)
        outbox.put(HEARTBEAT, [], results.append)  # over the limit
        return results

    results = asyncio.run(scenario())
    assert len(results) == 2 and all(type(r).__name__ == "BackplaneError" for r in results)


@pytest.mark.usefixtures("chinese")
def test_the_outbox_says_why_in_chinese() -> None:
    """The BackplaneError a full or cut-off outbox gives (and the logs show) is in Chinese."""

    async def scenario() -> list[Any]:
        results: list[Any] = []
        Outbox("ns", limit=1, timeout=1.0, trouble=lambda exc: None).put(
            HEARTBEAT, [], results.append
        )
        return results

    [error] = asyncio.run(scenario())
    assert isinstance(error, BackplaneError)
    assert str(error) == "Redis 无法访问，或者发件队列已满"


@pytest.mark.usefixtures("chinese")
def test_a_bad_room_limit_is_refused_in_chinese() -> None:
    """max_rooms=-1 is a ValueError a learner reads in Chinese."""
    with pytest.raises(ValueError, match=r"^max_rooms 必须 >= 0$"):
        LocalBackplane(lambda shared, owner: Room(), max_rooms=-1)
