"""Tests for labkit.inspector.decoder: bytes of both directions in, records out, no sockets."""

from __future__ import annotations

import zlib

import pytest

from labkit.inspector.decoder import DecoderState, WireDecoder
from labkit.inspector.records import Direction, ErrorRecord, FrameRecord, HandshakeRecord
from labkit.protocol import Frame, Opcode, accept_key, build_accept_response, parse_request

C2S = Direction.CLIENT_TO_SERVER
S2C = Direction.SERVER_TO_CLIENT
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
MASK = bytes.fromhex("37fa213d")
REQUEST = (
    b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: " + KEY.encode() + b"\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
RESPONSE = build_accept_response(parse_request(REQUEST))


def with_rsv1(frame: bytes) -> bytes:
    """The same frame with RSV1 set (the core will not build one: it has no extensions)."""
    return bytes([frame[0] | 0x40]) + frame[1:]


def upgraded(**options: int) -> WireDecoder:
    """A decoder that has seen a successful handshake."""
    decoder = WireDecoder(conn=7, **options)
    decoder.feed(C2S, REQUEST)
    decoder.feed(S2C, RESPONSE)
    return decoder


def test_handshake_heads_become_records_with_the_status():
    """The request and the 101 response come out as handshake records, then frames mode."""
    decoder = WireDecoder(conn=7)
    [request] = decoder.feed(C2S, REQUEST)
    [response] = decoder.feed(S2C, RESPONSE)
    assert isinstance(request, HandshakeRecord) and isinstance(response, HandshakeRecord)
    assert request.start_line == "GET /chat HTTP/1.1" and request.status is None
    assert request.header("upgrade") == "websocket" and request.conn == 7
    assert request.head == REQUEST.decode()
    assert response.status == 101 and response.reason == "Switching Protocols"
    assert response.header("Sec-WebSocket-Accept") == accept_key(KEY)
    assert decoder.state(C2S) is DecoderState.FRAMES and decoder.state(S2C) is DecoderState.FRAMES


def test_rfc_masked_hello_decodes_with_its_key():
    """RFC 6455 section 5.7's masked "Hello" shows key 37fa213d and the unmasked text."""
    decoder = upgraded()
    [frame] = decoder.feed(C2S, bytes.fromhex("818537fa213d7f9f4d5158"))
    assert isinstance(frame, FrameRecord)
    assert (frame.opcode, frame.fin, frame.mask_key, frame.length) == ("TEXT", True, "37fa213d", 5)
    assert frame.payload == b"Hello" and frame.preview == "'Hello'" and frame.note == ""


def test_bytes_split_anywhere_give_the_same_frames():
    """Feeding a stream one byte at a time yields the same records as in one chunk."""
    stream = (
        Frame.text("héllo", fin=False).serialize(mask_key=MASK)
        + Frame.ping(b"hi").serialize(mask_key=MASK)
        + Frame(Opcode.CONT, "wörld".encode()).serialize(mask_key=MASK)
    )
    whole = upgraded().feed(C2S, stream)
    trickled = upgraded()
    pieces = [r for i in range(len(stream)) for r in trickled.feed(C2S, stream[i : i + 1])]
    assert [(r.opcode, r.fin, r.preview) for r in whole] == [
        ("TEXT", False, "'héllo'"),
        ("PING", True, "68 69"),
        ("CONT", True, "'wörld'"),
    ]
    assert [r.preview for r in pieces] == [r.preview for r in whole]


def test_a_character_split_across_fragments_previews_whole():
    """A UTF-8 character cut between two fragments shows up in the second preview intact."""
    decoder = upgraded()
    data = "é".encode()
    first, second = decoder.feed(
        S2C,
        Frame(Opcode.TEXT, b"caf" + data[:1], fin=False).serialize(mask=False)
        + Frame(Opcode.CONT, data[1:]).serialize(mask=False),
    )
    assert (first.preview, second.preview) == ("'caf'", "'é'")


def test_close_frames_show_code_and_reason():
    """A close frame's record carries its code and reason; an empty one reads 1005."""
    decoder = upgraded()
    [close] = decoder.feed(S2C, Frame.close(4000, "bye").serialize(mask=False))
    assert (close.close_code, close.close_reason) == (4000, "bye")
    assert close.preview == "4000 private 'bye'"
    [empty] = decoder.feed(C2S, Frame.close(None).serialize(mask_key=MASK))
    assert (empty.close_code, empty.close_reason) == (1005, "")


def test_rule_breaking_frames_are_shown_with_a_note():
    """An unmasked client frame and a masked server frame decode, each with a section 5.1 note."""
    decoder = upgraded()
    [client] = decoder.feed(C2S, Frame.text("hi").serialize(mask=False))
    [server] = decoder.feed(S2C, Frame.text("hi").serialize(mask_key=MASK))
    assert client.payload == server.payload == b"hi"
    assert "client frames must be masked" in client.note
    assert "server frames must not be masked" in server.note


def test_garbage_instead_of_a_request_is_one_error_then_raw():
    """Binary junk where a request belongs gives one error at once, then nothing more."""
    decoder = WireDecoder(conn=1)
    [error] = decoder.feed(C2S, b"\x16\x03\x01\x02\x00garbage")
    assert isinstance(error, ErrorRecord) and error.direction is C2S
    assert "not an HTTP request" in error.message and error.data.startswith(b"\x16\x03")
    assert decoder.feed(C2S, b"more junk") == []
    assert decoder.state(C2S) is DecoderState.RAW and decoder.bytes_seen(C2S) == 12 + 9


def test_text_that_is_not_a_method_is_an_error():
    """A printable line that does not start with a method is refused as a request."""
    [error] = WireDecoder(conn=1).feed(C2S, b"hello there\r\n\r\n")
    assert "does not start with a method" in error.message


def test_a_bad_frame_ends_decoding_of_its_direction_only():
    """A reserved opcode gives an error for that direction; the other keeps decoding."""
    decoder = upgraded()
    good = Frame.text("ok").serialize(mask_key=MASK)
    records = decoder.feed(C2S, good + b"\x83\x80" + MASK)  # opcode 0x3 is reserved
    assert [r.kind for r in records] == ["frame", "error"]
    assert "reserved opcode" in records[1].message
    assert decoder.feed(C2S, good) == []
    [reply] = decoder.feed(S2C, Frame.text("ok").serialize(mask=False))
    assert reply.preview == "'ok'"


def test_a_frame_over_the_limit_is_refused_before_its_payload():
    """A header announcing more than max_frame bytes is an error without buffering the payload."""
    decoder = upgraded(max_frame=100)
    [error] = decoder.feed(S2C, Frame.binary(b"x" * 101).serialize(mask=False)[:4])
    assert "exceeds the limit of 100" in error.message


def test_a_refused_handshake_stops_decoding_both_ways():
    """A non-101 answer is recorded with its status; the HTTP body is not taken for frames."""
    decoder = WireDecoder(conn=3)
    decoder.feed(C2S, REQUEST)
    [response] = decoder.feed(
        S2C, b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n\x81\x05Hello"
    )
    assert (response.status, response.reason) == (404, "Not Found")
    assert decoder.state(C2S) is DecoderState.RAW and decoder.state(S2C) is DecoderState.RAW


def test_client_bytes_before_the_answer_wait_for_it():
    """Frames a client sends before the 101 arrives are decoded once it does."""
    decoder = WireDecoder(conn=1)
    assert len(decoder.feed(C2S, REQUEST + Frame.text("early").serialize(mask_key=MASK))) == 1
    records = decoder.feed(S2C, RESPONSE)
    assert [(r.kind, r.direction) for r in records] == [("handshake", S2C), ("frame", C2S)]
    assert records[1].preview == "'early'"


def test_permessage_deflate_frames_show_rsv1_and_inflated_text():
    """With permessage-deflate negotiated, RSV1 frames are shown inflated and without a note."""
    decoder = WireDecoder(conn=1)
    decoder.feed(C2S, REQUEST)
    decoder.feed(S2C, RESPONSE[:-2] + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
    compressor = zlib.compressobj(wbits=-15)
    records = []
    for text in ("hello hello hello", "hello again"):
        data = compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
        # RFC 7692, section 7.2.1: the 00 00 ff ff tail is stripped, RSV1 marks the message.
        records += decoder.feed(S2C, with_rsv1(Frame(Opcode.TEXT, data[:-4]).serialize(mask=False)))
    assert [(r.rsv, r.preview, r.note) for r in records] == [
        ((True, False, False), "deflate: 'hello hello hello'", ""),
        ((True, False, False), "deflate: 'hello again'", ""),
    ]


def test_rsv_bits_without_an_extension_get_a_note():
    """RSV1 with no extension negotiated is still decoded, with a section 5.2 note."""
    decoder = upgraded()
    [frame] = decoder.feed(S2C, with_rsv1(Frame.text("x").serialize(mask=False)))
    assert frame.rsv == (True, False, False) and "RSV bit set" in frame.note


def test_rsv_bits_arrive_byte_by_byte_and_a_bad_frame_shows_its_own_bytes():
    """RSV2+RSV3 split over chunks still decode; an RSV1 reserved-opcode frame is shown as sent."""
    decoder = upgraded()
    data = bytes([0xB1]) + Frame.text("ab").serialize(mask=False)[1:]  # FIN, RSV2, RSV3, TEXT
    assert decoder.feed(S2C, data[:1]) == [] and decoder.feed(S2C, data[1:3]) == []
    [frame] = decoder.feed(S2C, data[3:])
    assert (frame.rsv, frame.preview) == ((False, True, True), "'ab'")
    [error] = decoder.feed(S2C, b"\xc3\x00")  # RSV1 and reserved opcode 0x3
    assert "reserved opcode" in error.message and error.data == b"\xc3\x00"


@pytest.mark.parametrize("payload", [b"", b"\x00" * 200])
def test_binary_previews_are_hex_and_payload_is_capped(payload: bytes):
    """Binary previews are hex ("(empty)" for nothing) and records keep at most keep_payload."""
    decoder = upgraded(keep_payload=16)
    [frame] = decoder.feed(S2C, Frame.binary(payload).serialize(mask=False))
    assert frame.length == len(payload) and frame.payload == payload[:16]
    assert frame.preview == ("(empty)" if not payload else "00 " * 19 + "00 …")


def test_notes_errors_and_previews_read_in_chinese(chinese):
    """zh-CN: a rule broken, bytes that are not HTTP and an empty payload are told in Chinese,
    with the RFC's section numbers."""
    decoder = upgraded()
    [client] = decoder.feed(C2S, Frame.text("hi").serialize(mask=False))
    assert client.note == "客户端发送的帧必须加掩码（第 5.1 节）"
    [server] = decoder.feed(S2C, Frame.text("hi").serialize(mask_key=MASK))
    assert server.note == "服务器发送的帧不能加掩码（第 5.1 节）"
    [ping] = decoder.feed(S2C, Frame.ping(b"").serialize(mask=False))
    assert ping.preview == "（空）"
    [error] = WireDecoder(conn=1).feed(C2S, b"hello there\r\n\r\n")
    assert error.message == "不是 HTTP 请求：开头不是 GET 这样的方法"
    [junk] = WireDecoder(conn=1).feed(C2S, b"\x16\x03\x01")
    assert junk.message == "不是 HTTP 请求：本该是头部的地方出现了控制字符"
