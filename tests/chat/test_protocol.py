"""The chat wire protocol, with pure values: every parse rule, error code and encoder."""

from __future__ import annotations

import json

import pytest

from labkit.chat.protocol import (
    HISTORY,
    MAX_FRAME,
    MAX_NAME,
    MAX_TEXT,
    ChatError,
    ErrorCode,
    Join,
    Say,
    Typing,
    encode_error,
    encode_join,
    encode_leave,
    encode_message,
    encode_typing,
    encode_welcome,
    name_key,
    parse,
    shown,
    validate_name,
)
from labkit.errors import LabkitError


def refused(frame: str | bytes) -> ChatError:
    with pytest.raises(ChatError) as info:
        parse(frame)
    # Whatever the client sent, the error must be sendable as UTF-8 JSON text.
    json.loads(info.value.encode().encode("utf-8"))
    return info.value


def test_limits_have_the_documented_values() -> None:
    """The named limits are the ones the protocol promises to clients."""
    assert (MAX_NAME, MAX_TEXT, MAX_FRAME, HISTORY) == (32, 4000, 65536, 50)


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


def test_error_codes_are_exactly_the_eight_of_the_protocol() -> None:
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
        "[" * 20_000,  # deeper than the recursion limit, inside MAX_FRAME
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
    """The parser guards MAX_FRAME itself when fed directly, before any JSON work."""
    assert refused(" " * (MAX_FRAME + 1)).code is ErrorCode.TOO_LONG


# --- encoders ----------------------------------------------------------------


def test_encoders_are_compact_and_keep_unicode() -> None:
    """Events are compact JSON with non-ASCII text kept as is (fewer bytes per user)."""
    assert encode_join("Zoë", 2) == '{"type":"join","name":"Zoë","count":2}'
    assert encode_leave("Zoë", 1) == '{"type":"leave","name":"Zoë","count":1}'
    assert encode_typing("王") == '{"type":"typing","name":"王"}'
    assert encode_error("not_joined", "join first") == (
        '{"type":"error","code":"not_joined","message":"join first"}'
    )


def test_encode_message_public_and_private() -> None:
    """A message event has from, text and ts; a private one adds to."""
    assert json.loads(encode_message("Ann", 'say "hi"\n', 1.5)) == {
        "type": "message",
        "from": "Ann",
        "text": 'say "hi"\n',
        "ts": 1.5,
    }
    assert json.loads(encode_message("Ann", "psst", 2, to="Bob"))["to"] == "Bob"


def test_welcome_splices_encoded_history() -> None:
    """The welcome holds the history events as objects, without re-encoding them."""
    history = [encode_message("Ann", "one", 1), encode_message("Bob", "two", 2)]
    welcome = encode_welcome("Cy", ["Ann", "Bob", "Cy"], history)
    assert json.loads(welcome) == {
        "type": "welcome",
        "name": "Cy",
        "users": ["Ann", "Bob", "Cy"],
        "history": [json.loads(event) for event in history],
    }
    assert json.loads(encode_welcome("Cy", [], []))["history"] == []


def test_shown_quotes_shortens_and_escapes_surrogates() -> None:
    """Client data quoted in error messages is short and always encodable."""
    assert shown("hi") == '"hi"'
    assert shown("x" * 100).endswith('…"')
    assert len(shown("x" * 100)) < 50
    shown("\ud800").encode("utf-8")
