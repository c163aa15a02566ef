"""Tests for labkit.inspector.proxy: a real tap between real clients and a real echo server."""

from __future__ import annotations

import contextlib
import socket

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import labkit
from labkit.inspector import (
    ConnRecord,
    Direction,
    ErrorRecord,
    FrameRecord,
    HandshakeRecord,
    Inspector,
)
from labkit.protocol import Frame, Opcode
from labkit.runner import ServerHandle
from tests.inspector.helpers import (
    frame_is,
    raw_websocket,
    recv_until_eof,
)
from tests.support import handshake_request, http_exchange, kit_tasks, port_is_free

C2S = Direction.CLIENT_TO_SERVER
S2C = Direction.SERVER_TO_CLIENT


def closed(record: object) -> bool:
    return isinstance(record, ConnRecord) and record.event == "closed"


def test_handshake_heads_are_recorded_both_ways(tapped: ServerHandle, tap: Inspector):
    """The client's GET with Upgrade: websocket and the server's 101 are both recorded."""
    with connect(tapped.url, compression=None) as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"
    response = tap.wait_for(lambda r: r.kind == "handshake" and r.direction is S2C)
    request = next(r for r in tap.records if isinstance(r, HandshakeRecord))
    assert request.direction is C2S and request.start_line == "GET / HTTP/1.1"
    assert request.header("Upgrade") == "websocket" and request.status is None
    assert "Sec-WebSocket-Key: " in request.head
    assert isinstance(response, HandshakeRecord) and response.status == 101
    assert response.start_line == "HTTP/1.1 101 Switching Protocols"
    assert response.conn == request.conn


def test_text_goes_masked_and_comes_back_unmasked(tapped: ServerHandle, tap: Inspector):
    """A text frame travels masked with a 4-byte key; the echo comes back unmasked, same text."""
    with connect(tapped.url, compression=None) as ws:
        ws.send("hello wire")
        assert ws.recv(timeout=5) == "hello wire"
        back = tap.wait_for(frame_is(S2C, "TEXT"))
    sent = tap.wait_for(frame_is(C2S, "TEXT"))
    assert isinstance(sent, FrameRecord) and isinstance(back, FrameRecord)
    assert sent.masked and len(bytes.fromhex(sent.mask_key or "")) == 4
    assert back.mask_key is None and not back.masked
    assert sent.payload == back.payload == b"hello wire" and sent.length == back.length == 10
    assert sent.fin and back.fin and sent.rsv == back.rsv == (False, False, False)
    assert back.preview == "'hello wire'"
    assert f"key={sent.mask_key}" in tap.text()


def test_binary_frames_are_shown_in_hex(tapped: ServerHandle, tap: Inspector):
    """A binary frame and its echo are BINARY records with the bytes previewed in hex."""
    with connect(tapped.url, compression=None) as ws:
        ws.send(b"\x00\x01\xfe\xff")
        assert ws.recv(timeout=5) == b"\x00\x01\xfe\xff"
        back = tap.wait_for(frame_is(S2C, "BINARY"))
    assert back.payload == b"\x00\x01\xfe\xff" and back.preview == "00 01 fe ff"
    assert tap.wait_for(frame_is(C2S, "BINARY")).masked


def test_ping_and_pong_carry_the_same_payload(tapped: ServerHandle, tap: Inspector):
    """A client ping with a payload is answered by a pong with those bytes (RFC 6455, 5.5.3)."""
    with connect(tapped.url, compression=None) as ws:
        assert ws.ping(b"are you there").wait(5)
        pong = tap.wait_for(frame_is(S2C, "PONG"))
    ping = tap.wait_for(frame_is(C2S, "PING"))
    assert ping.payload == pong.payload == b"are you there"
    assert ping.masked and not pong.masked


def test_a_fragmented_message_shows_as_its_frames(tapped: ServerHandle, tap: Inspector):
    """websockets sends an iterable as fragments plus an empty final frame; the echo is whole."""
    with connect(tapped.url, compression=None) as ws:
        ws.send(["a", "b", "c"])
        assert ws.recv(timeout=5) == "abc"
        tap.wait_for(frame_is(S2C, "TEXT", payload=b"abc"))
    sent = [(f.opcode, f.fin, f.payload) for f in tap.frames if f.direction is C2S][:4]
    assert sent == [
        ("TEXT", False, b"a"),
        ("CONT", False, b"b"),
        ("CONT", False, b"c"),
        ("CONT", True, b""),
    ]


def test_three_fragments_by_hand_have_fin_0_0_1(tapped: ServerHandle, tap: Inspector):
    """Fragments a, b, c sent by a hand-built client show as 3 frames with FIN 0, 0, 1."""
    sock = raw_websocket(tapped.port)
    with sock:
        key = b"\x01\x02\x03\x04"
        sock.sendall(
            Frame(Opcode.TEXT, b"a", fin=False).serialize(mask_key=key)
            + Frame(Opcode.CONT, b"b", fin=False).serialize(mask_key=key)
            + Frame(Opcode.CONT, b"c").serialize(mask_key=key)
        )
        tap.wait_for(frame_is(S2C, "TEXT", payload=b"abc"))
    sent = [(f.opcode, int(f.fin), f.preview) for f in tap.frames if f.direction is C2S]
    assert sent == [("TEXT", 0, "'a'"), ("CONT", 0, "'b'"), ("CONT", 1, "'c'")]
    assert {f.mask_key for f in tap.frames if f.direction is C2S} == {"01020304"}


@pytest.mark.parametrize(("code", "reason"), [(1000, ""), (4000, "bye for now")])
def test_close_frames_show_code_and_reason_both_ways(
    tapped: ServerHandle, tap: Inspector, code: int, reason: str
):
    """The client's close and the server's answer carry the same code and reason."""
    with connect(tapped.url, compression=None) as ws:
        ws.close(code, reason)
    tap.wait_for(closed)
    client = tap.wait_for(frame_is(C2S, "CLOSE"))
    server = tap.wait_for(frame_is(S2C, "CLOSE"))
    assert (client.close_code, client.close_reason) == (code, reason)
    assert (server.close_code, server.close_reason) == (code, reason)
    assert client.masked and not server.masked


def test_garbage_is_an_error_record_and_the_tap_keeps_working(
    echo: ServerHandle, tapped: ServerHandle, tap: Inspector
):
    """Junk bytes give an error record, reach the server unchanged, and break nothing."""
    junk = b"\x00\xffnot http at all\r\n\r\n"
    answers = []
    for port in (tapped.port, echo.port):  # through the tap, then straight to the server
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(junk)
            answers.append(recv_until_eof(sock))  # the server hangs up; its EOF comes through
    error = tap.wait_for(lambda r: isinstance(r, ErrorRecord))
    assert error.direction is C2S and error.data == junk
    assert "not an HTTP request" in error.message
    assert answers[0] == answers[1]  # the tap changed nothing
    tap.wait_for(lambda r: closed(r) and r.conn == error.conn)
    with connect(tapped.url, compression=None) as ws:
        ws.send("still here")
        assert ws.recv(timeout=5) == "still here"


def test_plain_http_passes_through_and_is_recorded(
    echo: ServerHandle, tapped: ServerHandle, tap: Inspector
):
    """A plain HTTP GET gets the server's own answer through the tap, recorded with its status."""
    request = b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    direct = http_exchange(echo.port, request)
    tapped_answer = http_exchange(tapped.port, request)
    assert tapped_answer[0] == direct[0] and tapped_answer[2] == direct[2]
    response = tap.wait_for(lambda r: r.kind == "handshake" and r.direction is S2C)
    assert response.status == direct[0] != 101
    assert tap.frames == []  # the body is not mistaken for frames


def test_half_close_is_passed_on(tapped: ServerHandle, tap: Inspector):
    """A client that stops sending (TCP FIN) is seen as EOF by the server, and its EOF back."""
    sock = raw_websocket(tapped.port)
    with sock:
        sock.shutdown(socket.SHUT_WR)
        recv_until_eof(sock)  # returns only because the server's EOF came through
    tap.wait_for(closed)
    events = [(r.event, r.direction) for r in tap.records if isinstance(r, ConnRecord)]
    assert events[0][0] == "open" and events[-1][0] == "closed"
    assert ("eof", C2S) in events and ("eof", S2C) in events


def test_a_large_frame_is_forwarded_intact_and_its_record_capped(
    tapped: ServerHandle, tap: Inspector
):
    """A 512 KiB message crosses in many reads, arrives intact, and its record keeps 1 KiB."""
    data = bytes(range(256)) * 2048
    with connect(tapped.url, compression=None) as ws:
        ws.send(data)
        assert ws.recv(timeout=10) == data
    back = tap.wait_for(frame_is(S2C, "BINARY"))
    assert back.length == len(data) and back.payload == data[:1024]


def test_an_unreachable_target_is_an_error_record():
    """When the target refuses connections, the client is dropped and the tap says why."""
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        dead = spare.getsockname()[1]  # bound but not listening: connections are refused
        tap = Inspector(target=f"ws://127.0.0.1:{dead}/")
        with (
            labkit.start(tap, name="insp-tap-unreachable") as handle,
            socket.create_connection(("127.0.0.1", handle.port), timeout=5) as sock,
        ):
            sock.sendall(handshake_request(handle.port))
            with contextlib.suppress(ConnectionResetError):
                assert recv_until_eof(sock) == b""  # dropped without an answer
            error = tap.wait_for(lambda r: isinstance(r, ErrorRecord))
    assert error.direction is None and "cannot reach" in error.message


def test_stopping_drops_the_pairs_frees_the_port_and_leaves_no_task(echo: ServerHandle):
    """stop() aborts open connections, frees the port and ends every task the tap started."""

    def mine() -> int:  # the accepting task (labkit/streams.py) and the pumps
        return kit_tasks("labkit/inspector") + kit_tasks("labkit/streams")

    assert mine() == 0
    tap = Inspector(target=echo.url)
    handle = labkit.start(tap, name="insp-tap-stop")
    with connect(handle.url, compression=None) as ws:
        ws.send("hi")
        assert ws.recv(timeout=5) == "hi"
        assert mine() == 3  # the pair's task and its two pumps
        handle.stop()
        assert mine() == 0
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert port_is_free(handle.port)
    closing = tap.wait_for(closed)
    assert "stopped by the inspector" in closing.detail
    with connect(echo.url, compression=None) as direct:  # the server behind keeps running
        direct.send("after")
        assert direct.recv(timeout=5) == "after"


def test_deflated_messages_show_rsv1_and_their_text():
    """With permessage-deflate negotiated, frames carry RSV1 and previews show the inflated text."""
    server = labkit.start(labkit.echo_app(compression="deflate"), name="insp-echo-deflate")
    tap = Inspector(target=server)
    try:
        with labkit.start(tap, name="insp-tap-deflate") as handle:
            with connect(handle.url, compression="deflate") as ws:
                for text in ("compress me " * 20, "compress me again"):
                    ws.send(text)
                    assert ws.recv(timeout=5) == text
            tap.wait_for(lambda r: isinstance(r, ConnRecord) and r.event == "closed")
    finally:
        server.stop()
    texts = [f for f in tap.frames if f.opcode == "TEXT"]
    assert [f.rsv for f in texts] == [(True, False, False)] * 4
    assert all(f.note == "" for f in texts)
    assert texts[-1].preview == "deflate: 'compress me again'"
    assert texts[0].length < 240  # 240 characters travelled compressed


def test_targets_can_be_urls_pairs_or_handles(echo: ServerHandle):
    """A ws:// URL, a (host, port) pair and a handle name the same target; wss:// is refused."""
    by_url = Inspector(target=echo.url)
    assert (by_url.host, by_url.port) == ("127.0.0.1", echo.port)
    assert Inspector(target=("127.0.0.1", echo.port)).target == by_url.target
    assert Inspector(target=echo).target == f"ws://127.0.0.1:{echo.port}/"
    with pytest.raises(ValueError, match="TLS"):
        Inspector(target="wss://example.com/")
    with pytest.raises(ValueError, match="ws://host:port"):
        Inspector(target="ftp://example.com/")


def test_clear_forgets_records_and_the_module_is_reachable_from_labkit():
    """labkit.inspector loads on use; clear() empties records and text() says so."""
    tap = labkit.inspector.Inspector(target="ws://127.0.0.1:9/")
    tap.store.add([ConnRecord(1, None, "open")])
    assert len(tap.records) == 1
    tap.clear()
    assert tap.records == [] and tap.text() == "(no records yet)"
    assert tap.name == "inspector"


def test_the_tap_speaks_chinese(tapped: ServerHandle, tap: Inspector, chinese):
    """zh-CN: the half-close and close details, an empty text() and a bad target are Chinese."""
    assert tap.text() == "（还没有记录）"
    sock = raw_websocket(tapped.port)
    with sock:
        sock.shutdown(socket.SHUT_WR)
        recv_until_eof(sock)
    tap.wait_for(closed)
    details = {(r.event, r.direction): r.detail for r in tap.records if isinstance(r, ConnRecord)}
    assert details[("eof", C2S)] == "客户端已发送完毕"
    assert details[("eof", S2C)] == "服务器已发送完毕"
    assert (
        details[("closed", None)].startswith("c→s ") and " 字节，s→c " in details[("closed", None)]
    )
    assert "TCP 半关闭（EOF） 客户端已发送完毕" in tap.text()
    with pytest.raises(ValueError, match="检查器只能读取明文的 ws:// 流量"):
        Inspector(target="wss://example.com/")
    with pytest.raises(ValueError, match="目标应形如 ws://host:port/"):
        Inspector(target="ftp://example.com/")


def test_wait_for_is_refused_on_the_kit_loop(tap: Inspector):
    """Blocking inside a handler would stall the loop the traffic comes through: KitLoopError."""
    from labkit.errors import KitLoopError
    from labkit.runner import run_sync

    async def inside() -> str:
        with pytest.raises(KitLoopError) as info:
            tap.wait_for(lambda record: True, timeout=0.1)
        return str(info.value)

    assert run_sync(inside()).startswith("inspector.wait_for() inside a WebSocket handler")
