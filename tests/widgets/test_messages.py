"""Tests for labkit.widgets.messages: chat events decoded into panel entries."""

from __future__ import annotations

import json

from labkit.chat.protocol import ErrorCode, ErrorNotice, Said, TypingNotice, Welcome
from labkit.widgets.messages import from_chat_event, from_server_event, from_text_frame


def decode(event: object, me: str = "ada"):
    return from_chat_event(json.dumps(event), me)


def test_public_and_private_messages_keep_sender_time_and_receiver():
    """A message becomes `other`, or `private` with its receiver, at the server's time."""
    entry, _ = decode({"type": "message", "from": "bob", "text": "hi", "ts": 12.5})
    assert (entry.kind, entry.sender, entry.text, entry.ts) == ("other", "bob", "hi", 12.5)
    entry, _ = decode({"type": "message", "from": "bob", "text": "psst", "ts": 1, "to": "ada"})
    assert (entry.kind, entry.to) == ("private", "ada")


def test_room_events_become_system_lines():
    """welcome, join, leave, typing and error read as short sentences."""
    welcome, _ = decode({"type": "welcome", "name": "ada", "users": ["ada", "bob"], "history": []})
    assert welcome.kind == "system" and "bob" in welcome.text and "ada!" in welcome.text
    joined, _ = decode({"type": "join", "name": "cy", "count": 3})
    assert joined.text == "cy joined (3 online)"
    left, _ = decode({"type": "leave", "name": "cy", "count": 2})
    assert left.text == "cy left (2 online)"
    typing, _ = decode({"type": "typing", "name": "bob"})
    assert typing.kind == "typing"
    error, _ = decode({"type": "error", "code": "too_long", "message": "at most 4000"})
    assert (error.kind, error.text) == ("error", "too_long: at most 4000")


def test_garbage_from_a_server_is_an_error_entry_not_an_exception():
    """Bad JSON, non-objects and unknown types are shown, never raised."""
    for raw in ["{nope", "[1, 2]", json.dumps({"type": "party"}), b"\xff"]:
        entry, _ = from_chat_event(raw, "ada")
        assert entry.kind == "error"
    assert decode({"type": "message", "from": "b", "text": "x", "ts": "soon"})[0].ts > 0


def test_text_frames_from_plain_servers():
    """Echo replies are `other` entries from the server; binary shows its size."""
    assert from_text_frame("hi").text == "hi"
    assert from_text_frame(b"\x00\x01").text.startswith("<2 bytes of binary")


def test_entries_come_with_the_typed_event():
    """The second value is the decoded protocol event; an unreadable frame has none."""
    entry, event = from_chat_event(Said("bob", "hi", 3.0, to="ada").encode(), "ada")
    assert event == Said("bob", "hi", 3.0, to="ada") and entry.data is event
    entry, event = from_chat_event('{"type":"join","name":"cy"}', "ada")
    assert event is None and entry.kind == "error"
    assert '"count"' in entry.text and entry.text.startswith("unreadable frame from the server")


def test_a_welcome_names_the_others_and_history_entries_decode_alike():
    """The welcome line leaves this panel out (ignoring case); past messages are entries."""
    welcome = Welcome("Ada", ("ada", "bob"), (Said("bob", "earlier", 1.0),))
    assert from_server_event(welcome, "ADA").text == "welcome, Ada! here: bob"
    assert from_server_event(Welcome("ada", ("ada",)), "ada").text.endswith("nobody else yet")
    [past] = welcome.history
    entry = from_server_event(past, "ada")
    assert (entry.kind, entry.sender, entry.text, entry.ts) == ("other", "bob", "earlier", 1.0)
    refused = from_server_event(ErrorNotice(ErrorCode.NAME_TAKEN, "taken"), "ada")
    assert refused.text == "name_taken: taken"
    assert from_server_event(TypingNotice("bob"), "ada").sender == "bob"


def test_room_events_read_in_chinese(chinese):
    """zh-CN: welcome, join, leave, typing and an unreadable frame are Chinese sentences."""
    welcome = Welcome("ada", ("ada", "bob", "cy"))
    assert from_server_event(welcome, "ada").text == "欢迎你，ada！在线的有：bob、cy"
    assert (
        decode({"type": "join", "name": "cy", "count": 3})[0].text == "cy 加入了聊天室（3 人在线）"
    )
    assert (
        decode({"type": "leave", "name": "cy", "count": 2})[0].text == "cy 离开了聊天室（2 人在线）"
    )
    assert from_server_event(TypingNotice("bob"), "ada").text == "bob 正在输入…"
    entry, _ = from_chat_event("{nope", "ada")
    assert entry.text.startswith("服务器发来了无法读取的帧（")
    assert (
        from_text_frame("hi").sender == "服务器" and from_text_frame("hi", "echo").sender == "echo"
    )


def test_an_error_from_the_room_reads_in_chinese_by_its_code(chinese):
    """zh-CN: the panel shows the page's text for the code; the English on the wire is kept."""
    refused = from_server_event(ErrorNotice(ErrorCode.NAME_TAKEN, "the name ada is taken"), "ada")
    assert refused.text == "用户名 ada 已被占用，请换一个（name_taken）"
    assert refused.data.message == "the name ada is taken"
    slow = from_server_event(ErrorNotice(ErrorCode.RATE_LIMITED, "too many"), "ada")
    assert "rate_limited" in slow.text and "too many" not in slow.text
