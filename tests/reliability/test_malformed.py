"""Malformed chat messages by the thousand: each gets one error, and the connection stays open.

Only breaking RFC 6455 itself (an unmasked frame, invalid UTF-8, a reserved
opcode) or sending more than the size limit closes a connection; anything a
WebSocket can carry but the chat does not accept is answered with an
``{"type": "error"}`` event naming what was wrong.

The generator is seeded, so a failure names a case that can be replayed.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from labkit.chat import ErrorCode, chat_app
from labkit.chat.protocol import MAX_MESSAGE_SIZE, MAX_NAME, MAX_TEXT
from labkit.protocol import Frame
from labkit.runner import ServerHandle
from tests.reliability.helpers import TIMEOUT, RawClient, raw_frame

SEED = 6455
PER_PHASE = 2000  # malformed messages before the join, and as many after it
BATCH = 50  # sent back to back, then their answers are read


def _json_values(rng: random.Random) -> Iterator[str]:
    """JSON text that is valid JSON but the wrong shape, or not quite JSON."""
    scalars = ["null", "true", "false", "0", "-1.5e3", '"text"', '""', "1e999999", "NaN"]
    while True:
        yield rng.choice(
            [
                rng.choice(scalars),
                "[" + ",".join(rng.choice(scalars) for _ in range(rng.randint(0, 5))) + "]",
                '[{"type":"join","name":"x"}]',
                "9" * rng.randint(4301, 6000),  # over Python's int digit limit
                "  " * rng.randint(1, 50) + "[]",
            ]
        )


def _random_text(rng: random.Random) -> str:
    """Random characters (never a lone surrogate, so the frame is valid UTF-8)."""
    while True:
        size = rng.randint(1, 300)
        if rng.random() < 0.5:
            text = rng.randbytes(size).decode("latin-1")
        else:
            text = "".join(
                chr(rng.choice([rng.randint(0, 0xD7FF), rng.randint(0xE000, 0x10FFFF)]))
                for _ in range(size)
            )
        if not text.lstrip(" \t\r\n").startswith("{"):  # an object would be a valid shape
            return text


def _nested(rng: random.Random) -> str:
    depth = rng.randint(2_000, (MAX_MESSAGE_SIZE - 100) // 5)
    return rng.choice(
        [
            "[" * min(depth * 5, MAX_MESSAGE_SIZE - 1),
            '{"a":' * depth,
            "[" * depth + "]" * depth,
            '{"type":"message","text":' + "[" * depth + "]" * depth + "}",
        ]
    )


_NOT_STRINGS = ["1", "null", "true", "[]", "{}", '["x"]', "1e999999", "-Infinity", "NaN"]
_BAD_NAMES = [
    '""',
    '"   "',
    json.dumps("n" * (MAX_NAME + 1)),
    '"a\\u0000b"',
    '"bell\\u0007"',
    '"zero\\u200bwidth"',
    '"rtl\\u202eoverride"',
    '"line\\u2028sep"',
    '"lone\\ud800"',
    '"\\udfff"',
]


def malformed(rng: random.Random, joined: bool) -> Iterator[tuple[str | bytes, ErrorCode]]:
    """Endless (frame, expected error code) pairs; which codes depend on having joined."""
    values = _json_values(rng)
    while True:
        kind = rng.randrange(13)
        if kind == 0:
            yield rng.randbytes(rng.randint(0, 300)), ErrorCode.BAD_JSON  # binary frame
        elif kind == 1:
            yield _random_text(rng), ErrorCode.BAD_JSON
        elif kind == 2:
            yield next(values), ErrorCode.BAD_JSON
        elif kind == 3:
            yield _nested(rng), ErrorCode.BAD_JSON
        elif kind == 4:
            kind_field = rng.choice([*_NOT_STRINGS, '"dance"', '"JOIN"', '"\\ud800"', '""'])
            extra = rng.choice(["", ',"name":"x"', ',"text":"hi"'])
            yield '{"type":' + kind_field + extra + "}", ErrorCode.UNKNOWN_TYPE
        elif kind == 5:
            yield rng.choice(["{}", '{"name":"x"}', '{"TYPE":"join"}']), ErrorCode.UNKNOWN_TYPE
        elif kind == 6:
            text = rng.choice([*_NOT_STRINGS, '"\\ud800"', '"ok\\udfff"', '"\\ud83d"'])
            yield '{"type":"message","text":' + text + "}", ErrorCode.BAD_JSON
        elif kind == 7:
            # "to": null means "no recipient", a public message: not a mistake.
            to = rng.choice([v for v in _NOT_STRINGS if v != "null"])
            yield '{"type":"message","text":"hi","to":' + to + "}", ErrorCode.BAD_JSON
        elif kind == 8:
            text = "x" * rng.randint(MAX_TEXT + 1, MAX_MESSAGE_SIZE // 2)
            yield json.dumps({"type": "message", "text": text}), ErrorCode.TOO_LONG
        elif kind == 9:
            name = rng.choice(_BAD_NAMES + _NOT_STRINGS)
            yield '{"type":"join","name":' + name + "}", ErrorCode.BAD_NAME
        elif joined and kind == 10:  # a second join, even with a fine name
            yield (
                json.dumps({"type": "join", "name": f"other{rng.randrange(99)}"}),
                (ErrorCode.BAD_NAME),
            )
        elif joined:
            to = rng.choice(["nobody", "\\ud800", "x" * 50, "<b>", "Fuzz "]) + str(rng.random())
            yield '{"type":"message","text":"hi","to":"' + to + '"}', ErrorCode.UNKNOWN_USER
        else:
            event = rng.choice(
                [
                    '{"type":"typing"}',
                    '{"type":"message","text":"hi"}',
                    '{"type":"message","text":"hi","to":"Watcher","ts":1e999999,"from":"Watcher"}',
                ]
            )
            yield event, ErrorCode.NOT_JOINED


def storm(
    ws: ClientConnection, cases: Iterator[tuple[str | bytes, ErrorCode]], count: int
) -> Counter[str]:
    """Send ``count`` cases in batches; check each gets exactly its error, in order."""
    seen: Counter[str] = Counter()
    for start in range(0, count, BATCH):
        batch = [next(cases) for _ in range(min(BATCH, count - start))]
        for frame, _ in batch:
            ws.send(frame)
        for frame, code in batch:
            event = json.loads(ws.recv(timeout=TIMEOUT))
            assert event["type"] == "error", (frame[:80], event)
            assert event["code"] == code, (frame[:80], event)
            assert isinstance(event["message"], str) and event["message"]
            seen[event["code"]] += 1
    return seen


@pytest.fixture
def room(serve) -> ServerHandle:
    """A chat room whose flood limit is out of the way (it is tested on its own)."""
    return serve(chat_app(rate=1e9, burst=1e9))


def test_thousands_of_malformed_messages_each_get_one_error(room, figures) -> None:
    """4000 seeded malformed messages get one error each; the sender then chats normally."""
    rng = random.Random(SEED)
    with contextlib.ExitStack() as stack:
        watcher = stack.enter_context(connect(room.url, open_timeout=TIMEOUT))
        watcher.send(json.dumps({"type": "join", "name": "Watcher"}))
        assert json.loads(watcher.recv(timeout=TIMEOUT))["type"] == "welcome"
        fuzz = stack.enter_context(connect(room.url, open_timeout=TIMEOUT, max_size=None))
        started = time.monotonic()
        before = storm(fuzz, malformed(rng, joined=False), PER_PHASE)
        fuzz.send(json.dumps({"type": "join", "name": "Fuzz"}))
        assert json.loads(fuzz.recv(timeout=TIMEOUT))["type"] == "welcome"
        after = storm(fuzz, malformed(rng, joined=True), PER_PHASE)
        elapsed = time.monotonic() - started
        fuzz.send(json.dumps({"type": "message", "text": "after the storm"}))
        # The watcher saw the join, then this message: no error ever leaked to it.
        assert json.loads(watcher.recv(timeout=TIMEOUT))["type"] == "join"
        got = json.loads(watcher.recv(timeout=TIMEOUT))
        assert (got["from"], got["text"]) == ("Fuzz", "after the storm")
    assert not [line for line in room.logs(200) if "middleware failed" in line]
    codes = before + after
    assert sum(codes.values()) == 2 * PER_PHASE
    assert set(codes) == {code.value for code in ErrorCode} - {
        "name_taken",
        "rate_limited",
        "unavailable",
    }
    figures(
        "malformed",
        {
            "messages": 2 * PER_PHASE,
            "seconds": round(elapsed, 2),
            "per_second": round(2 * PER_PHASE / elapsed),
            "codes": dict(sorted(codes.items())),
        },
    )


def test_deep_nesting_never_escapes_as_a_recursion_error(room, serve) -> None:
    """The deepest JSON that fits (65 535 levels) is bad_json; 100 000 levels never reach JSON."""
    with RawClient.connect(room.port) as ws:
        for frame in (
            "[" * (MAX_MESSAGE_SIZE - 1),
            '{"a":' * (MAX_MESSAGE_SIZE // 5),
            "[" * 30_000 + "]" * 30_000,
        ):
            ws.send(frame)
            assert ws.recv_event()["code"] == "bad_json"
        ws.join("Deep")
        # 100 000 levels are 100 000 bytes: over the 64 KiB limit, so a 1009 close.
        ws.send("[" * 100_000)
        assert ws.expect_close()[0] == 1009
    # With the limit raised, the parser's own guard answers before json.loads runs.
    roomy = serve(chat_app(max_size=1 << 20))
    with RawClient.connect(roomy.port) as ws:
        ws.send("[" * 100_000)
        assert ws.recv_event()["code"] == "too_long"
        ws.join("Deep")


# --- what does close a connection -------------------------------------------

_CESU_SURROGATE = b'{"type":"message","text":"\xed\xa0\x80"}'  # U+D800 as bytes: not UTF-8

VIOLATIONS = {
    "unmasked frame": (raw_frame(0x81, b'{"type":"typing"}', mask=False), 1002),
    "reserved opcode 0x3": (raw_frame(0x83, b"{}"), 1002),
    "RSV1 without an extension": (raw_frame(0xC1, b"{}"), 1002),
    "fragmented ping": (raw_frame(0x09, b"x"), 1002),
    "continuation without a start": (raw_frame(0x80, b"{}"), 1002),
    "close code 1005 on the wire": (raw_frame(0x88, b"\x03\xed"), 1002),
    "lone surrogate as CESU-8 bytes": (raw_frame(0x81, _CESU_SURROGATE), 1007),
    "invalid UTF-8 across fragments": (raw_frame(0x01, b"\xe2\x82") + raw_frame(0x80, b"("), 1007),
    "one byte over 64 KiB": (raw_frame(0x81, b" " * (MAX_MESSAGE_SIZE + 1)), 1009),
    "64 KiB in fragments plus one": (
        raw_frame(0x01, b" " * MAX_MESSAGE_SIZE) + raw_frame(0x80, b" "),
        1009,
    ),
}


@pytest.mark.parametrize("case", VIOLATIONS)
def test_protocol_violations_close_with_their_code_and_the_room_goes_on(room, case) -> None:
    """A violation closes only its sender, with the RFC 6455 code; the others are told it left."""
    data, code = VIOLATIONS[case]
    with (
        RawClient.connect(room.port) as ann,
        RawClient.connect(room.port) as bad,
        RawClient.connect(room.port) as bob,
    ):
        ann.join("Ann")
        bad.join("Bad")
        bob.join("Bob")
        with contextlib.suppress(ConnectionError):  # the server may hang up mid-send
            bad.sock.sendall(data)
        assert bad.expect_close()[0] == code
        bad.close()  # hang up after the close frame (test_vanished: a client that does not)
        events = [ann.recv_event() for _ in range(3)]
        assert events == [
            {"type": "join", "name": "Bad", "count": 2},
            {"type": "join", "name": "Bob", "count": 3},
            {"type": "leave", "name": "Bad", "count": 2},
        ]
        bob.send_json(type="message", text="still chatting")
        assert ann.recv_event()["text"] == "still chatting"


def test_a_message_of_exactly_64_kib_is_answered_not_closed(room) -> None:
    """The size limit is inclusive: 65 536 bytes get an answer (too_long), not a close."""
    with RawClient.connect(room.port) as ann:
        ann.join("Ann")
        text = "x" * (MAX_MESSAGE_SIZE - len('{"type":"message","text":""}'))
        frame = json.dumps({"type": "message", "text": text}, separators=(",", ":")).encode()
        assert len(frame) == MAX_MESSAGE_SIZE
        ann.sock.sendall(Frame.text(frame.decode()).serialize(mask=True))
        assert ann.recv_event()["code"] == "too_long"
        ann.send_json(type="message", text="fine", to="Ann")
        assert ann.recv_event()["text"] == "fine"


def test_closing_is_never_a_crash(room) -> None:
    """None of the above left a 1011 (internal error) or a traceback in the room's log."""
    with connect(room.url, open_timeout=TIMEOUT) as ws:
        ws.send(b"\xff" * 10)
        assert json.loads(ws.recv(timeout=TIMEOUT))["code"] == "bad_json"
        with contextlib.suppress(ConnectionClosed):
            ws.send("[" * (MAX_MESSAGE_SIZE + 10))
            ws.recv(timeout=TIMEOUT)
    assert not [line for line in room.logs(200) if "Traceback" in line]
