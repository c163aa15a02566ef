"""The chat room's state machine, driven with strings and a fake clock (no sockets)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labkit.chat.protocol import HISTORY, Join, Said, Say
from labkit.chat.room import (
    ABUSE_LIMIT,
    BURST,
    RATE,
    Action,
    Broadcast,
    Disconnect,
    RateLimiter,
    Reply,
    Room,
)
from labkit.protocol.close import CloseCode


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def room(clock: FakeClock) -> Room[str]:
    return Room(clock=clock, wall_clock=lambda: 1_700_000_000.1234)


def send(room: Room[str], conn: str, **event: Any) -> list[Action[str]]:
    return room.handle(conn, json.dumps(event))


def joined(room: Room[str], *names: str) -> None:
    for name in names:
        actions = send(room, name, type="join", name=name)
        assert json.loads(actions[0].text)["type"] == "welcome"  # type: ignore[union-attr]


def decoded(action: Action[str]) -> dict[str, Any]:
    assert not isinstance(action, Disconnect)
    return json.loads(action.text)


def error_code(actions: list[Action[str]]) -> str:
    [reply] = actions
    assert isinstance(reply, Reply)
    event = decoded(reply)
    assert event["type"] == "error"
    return event["code"]


# --- joining -----------------------------------------------------------------


def test_join_welcomes_and_tells_the_others(room: Room[str]) -> None:
    """A good join answers a welcome and broadcasts a join notice with the count."""
    joined(room, "a")
    welcome, notice = send(room, "b", type="join", name=" Bob ")
    assert welcome == Reply("b", '{"type":"welcome","name":"Bob","users":["a","Bob"],"history":[]}')
    assert notice == Broadcast('{"type":"join","name":"Bob","count":2}', exclude="b")
    assert room.users == ["a", "Bob"] and len(room) == 2
    assert set(room.connections) == {"a", "b"} and room.name_of("b") == "Bob"


def test_names_are_unique_regardless_of_case(room: Room[str]) -> None:
    """A name that differs only by case or width is name_taken."""
    send(room, "c1", type="join", name="Straße")
    assert error_code(send(room, "c2", type="join", name="STRASSE")) == "name_taken"
    assert error_code(send(room, "c3", type="join", name="straße")) == "name_taken"
    assert room.users == ["Straße"]


def test_a_name_is_free_again_after_leaving(room: Room[str]) -> None:
    """Disconnecting releases the name for the next user."""
    joined(room, "ann")
    room.disconnect("ann")
    assert decoded(send(room, "new", type="join", name="ANN")[0])["type"] == "welcome"


def test_second_join_is_bad_name(room: Room[str]) -> None:
    """A joined connection cannot join again, not even under another name."""
    joined(room, "ann")
    [reply] = send(room, "ann", type="join", name="other")
    assert decoded(reply)["code"] == "bad_name"
    assert "already joined as ann" in decoded(reply)["message"]
    assert room.users == ["ann"]


def test_bad_name_and_protocol_errors_reach_only_the_sender(room: Room[str]) -> None:
    """Parse errors are replies to the sender, never broadcasts."""
    assert error_code(send(room, "x", type="join", name="")) == "bad_name"
    assert error_code(room.handle("x", b"\x00")) == "bad_json"
    assert error_code(room.handle("x", '{"type":"dance"}')) == "unknown_type"
    assert room.users == []


@pytest.mark.parametrize("event", [{"type": "message", "text": "hi"}, {"type": "typing"}])
def test_messages_before_join_are_not_joined(room: Room[str], event: dict[str, str]) -> None:
    """Chatting or typing before a good join gets not_joined."""
    assert error_code(send(room, "x", **event)) == "not_joined"


# --- messages ----------------------------------------------------------------


def test_public_message_goes_to_everyone_else(room: Room[str]) -> None:
    """A public message is one broadcast excluding the sender, stamped by the server."""
    joined(room, "ann", "bob")
    [action] = send(room, "ann", type="message", text="hi", ts=1, **{"from": "bob"})
    assert action == Broadcast(
        '{"type":"message","from":"ann","text":"hi","ts":1700000000.123}', exclude="ann"
    )


def test_private_message_goes_to_the_recipient_and_back_to_the_sender(room: Room[str]) -> None:
    """A private message reaches its recipient (found regardless of case) and the sender."""
    joined(room, "ann", "Bob", "cy")
    first, second = send(room, "ann", type="message", text="psst", to="BOB")
    assert first.conn == "Bob" and second.conn == "ann"  # type: ignore[union-attr]
    assert first.text == second.text  # type: ignore[union-attr]
    assert decoded(first) == {
        "type": "message",
        "from": "ann",
        "text": "psst",
        "ts": 1700000000.123,
        "to": "Bob",
    }


def test_private_message_to_oneself_arrives_once(room: Room[str]) -> None:
    """Writing to one's own name gives one copy, not two."""
    joined(room, "ann")
    [reply] = send(room, "ann", type="message", text="note", to="ann")
    assert reply.conn == "ann" and decoded(reply)["to"] == "ann"  # type: ignore[union-attr]


def test_private_message_to_nobody_is_unknown_user(room: Room[str]) -> None:
    """A recipient that is not in the room gets unknown_user."""
    joined(room, "ann")
    assert error_code(send(room, "ann", type="message", text="x", to="ghost")) == "unknown_user"


def test_too_long_text_is_refused(room: Room[str]) -> None:
    """Text over 4000 characters gets too_long and is not broadcast."""
    joined(room, "ann")
    assert error_code(send(room, "ann", type="message", text="x" * 4001)) == "too_long"
    assert room.history == ()


# --- history -----------------------------------------------------------------


def test_history_keeps_the_last_public_messages(room: Room[str], clock: FakeClock) -> None:
    """A newcomer gets the last 50 public messages, oldest first, and no private ones."""
    joined(room, "ann", "bob")
    for n in range(HISTORY + 10):
        clock.advance(1.0)  # stay under the rate limit
        send(room, "ann", type="message", text=str(n))
    send(room, "ann", type="message", text="secret", to="bob")
    welcome = decoded(send(room, "cy", type="join", name="cy")[0])
    assert [m["text"] for m in welcome["history"]] == [str(n) for n in range(10, HISTORY + 10)]
    assert len(room.history) == HISTORY


def test_history_can_be_turned_off(clock: FakeClock) -> None:
    """history=0 keeps nothing."""
    room: Room[str] = Room(history=0, clock=clock)
    joined(room, "ann")
    send(room, "ann", type="message", text="hi")
    assert decoded(send(room, "bob", type="join", name="bob")[0])["history"] == []


def test_history_events_are_the_broadcast_events(room: Room[str]) -> None:
    """History keeps the very event that was broadcast, as a value that encodes to its text."""
    joined(room, "ann")
    [action] = send(room, "ann", type="message", text="hi")
    assert room.history == (Said("ann", "hi", 1700000000.123),)
    assert action.text == room.history[0].encode()  # type: ignore[union-attr]
    welcome = send(room, "bob", type="join", name="bob")[0].text  # type: ignore[union-attr]
    assert welcome.endswith(f',"history":[{action.text}]}}')  # type: ignore[union-attr]


# --- leaving -----------------------------------------------------------------


def test_disconnect_tells_the_others_with_the_count(room: Room[str]) -> None:
    """Leaving broadcasts a leave notice with the new count, never the list."""
    joined(room, "ann", "bob")
    assert room.disconnect("bob") == [Broadcast('{"type":"leave","name":"bob","count":1}')]
    assert room.users == ["ann"] and "bob" not in room.connections


def test_disconnect_is_idempotent_and_silent_for_strangers(room: Room[str]) -> None:
    """A second disconnect, or one for a connection that never joined, does nothing."""
    joined(room, "ann")
    room.connect("lurker")
    assert room.disconnect("lurker") == []
    assert room.disconnect("never-seen") == []
    assert len(room.disconnect("ann")) == 1
    assert room.disconnect("ann") == []


# --- typing ------------------------------------------------------------------


def test_typing_is_forwarded_at_most_once_per_interval(room: Room[str], clock: FakeClock) -> None:
    """Typing notices go to the others, and repeats within a second are dropped."""
    joined(room, "ann", "bob")
    assert send(room, "ann", type="typing") == [
        Broadcast('{"type":"typing","name":"ann"}', exclude="ann")
    ]
    clock.advance(0.5)
    assert send(room, "ann", type="typing") == []
    assert len(send(room, "bob", type="typing")) == 1  # each user has its own interval
    clock.advance(0.5)
    assert len(send(room, "ann", type="typing")) == 1


def test_a_public_message_ends_typing(room: Room[str], clock: FakeClock) -> None:
    """After a public message, the next typing notice is forwarded at once."""
    joined(room, "ann", "bob")
    assert len(send(room, "ann", type="typing")) == 1
    send(room, "ann", type="message", text="done")
    assert len(send(room, "ann", type="typing")) == 1
    send(room, "ann", type="message", text="psst", to="bob")  # others still see "typing"
    assert send(room, "ann", type="typing") == []


# --- flood control -----------------------------------------------------------


def test_rate_limiter_bucket(clock: FakeClock) -> None:
    """The bucket allows a burst, then refills at the rate, never above the burst."""
    bucket = RateLimiter(rate=2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.5)  # one token back at 2 per second
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.advance(3600)
    assert bucket.tokens == 3


def test_rate_limiter_refuses_nonsense() -> None:
    """A bucket that could never allow anything is a configuration error."""
    with pytest.raises(ValueError):
        RateLimiter(rate=0)
    with pytest.raises(ValueError):
        RateLimiter(burst=0)


def test_room_rate_limits_every_frame(room: Room[str], clock: FakeClock) -> None:
    """After the burst, frames get rate_limited without being parsed, until tokens return."""
    joined(room, "ann")  # one token spent
    results = [send(room, "ann", type="message", text="x") for _ in range(BURST)]
    assert all(isinstance(r[0], Broadcast) for r in results[: BURST - 1])
    assert error_code(results[-1]) == "rate_limited"
    assert error_code(room.handle("ann", "garbage")) == "rate_limited"  # not even parsed
    clock.advance(1.5 / RATE)  # one token back (and a half: no float edge)
    assert isinstance(send(room, "ann", type="message", text="x")[0], Broadcast)


def test_sustained_abuse_closes_with_1008(room: Room[str], clock: FakeClock) -> None:
    """More than ABUSE_LIMIT refused frames within the window close the connection."""
    for _ in range(BURST):
        room.handle("spam", "{}")
    refusals = [room.handle("spam", "{}") for _ in range(ABUSE_LIMIT)]
    assert all(error_code(r) == "rate_limited" for r in refusals)
    [disconnect] = room.handle("spam", "{}")
    assert disconnect == Disconnect("spam", CloseCode.POLICY_VIOLATION, "too many messages")
    assert disconnect.code is CloseCode.POLICY_VIOLATION == 1008  # type: ignore[union-attr]


def test_abuse_window_starts_over(room: Room[str], clock: FakeClock) -> None:
    """Refusals spread over more than the window are forgiven, not accumulated forever."""
    for _ in range(BURST + ABUSE_LIMIT):
        room.handle("eager", "{}")
    clock.advance(10.0)  # the bucket is full again and a new window starts
    for _ in range(BURST):
        assert error_code(room.handle("eager", "{}")) == "unknown_type"
    refusals = [room.handle("eager", "{}") for _ in range(ABUSE_LIMIT)]
    assert all(error_code(r) == "rate_limited" for r in refusals)
    assert isinstance(room.handle("eager", "{}")[0], Disconnect)


def test_limits_are_per_connection(room: Room[str]) -> None:
    """One flooding connection does not use up another's tokens."""
    for _ in range(BURST + 5):
        room.handle("spam", "{}")
    assert decoded(send(room, "calm", type="join", name="calm")[0])["type"] == "welcome"


def test_rate_none_switches_flood_control_off() -> None:
    """With rate=None a connection may send any number of frames in one instant."""
    room = Room(rate=None, clock=FakeClock())
    room.connect("a")
    room.handle("a", Join("ana").encode())
    replies = [room.handle("a", Say(str(i)).encode()) for i in range(500)]
    assert all(not any(isinstance(a, Reply) for a in actions) for actions in replies)


def test_a_bad_rate_fails_when_the_room_is_made() -> None:
    """rate=0 is refused at once, not on the first connection."""
    with pytest.raises(ValueError, match="rate"):
        Room(rate=0)


@pytest.mark.usefixtures("chinese")
def test_bad_room_settings_are_refused_in_chinese() -> None:
    """A bad rate or history is a ValueError the learner reads in Chinese."""
    with pytest.raises(ValueError, match=r"^限流器需要 rate > 0 且 burst >= 1$"):
        Room(rate=0)
    with pytest.raises(ValueError, match=r"^history 必须 >= 0$"):
        Room(history=-1)
