"""Tests for labkit.inspector.records: frozen values that render as one line each."""

from __future__ import annotations

import dataclasses

import pytest

from labkit.inspector.records import (
    ConnRecord,
    Direction,
    ErrorRecord,
    FrameRecord,
    HandshakeRecord,
)

C2S = Direction.CLIENT_TO_SERVER


def frame(**changes: object) -> FrameRecord:
    fields: dict[str, object] = {
        "conn": 2,
        "direction": C2S,
        "fin": True,
        "rsv": (False, False, False),
        "opcode": "TEXT",
        "opcode_value": 1,
        "mask_key": "37fa213d",
        "length": 5,
        "payload": b"Hello",
        "preview": "'Hello'",
    }
    fields.update(changes)
    return FrameRecord(**fields)  # type: ignore[arg-type]


def test_directions_have_names_arrows_and_senders():
    """Each direction reads as client→server / server→client with its arrow and sender."""
    assert str(C2S) == "client→server" and C2S.arrow == "→" and C2S.sender == "client"
    s2c = Direction.SERVER_TO_CLIENT
    assert (str(s2c), s2c.arrow, s2c.short, s2c.sender) == ("server→client", "←", "s→c", "server")


def test_frame_line_has_fin_opcode_key_length_and_preview():
    """A frame's line shows FIN, opcode, RSV bits, key, length, preview and any note."""
    assert frame().line() == "#2   c→s FIN=1 TEXT   key=37fa213d len=5      'Hello'"
    odd = frame(fin=False, rsv=(True, False, True), mask_key=None, note="x")
    assert "FIN=0 TEXT   RSV1 RSV3 unmasked" in odd.line() and odd.line().endswith("!! x")


def test_other_records_render_one_line_each():
    """Handshake, error and TCP records each fit on one line that says what they are."""
    head = HandshakeRecord(
        1, C2S, "GET / HTTP/1.1", (("Host", "h"), ("Upgrade", "websocket")), "GET / ..."
    )
    assert head.line() == "#1   c→s HANDSHAKE GET / HTTP/1.1  (Upgrade: websocket)"
    assert head.header("HOST") == "h" and head.header("Origin") is None
    error = ErrorRecord(1, C2S, "not HTTP", b"\x00\x01")
    assert error.line() == "#1   c→s ERROR not HTTP  [00 01]"
    assert ConnRecord(1, None, "closed", "c→s 3 B").line() == "#1       TCP closed c→s 3 B"
    assert "\n" not in head.line() + error.line()


def test_records_are_frozen_and_know_their_kind():
    """Records cannot be changed after the fact and name their kind."""
    record = frame()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.fin = False  # type: ignore[misc]
    assert record.kind == "frame" and record.masked
    assert ErrorRecord.kind == "error" and ConnRecord.kind == "conn"


def test_lines_read_in_chinese_and_keep_their_columns(chinese):
    """zh-CN: 握手, 错误, 无掩码 and the TCP events; "len=" starts in the same column
    whether the frame had a key or not (a Chinese character is two columns wide)."""
    head = HandshakeRecord(1, C2S, "GET / HTTP/1.1", (("Upgrade", "websocket"),), "GET / ...")
    assert head.line() == "#1   c→s 握手 GET / HTTP/1.1  (Upgrade: websocket)"
    assert ErrorRecord(1, C2S, "x", b"").line() == "#1   c→s 错误 x"
    assert ConnRecord(1, None, "closed", "y").line() == "#1       TCP 连接关闭 y"
    assert ConnRecord(1, C2S, "eof").what() == "TCP 半关闭（EOF）"
    keyed, bare = frame().line(), frame(mask_key=None).line()
    assert "无掩码" in bare

    def column(line: str) -> int:
        before = line[: line.index("len=")]
        return sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in before)

    assert column(bare) == column(keyed)
