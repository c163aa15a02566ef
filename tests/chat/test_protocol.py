"""The chat wire protocol, with pure values: every parse rule, error code, encoder and decoder.

Client frames go through :func:`parse` (the server side); every server event
round-trips through :func:`decode_server_event` (the client side).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

import labkit
from labkit.chat.protocol import (
    HISTORY,
    MAX_MESSAGE_SIZE,
    MAX_NAME,
    MAX_TEXT,
    ChatError,
    ErrorCode,
    ErrorNotice,
    Join,
    Joined,
    Left,
    Said,
    Say,
    ServerEvent,
    Typing,
    TypingNotice,
    Welcome,
    decode_server_event,
    name_key,
    parse,
    shown,
    validate_name,
)
from labkit.chat.room import Broadcast, Reply, Room
from labkit.errors import LabkitError


def refused(frame: str | bytes) -> ChatError:
    with pytest.raises(ChatError) as info:
        parse(frame)
    # Whatever the client sent, the error must be sendable as UTF-8 JSON text.
    json.loads(info.value.encode().encode("utf-8"))
    return info.value


def test_limits_have_the_documented_values() -> None:
    """The named limits are the ones the protocol promises to clients."""
    assert (MAX_NAME, MAX_TEXT, MAX_MESSAGE_SIZE, HISTORY) == (32, 4000, 65536, 50)


def test_chat_error_is_a_labkit_error_with_a_code() -> None:
    """ChatError joins the kit's one exception tree and carries its code."""
    error = ChatError("too_long", "too long")
    assert isinstance(error, LabkitError)
    assert error.code is ErrorCode.TOO_LONG and error.code == "too_long"
    assert json.loads(error.encode()) == {
        "type": "error",
        "code": "too_long",
        "message": "too long",
    }


def test_error_codes_are_exactly_the_nine_of_the_protocol() -> None:
    """Clients switch on these strings, so the set must not drift."""
    assert {code.value for code in ErrorCode} == {
        "bad_json",
        "unknown_type",
        "bad_name",
        "name_taken",
        "not_joined",
        "unknown_user",
        "too_long",
        "rate_limited",
        "unavailable",
    }


# --- good frames -------------------------------------------------------------


def test_join_trims_the_name() -> None:
    """A join becomes a Join value holding the trimmed name."""
    assert parse('{"type":"join","name":"  Ann \\t"}') == Join("Ann")


def test_public_and_private_messages() -> None:
    """A message becomes Say, with ``to`` only when the client named a recipient."""
    assert parse('{"type":"message","text":"hi"}') == Say("hi")
    assert parse('{"type":"message","text":"psst","to":"Bob"}') == Say("psst", "Bob")
    assert parse('{"type":"message","text":"hi","to":null}') == Say("hi")


def test_client_sent_from_and_ts_are_ignored() -> None:
    """Fields the server sets itself cannot be forged by the client."""
    said = parse('{"type":"message","text":"hi","from":"admin","ts":1}')
    assert said == Say("hi") and not hasattr(said, "ts")


def test_typing() -> None:
    """A typing frame becomes a Typing value."""
    assert parse('{"type":"typing"}') == Typing()


def test_text_limit_counts_characters_not_bytes() -> None:
    """4000 characters pass even when each one takes four bytes in UTF-8."""
    assert parse(json.dumps({"type": "message", "text": "😀" * MAX_TEXT})) == Say("😀" * MAX_TEXT)


def test_values_are_frozen() -> None:
    """Parsed requests are immutable values."""
    with pytest.raises(AttributeError):
        Say("hi").text = "changed"  # type: ignore[misc]


# --- bad_json ----------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        b'{"type":"typing"}',  # a binary frame, even with JSON inside
        "not json",
        "",
        '{"type":"message"',
        "[1, 2]",
        '"join"',
        "42",
        "null",
        "[" * 20_000,  # deeper than the recursion limit, inside MAX_MESSAGE_SIZE
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        '{"type":"join","name":"x","n":' + "9" * 5000 + "}",  # int too long to convert
        '{"type":"message","text":5}',
        '{"type":"message"}',
        '{"type":"message","text":"hi","to":7}',
        '{"type":"message","text":"\\ud800"}',  # a lone surrogate, escaped in JSON
        '{"type":"message","text":"a\\udfffb"}',
    ],
    ids=lambda frame: repr(frame[:24]),
)
def test_bad_json(frame: str | bytes) -> None:
    """Frames that are not the expected JSON object get bad_json, never a crash."""
    assert refused(frame).code is ErrorCode.BAD_JSON


def test_huge_numbers_in_ignored_fields_are_harmless() -> None:
    """A float overflowing to infinity in an unused field does not break parsing."""
    assert parse('{"type":"typing","x":1e999999}') == Typing()


# --- unknown_type ------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        "{}",
        '{"type":null}',
        '{"type":3}',
        '{"type":["join"]}',
        '{"type":"shout"}',
        '{"type":"JOIN","name":"a"}',
        '{"type":"\\ud800"}',
        '{"type":"' + "x" * 60_000 + '"}',
    ],
    ids=lambda frame: repr(frame[:24]),
)
def test_unknown_type(frame: str) -> None:
    """A missing, non-string or unknown type gets unknown_type."""
    error = refused(frame)
    assert error.code is ErrorCode.UNKNOWN_TYPE
    assert len(error.message) < 200  # long client data is never echoed in full


# --- bad_name ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        None,
        42,
        ["Ann"],
        "",
        "   ",
        "x" * (MAX_NAME + 1),
        "Ann\x00",
        "Ann\x1b[31m",  # Cc: an ANSI escape
        "An\x85n",  # Cc: C1 control (NEL)
        "Ann\u200b",  # Cf: zero-width space
        "\u202eevil",  # Cf: right-to-left override
        "Ann\u2028Bob",  # Zl
        "Ann\u2029Bob",  # Zp
        "Ann\ud800",  # a lone surrogate
    ],
    ids=repr,
)
def test_bad_name(name: object) -> None:
    """Names that are not 1-32 visible characters get bad_name."""
    assert refused(json.dumps({"type": "join", "name": name})).code is ErrorCode.BAD_NAME


def test_name_length_is_counted_after_trimming() -> None:
    """32 characters with spaces around them are a good name."""
    assert validate_name("  " + "n" * MAX_NAME + "  ") == "n" * MAX_NAME


def test_names_may_use_any_script_and_emoji() -> None:
    """Visible non-ASCII names, inner spaces included, are accepted unchanged."""
    for name in ("Zoë", "王小明", "Ann Lee", "🦊 fox", "<b>&amp;"):
        assert validate_name(name) == name


def test_name_key_ignores_case_and_width() -> None:
    """Casefold and NFKC make look-alike names collide."""
    assert name_key("ANN") == name_key("ann") == name_key("Ａｎｎ")
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("Ann") != name_key("Anne")


# --- too_long ----------------------------------------------------------------


def test_text_over_the_limit_is_too_long() -> None:
    """One character over MAX_TEXT gets too_long."""
    frame = json.dumps({"type": "message", "text": "x" * (MAX_TEXT + 1)})
    assert refused(frame).code is ErrorCode.TOO_LONG


def test_frame_over_the_limit_is_too_long() -> None:
    """The parser guards MAX_MESSAGE_SIZE itself when fed directly, before any JSON work."""
    assert refused(" " * (MAX_MESSAGE_SIZE + 1)).code is ErrorCode.TOO_LONG


# --- encoders ----------------------------------------------------------------


def test_encoders_are_compact_and_keep_unicode() -> None:
    """Events are compact JSON with non-ASCII text kept as is (fewer bytes per user)."""
    assert Joined("Zoë", 2).encode() == '{"type":"join","name":"Zoë","count":2}'
    assert Left("Zoë", 1).encode() == '{"type":"leave","name":"Zoë","count":1}'
    assert TypingNotice("王").encode() == '{"type":"typing","name":"王"}'
    assert ErrorNotice(ErrorCode.NOT_JOINED, "join first").encode() == (
        '{"type":"error","code":"not_joined","message":"join first"}'
    )


def test_encode_message_public_and_private() -> None:
    """A message event has from, text and ts; a private one adds to."""
    assert json.loads(Said("Ann", 'say "hi"\n', 1.5).encode()) == {
        "type": "message",
        "from": "Ann",
        "text": 'say "hi"\n',
        "ts": 1.5,
    }
    assert json.loads(Said("Ann", "psst", 2, to="Bob").encode())["to"] == "Bob"


def test_welcome_holds_the_history_events() -> None:
    """The welcome holds the history events as objects, each exactly as it was broadcast."""
    history = (Said("Ann", "one", 1), Said("Bob", "two", 2))
    welcome = Welcome("Cy", ("Ann", "Bob", "Cy"), history).encode()
    assert json.loads(welcome) == {
        "type": "welcome",
        "name": "Cy",
        "users": ["Ann", "Bob", "Cy"],
        "history": [json.loads(event.encode()) for event in history],
    }
    assert welcome.endswith(f',"history":[{",".join(e.encode() for e in history)}]}}')
    assert json.loads(Welcome("Cy", ()).encode())["history"] == []


@pytest.mark.parametrize(
    "request_",
    [Join("Ann"), Join("Zoë 王"), Say("hi"), Say("psst", to="Bob"), Say('a "b"\n'), Typing()],
    ids=repr,
)
def test_client_requests_round_trip_through_the_server_parser(request_: object) -> None:
    """What a client encodes, the server parses back into the same value."""
    assert parse(request_.encode()) == request_  # type: ignore[attr-defined]


def test_client_requests_are_the_documented_json() -> None:
    """A client sends compact JSON, keys in the documented order, Unicode kept as is."""
    assert Join("Zoë").encode() == '{"type":"join","name":"Zoë"}'
    assert Say("hi").encode() == '{"type":"message","text":"hi"}'
    assert Say("psst", to="Bob").encode() == '{"type":"message","text":"psst","to":"Bob"}'
    assert Typing().encode() == '{"type":"typing"}'


def test_shown_quotes_shortens_and_escapes_surrogates() -> None:
    """Client data quoted in error messages is short and always encodable."""
    assert shown("hi") == '"hi"'
    assert shown("x" * 100).endswith('…"')
    assert len(shown("x" * 100)) < 50
    shown("\ud800").encode("utf-8")


# --- server events and the client's decoder ---------------------------------

EVENTS: list[ServerEvent] = [
    Welcome("Cy", ("Ann", "Bob", "Cy")),
    Welcome("Zoë", ("王", "Zoë"), (Said("王", "你好", 1.5), Said("Ann", "two", 1700000000.123))),
    Joined("Zoë", 2),
    Left("Zoë", 1),
    Said("Ann", 'say "hi"\n<b>', 1700000000.123),
    Said("Ann", "psst", 2, to="Bob"),
    TypingNotice("王"),
    *(ErrorNotice(code, f"what {code} means") for code in ErrorCode),
]


def undecodable(frame: str | bytes) -> ChatError:
    with pytest.raises(ChatError) as info:
        decode_server_event(frame)
    return info.value


@pytest.mark.parametrize("event", EVENTS, ids=repr)
def test_every_event_round_trips_through_the_decoder(event: ServerEvent) -> None:
    """decode_server_event(event.encode()) gives the same value back, and the same text."""
    decoded = decode_server_event(event.encode())
    assert decoded == event and type(decoded) is type(event)
    assert decoded.encode() == event.encode()


@pytest.mark.parametrize("event", EVENTS, ids=repr)
def test_every_event_names_its_wire_type(event: ServerEvent) -> None:
    """Each event's JSON object starts with its ``type``, the key clients switch on."""
    data = json.loads(event.encode())
    assert next(iter(data)) == "type" and data["type"] == event.type
    assert data == event.as_dict()


def test_events_are_frozen_values() -> None:
    """Events are immutable and hashable, so they can be kept and shared safely."""
    event = Said("Ann", "hi", 1.0)
    with pytest.raises(AttributeError):
        event.text = "changed"  # type: ignore[misc]
    assert len({event, Said("Ann", "hi", 1.0), Welcome("a", ("a",), (event,))}) == 2


def test_every_frame_the_room_sends_decodes() -> None:
    """Welcome, join, message (public and private), typing, error and leave: all decode."""
    room: Room[str] = Room(clock=lambda: 0.0, wall_clock=lambda: 1700000000.5)
    texts: list[str] = []

    def run(actions: list[Any]) -> None:
        for action in actions:
            assert isinstance(action, Reply | Broadcast)
            texts.append(action.text)

    run(room.handle("a", '{"type":"join","name":"Ann"}'))
    run(room.handle("a", '{"type":"message","text":"first"}'))
    run(room.handle("b", '{"type":"join","name":"Bob"}'))
    run(room.handle("a", '{"type":"message","text":"psst","to":"bob"}'))
    run(room.handle("a", '{"type":"typing"}'))
    run(room.handle("b", "{nope"))
    run(room.disconnect("a"))
    events = [decode_server_event(text) for text in texts]
    assert {type(event) for event in events} == {
        Welcome,
        Said,
        Joined,
        TypingNotice,
        ErrorNotice,
        Left,
    }
    assert Welcome("Bob", ("Ann", "Bob"), (Said("Ann", "first", 1700000000.5),)) in events
    assert Said("Ann", "psst", 1700000000.5, to="Bob") in events
    assert Left("Ann", 1) == events[-1]


# --- what the decoder tolerates ---------------------------------------------


def test_a_welcome_without_history_has_an_empty_one() -> None:
    """Servers that keep no history (the bare references, Koa) send no key: that is ()."""
    event = decode_server_event('{"type":"welcome","name":"a","users":["a"]}')
    assert event == Welcome("a", ("a",), ())


def test_extra_fields_are_ignored_and_null_to_is_public() -> None:
    """A newer server may add fields; a ``"to": null`` is a public message."""
    frame = '{"type":"message","from":"a","text":"x","ts":1,"to":null,"id":7}'
    assert decode_server_event(frame) == Said("a", "x", 1)


# --- what the decoder refuses -----------------------------------------------


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        (b'{"type":"typing","name":"a"}', "binary"),
        ("not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ("null", "JSON object"),
        ("[" * 20_000, "nested too deeply"),
    ],
    ids=repr,
)
def test_bad_json_is_a_clear_kit_error(frame: str | bytes, fragment: str) -> None:
    """Frames that are not one JSON object give ChatError bad_json, a LabkitError."""
    error = undecodable(frame)
    assert isinstance(error, LabkitError)
    assert error.code is ErrorCode.BAD_JSON and fragment in error.message


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        ("{}", "no string type"),
        ('{"type":7}', "no string type"),
        ('{"type":"party"}', 'unknown event type "party"'),
        ('{"type":"shout","name":"a"}', 'unknown event type "shout"'),
        ('{"type":"Welcome","name":"a","users":[]}', 'unknown event type "Welcome"'),
    ],
    ids=repr,
)
def test_unknown_types_are_unknown_type(frame: str, fragment: str) -> None:
    """A missing or unknown type is unknown_type, and the message lists the known ones."""
    error = undecodable(frame)
    assert error.code is ErrorCode.UNKNOWN_TYPE
    assert fragment in error.message and "welcome, join, leave, message, typing, error" in (
        error.message
    )


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        ('{"type":"welcome","users":["a"]}', '"welcome" event needs "name"'),
        ('{"type":"welcome","name":"a"}', '"welcome" event needs "users"'),
        ('{"type":"welcome","name":"a","users":["a",1]}', '"users": a list of names'),
        ('{"type":"welcome","name":"a","users":[],"history":{}}', '"history"'),
        ('{"type":"welcome","name":"a","users":[],"history":[{"type":"join"}]}', '"history"'),
        ('{"type":"join","name":"a"}', '"join" event needs "count": an integer'),
        ('{"type":"join","name":"a","count":"2"}', '"count"'),
        ('{"type":"leave","name":"a","count":true}', '"count"'),
        ('{"type":"leave","count":1}', '"leave" event needs "name"'),
        ('{"type":"message","text":"x","ts":1}', '"message" event needs "from"'),
        ('{"type":"message","from":"a","ts":1}', '"message" event needs "text"'),
        ('{"type":"message","from":"a","text":"x"}', '"ts": a number'),
        ('{"type":"message","from":"a","text":"x","ts":"soon"}', '"ts"'),
        ('{"type":"message","from":"a","text":"x","ts":1,"to":5}', '"to"'),
        ('{"type":"typing"}', '"typing" event needs "name"'),
        ('{"type":"error","message":"x"}', '"error" event needs "code"'),
        ('{"type":"error","code":"bad_json"}', '"error" event needs "message"'),
        ('{"type":"error","code":"bad_request","message":"x"}', 'unknown error code "bad_'),
    ],
    ids=repr,
)
def test_missing_or_mistyped_fields_are_bad_json(frame: str, fragment: str) -> None:
    """Each event checks its fields, and the error names the event and the field."""
    error = undecodable(frame)
    assert error.code is ErrorCode.BAD_JSON
    assert fragment in error.message, error.message


def test_the_protocol_module_does_no_io() -> None:
    """Importing the protocol (and the room) loads neither asyncio nor websockets."""
    code = (
        "import sys, labkit.chat.protocol, labkit.chat.room; "
        "print(sorted({'asyncio', 'websockets', 'socket'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- in Chinese: the learner reads Chinese, the wire stays English -----------


def _wire_and_text(frame: str | bytes) -> tuple[str, str]:
    error = refused(frame)
    return error.encode(), str(error)


@pytest.mark.parametrize(
    ("frame", "chinese_text"),
    [
        ('{"type":"join","name":"  "}', "bad_name: 用户名为空"),
        (json.dumps({"type": "join", "name": "x" * 33}), "bad_name: 用户名超过了 32 个字符"),
        ('{"type":"join","name":"a\\u202eb"}', "bad_name: 用户名中含有不可见字符或控制字符 U+202E"),
        (b"\x00", "bad_json: 不接受二进制帧；请发送 JSON 文本"),
        ('{"type":"message"}', 'bad_json: message 需要一个字符串类型的 "text"'),
        ('{"type":"dance"}', 'unknown_type: 未知的类型 "dance"'),
    ],
    ids=["empty-name", "long-name", "rtl-override", "binary", "no-text", "unknown-type"],
)
def test_a_refused_frame_reads_in_chinese_but_is_answered_byte_for_byte_in_english(
    frame: str | bytes, chinese_text: str
) -> None:
    """str(ChatError) is Chinese for the learner; the error event it sends does not change."""
    wire, english_text = _wire_and_text(frame)
    labkit.set_language("zh-CN")
    try:
        chinese_wire, text = _wire_and_text(frame)
    finally:
        labkit.set_language(None)
    assert text == chinese_text
    assert chinese_wire == wire  # the same bytes on the wire in every language
    assert english_text.split(": ", 1)[1] == json.loads(wire)["message"]


@pytest.mark.usefixtures("chinese")
def test_a_client_reads_a_bad_server_frame_in_chinese() -> None:
    """decode_server_event's errors, raised in a learner's client, speak Chinese."""
    with pytest.raises(ChatError) as unknown:
        decode_server_event('{"type":"dance"}')
    assert str(unknown.value) == (
        'unknown_type: 未知的事件类型 "dance"；聊天室只发送 '
        "welcome, join, leave, message, typing, error"
    )
    with pytest.raises(ChatError) as lacking:
        decode_server_event('{"type":"join","name":"ana"}')
    assert str(lacking.value) == 'bad_json: "join" 事件需要 "count"，应为整数'
    assert lacking.value.message == 'a "join" event needs "count": an integer'


@pytest.mark.usefixtures("chinese")
def test_a_room_answers_in_english_while_the_kernel_speaks_chinese() -> None:
    """Every event a room sends is the same JSON in Chinese as in English (the wire is pinned)."""
    room: Room[str] = Room(wall_clock=lambda: 1.0)
    room.handle("a", '{"type":"join","name":"ana"}')
    [reply] = room.handle("a", '{"type":"join","name":" "}')
    assert isinstance(reply, Reply)
    assert reply.text == '{"type":"error","code":"bad_name","message":"the name is empty"}'
    [reply] = room.handle("b", '{"type":"message","text":"hi"}')
    assert isinstance(reply, Reply) and '"code":"not_joined"' in reply.text
    assert '"message":"send {\\"type\\": \\"join\\"' in reply.text
