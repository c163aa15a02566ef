"""Tests for labkit.raw: the from-scratch echo server on real sockets.

Hand-built bytes probe every rule the server enforces; the websockets library
checks that an independent, well-tested client gets along with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator, Awaitable

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

from labkit.protocol import (
    Frame,
    HandshakeResponse,
    Opcode,
    build_request,
    check_accept_response,
    make_key,
    parse_close,
    parse_response,
)
from labkit.raw import RawEchoServer, RawListener

# A small max_size keeps the error cases quick. The timeouts are far longer than
# run() allows, so a server that waits on one instead of acting fails the test.
SETTINGS = {"max_size": 1024, "handshake_timeout": 30.0, "close_timeout": 30.0}
MASK = b"\x01\x02\x03\x04"


def run(coro: Awaitable[None], timeout: float = 10.0) -> None:
    """Run one scenario on a fresh event loop, failing instead of hanging."""
    asyncio.run(asyncio.wait_for(coro, timeout))


@contextlib.asynccontextmanager
async def serving(**settings: object) -> AsyncIterator[tuple[RawListener, int]]:
    """A raw echo server on 127.0.0.1 and a free port, shut down afterwards."""
    listener = await RawEchoServer(**{**SETTINGS, **settings}).open("127.0.0.1", 0)
    port = next(iter(listener.sockets)).getsockname()[1]
    try:
        yield listener, port
    finally:
        listener.close()
        await listener.wait_closed()


def raw_frame(b0: int, payload: bytes = b"", *, mask: bytes | None = MASK) -> bytes:
    """Any frame, even an illegal one: first byte as given, minimal length, masked."""
    n = len(payload)
    mask_bit = 0x80 if mask is not None else 0
    if n < 126:
        head = struct.pack("!BB", b0, mask_bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mask_bit | 127, n)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawClient:
    """A WebSocket client made of a TCP stream and labkit.protocol, nothing else."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, *, handshake: bool = True) -> RawClient:
        client = cls(*await asyncio.open_connection("127.0.0.1", port))
        if handshake:
            key = make_key()
            await client.send(build_request(f"127.0.0.1:{port}", "/", key))
            head = await client.reader.readuntil(b"\r\n\r\n")
            assert check_accept_response(head, key).status == 101
        return client

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv_frame(self) -> Frame:
        """Read one frame; a server frame must not be masked."""
        gen = Frame.parse(mask=False)
        n = next(gen)
        try:
            while True:
                n = gen.send(await self.reader.readexactly(n))
        except StopIteration as done:
            return done.value

    async def expect_close(self) -> tuple[int, str]:
        """The next frame is a close frame and then the server hangs up."""
        frame = await self.recv_frame()
        assert frame.opcode is Opcode.CLOSE, frame
        await self.expect_eof()
        return parse_close(frame.payload)

    async def expect_eof(self) -> None:
        """The server sends nothing more and ends the TCP stream."""
        assert await self.reader.read() == b""

    async def read_response(self) -> HandshakeResponse:
        """Everything the server sends until it hangs up, as an HTTP response."""
        return parse_response(await self.reader.read())

    async def echo(self, text: str) -> str:
        await self.send(Frame.text(text).serialize(mask=True))
        frame = await self.recv_frame()
        assert frame.opcode is Opcode.TEXT
        return frame.payload.decode()

    async def aclose(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def still_serves(port: int) -> None:
    """A fresh client still gets its echo: the last connection harmed nobody."""
    client = await RawClient.connect(port)
    assert await client.echo("still here") == "still here"
    await client.send(Frame.close(1000).serialize(mask=True))
    assert await client.expect_close() == (1000, "")
    await client.aclose()


# --- protocol violations ---------------------------------------------------

VIOLATIONS = {
    "unmasked frame": (raw_frame(0x81, b"Hello", mask=None), 1002),
    "reserved opcode 0x3": (raw_frame(0x83), 1002),
    "reserved opcode 0xB": (raw_frame(0x8B), 1002),
    "RSV1 bit": (raw_frame(0xC1, b"x"), 1002),
    "RSV3 bit": (raw_frame(0x91, b"x"), 1002),
    "fragmented ping": (raw_frame(0x09, b"x"), 1002),
    "ping over 125 bytes": (raw_frame(0x89, b"x" * 126), 1002),
    "continuation without start": (raw_frame(0x80, b"x"), 1002),
    "text frame mid-message": (raw_frame(0x01, b"a") + raw_frame(0x81, b"b"), 1002),
    "close code 1005 on the wire": (raw_frame(0x88, struct.pack("!H", 1005)), 1002),
    "close code 999": (raw_frame(0x88, struct.pack("!H", 999)), 1002),
    "close code 2000": (raw_frame(0x88, struct.pack("!H", 2000)), 1002),
    "close payload of 1 byte": (raw_frame(0x88, b"\x03"), 1002),
    "invalid UTF-8 text": (raw_frame(0x81, b"ok \xff"), 1007),
    "invalid UTF-8 across fragments": (raw_frame(0x01, b"\xe2\x82") + raw_frame(0x80, b"("), 1007),
    "invalid UTF-8 close reason": (raw_frame(0x88, b"\x03\xe8\xff"), 1007),
    # Only the header of a 2 MiB frame: the server must refuse it unread.
    "declared length over max_size": (bytes([0x82, 0xFF]) + struct.pack("!Q", 2**21) + MASK, 1009),
    "fragments over max_size": (raw_frame(0x02, b"x" * 1000) + raw_frame(0x80, b"x" * 100), 1009),
}


@pytest.mark.parametrize("name", VIOLATIONS)
def test_violation_closes_with_its_code(name, caplog):
    """Each violation gets a close frame with its RFC code, then TCP closes; others are unharmed.

    The server handles each one as an expected event: nothing is logged as an error.
    """
    data, code = VIOLATIONS[name]

    async def scenario():
        async with serving() as (_, port):
            client = await RawClient.connect(port)
            await client.send(data)
            received, _ = await client.expect_close()
            assert received == code
            await client.aclose()
            await still_serves(port)

    run(scenario())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# --- opening handshake -----------------------------------------------------


def handshake_refused(request: bytes, **settings: object) -> HandshakeResponse:
    """Send ``request`` and return the HTTP error the server answers with."""
    result: list[HandshakeResponse] = []

    async def scenario():
        async with serving(**settings) as (_, port):
            client = await RawClient.connect(port, handshake=False)
            await client.send(request)
            result.append(await client.read_response())
            await client.aclose()
            await still_serves(port)

    run(scenario())
    return result[0]


def test_wrong_version_gets_426_with_version_13():
    """Sec-WebSocket-Version 8 is answered 426 naming version 13."""
    request = build_request("x", "/").replace(b"Version: 13", b"Version: 8")
    response = handshake_refused(request)
    assert response.status == 426
    assert response.headers["Sec-WebSocket-Version"] == "13"


def test_plain_http_get_gets_426_with_a_text_body():
    """A browser-style GET without Upgrade learns, in words, to use a WebSocket."""
    response = handshake_refused(b"GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n")
    assert response.status == 426
    assert response.headers["Upgrade"] == "websocket"
    assert b"WebSocket echo server" in response.body
    assert int(response.headers["Content-Length"]) == len(response.body)


def test_post_gets_405():
    """A POST is refused 405 with Allow: GET."""
    response = handshake_refused(build_request("x", "/").replace(b"GET", b"POST", 1))
    assert (response.status, response.headers["Allow"]) == (405, "GET")


def test_garbage_gets_400():
    """Bytes that are not HTTP (here a TLS hello) get a 400, not a crash."""
    assert handshake_refused(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n").status == 400


def test_bad_key_gets_400():
    """A key that is not 16 bytes in base64 is refused 400."""
    request = build_request("x", "/", key="c2hvcnQ=")
    response = handshake_refused(request)
    assert response.status == 400
    assert b"Sec-WebSocket-Key" in response.body


def test_oversized_head_gets_431():
    """A head that never ends within the size cap is refused 431, not buffered forever."""
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 20_000
    assert handshake_refused(request).status == 431


def test_half_sent_handshake_times_out():
    """A client that stops mid-handshake gets 408 after handshake_timeout and is hung up."""
    response = handshake_refused(b"GET / HTTP/1.1\r\nHost: x\r\n", handshake_timeout=0.2)
    assert response.status == 408


def test_client_leaving_mid_handshake_harms_nobody():
    """A client that hangs up halfway through its request is forgotten quietly."""

    async def scenario():
        async with serving() as (_, port):
            client = await RawClient.connect(port, handshake=False)
            await client.send(b"GET / HTTP/1.1\r\nHo")
            await client.aclose()
            await still_serves(port)

    run(scenario())


def test_frame_sent_with_the_handshake_is_echoed():
    """Frame bytes that arrive in the same packet as the request are not lost."""

    async def scenario():
        async with serving() as (_, port):
            client = await RawClient.connect(port, handshake=False)
            key = make_key()
            request = build_request("x", "/", key)
            await client.send(request + Frame.text("eager").serialize(mask=True))
            check_accept_response(await client.reader.readuntil(b"\r\n\r\n"), key)
            assert (await client.recv_frame()).payload == b"eager"
            await client.aclose()

    run(scenario())


# --- closing handshake -----------------------------------------------------


@pytest.mark.parametrize(("code", "reason"), [(1000, ""), (4000, "bye"), (1001, "going")])
def test_client_close_is_echoed(code, reason):
    """The server answers a client's close with the same code and reason, then hangs up."""

    async def scenario():
        async with serving() as (_, port):
            client = await RawClient.connect(port)
            await client.send(Frame.close(code, reason).serialize(mask=True))
            assert await client.expect_close() == (code, reason)
            await client.aclose()

    run(scenario())


def test_close_without_code_is_echoed_empty():
    """An empty close payload is echoed empty (no status code either way)."""

    async def scenario():
        async with serving() as (_, port):
            client = await RawClient.connect(port)
            await client.send(Frame.close(None).serialize(mask=True))
            frame = await client.recv_frame()
            assert (frame.opcode, frame.payload) == (Opcode.CLOSE, b"")
            await client.expect_eof()
            await client.aclose()

    run(scenario())


def test_ping_between_fragments_is_answered_first():
    """A ping in the middle of a fragmented message gets its pong before the echo."""

    async def scenario():
        async with serving() as (_, port):
            client = await RawClient.connect(port)
            ping = raw_frame(0x89, b"are you there?")
            await client.send(raw_frame(0x01, b"Hel") + ping + raw_frame(0x80, b"lo"))
            pong = await client.recv_frame()
            assert (pong.opcode, pong.payload) == (Opcode.PONG, b"are you there?")
            message = await client.recv_frame()
            assert (message.opcode, message.fin, message.payload) == (Opcode.TEXT, True, b"Hello")
            await client.aclose()

    run(scenario())


def test_silent_client_is_dropped_after_close_timeout():
    """On shutdown a client that never answers the 1001 close frame is dropped."""

    async def scenario():
        listener = await RawEchoServer(close_timeout=0.2).open("127.0.0.1", 0)
        port = next(iter(listener.sockets)).getsockname()[1]
        client = await RawClient.connect(port)
        listener.close()
        frame = await client.recv_frame()
        assert parse_close(frame.payload) == (1001, "server shutting down")
        await listener.wait_closed()  # returns although the client said nothing
        with contextlib.suppress(ConnectionError):
            assert await client.reader.read() == b""
        assert not listener.connections
        await client.aclose()

    run(scenario())


def test_shutdown_during_handshake_hangs_up():
    """close() answers 503 to a client still in its handshake instead of waiting for it."""

    async def scenario():
        listener = await RawEchoServer(handshake_timeout=30.0).open("127.0.0.1", 0)
        port = next(iter(listener.sockets)).getsockname()[1]
        client = await RawClient.connect(port, handshake=False)
        await client.send(b"GET / HTTP/1.1\r\n")
        listener.close()
        response = await client.read_response()
        assert response.status == 503
        await client.aclose()
        await listener.wait_closed()

    run(scenario())


def test_data_after_server_close_is_not_echoed():
    """After sending close, the server drops data frames and ends on the client's close."""

    async def scenario():
        listener = await RawEchoServer(close_timeout=5.0).open("127.0.0.1", 0)
        port = next(iter(listener.sockets)).getsockname()[1]
        client = await RawClient.connect(port)
        listener.close()
        assert parse_close((await client.recv_frame()).payload)[0] == 1001
        await client.send(Frame.text("late").serialize(mask=True))
        await client.send(Frame.close(1001).serialize(mask=True))
        await client.expect_eof()  # no echo of "late", and no second close
        await client.aclose()
        await listener.wait_closed()

    run(scenario())


# --- interoperability with the websockets library ---------------------------


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
def test_websockets_client_binary_and_text_echo(size):
    """Payloads on both sides of every length-field boundary come back intact."""

    async def scenario():
        async with serving(max_size=2**20) as (_, port), connect(f"ws://127.0.0.1:{port}/") as ws:
            data = bytes(i % 251 for i in range(size))
            await ws.send(data)
            assert await ws.recv() == data
            text = "é" * (size // 2) + "a" * (size % 2)
            await ws.send(text)
            assert await ws.recv() == text

    run(scenario())


def test_websockets_client_fragmented_message():
    """A message the client sends in fragments is echoed as one message."""

    async def scenario():
        async with serving() as (_, port), connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send(["frag", "men", "ted"])
            assert await ws.recv() == "fragmented"

    run(scenario())


def test_websockets_client_ping_pong():
    """The server's pong carries the ping's payload (websockets checks the match)."""

    async def scenario():
        async with serving() as (_, port), connect(f"ws://127.0.0.1:{port}/") as ws:
            pong_waiter = await ws.ping(b"payload-123")
            latency = await asyncio.wait_for(pong_waiter, 5)
            assert latency >= 0

    run(scenario())


def test_websockets_client_close_code_is_echoed():
    """The websockets client receives back the close code and reason it sent."""

    async def scenario():
        async with serving() as (_, port):
            ws = await connect(f"ws://127.0.0.1:{port}/")
            await ws.close(4001, "done here")
            assert (ws.close_code, ws.close_reason) == (4001, "done here")

    run(scenario())


def test_websockets_client_too_big_gets_1009():
    """A message over max_size ends the websockets client's connection with 1009."""

    async def scenario():
        async with serving(max_size=1000) as (_, port):
            async with connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send(b"x" * 1001)
                with pytest.raises(ConnectionClosedError):
                    await ws.recv()
            assert ws.close_code == 1009

    run(scenario())


def test_shutdown_sends_1001_to_websockets_client():
    """close() says 'going away' (1001) to open connections and wait_closed waits for them."""

    async def scenario():
        listener = await RawEchoServer().open("127.0.0.1", 0)
        port = next(iter(listener.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            assert listener.connections
            listener.close()
            listener.close()  # idempotent
            with pytest.raises(ConnectionClosedOK):
                await ws.recv()
            assert ws.close_code == 1001
        await listener.wait_closed()
        assert not listener.connections
        assert not list(listener.sockets)

    run(scenario())


# --- the Servable face -----------------------------------------------------


def test_servable_face():
    """The server has the runner's name and propagates bind errors unchanged."""
    assert RawEchoServer.name == "raw-echo"

    async def scenario():
        async with serving() as (_, port):
            with pytest.raises(OSError):
                await RawEchoServer().open("127.0.0.1", port)

    run(scenario())


def test_logs_like_the_koa_tutorial(caplog):
    """It logs 'connection established' and 'received message: ...' on labkit.raw."""
    caplog.set_level(logging.INFO, logger="labkit.raw")

    async def scenario():
        async with serving() as (_, port):
            client = await RawClient.connect(port)
            assert await client.echo("hi there") == "hi there"
            await client.aclose()

    run(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "labkit.raw"]
    assert any(m.startswith("connection established") for m in messages)
    assert "received message: 'hi there'" in messages


def test_the_shared_origin_and_host_rules_can_be_switched_on():
    """The raw server asks labkit.protocol.policy, as the App does: 403 when told to check."""
    request = build_request("127.0.0.1:1", "/", extra_headers={"Origin": "http://evil.example"})
    response = handshake_refused(request, origins="same-host")
    assert response.status == 403
    assert b"Origin" in response.body
    rebinding = handshake_refused(build_request("evil.example", "/"), check_host=True)
    assert rebinding.status == 403


def test_logs_the_tutorials_chinese_lines(caplog, chinese):
    """In Chinese, the raw server logs the Koa2 tutorial's own two lines, as the echo app does."""
    caplog.set_level(logging.INFO, logger="labkit.raw")

    async def scenario():
        async with serving() as (_, port):
            client = await RawClient.connect(port)
            assert await client.echo("hi there") == "hi there"
            await client.send(Frame.binary(b"\x00\x01").serialize(mask=True))
            assert (await client.recv_frame()).payload == b"\x00\x01"
            await client.aclose()

    run(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "labkit.raw"]
    assert "WebSocket 连接已建立" in messages
    assert "接收到消息: 'hi there'" in messages
    assert "接收到消息: <2 字节的二进制数据>" in messages


def test_a_close_reason_stays_english_in_chinese(chinese):
    """The reason of the close frame is on the wire: English, whatever the kit speaks."""
    reasons: list[str] = []

    async def scenario():
        async with serving() as (_, port):
            client = await RawClient.connect(port)
            await client.send(raw_frame(0x81, b"ok \xff"))
            code, reason = await client.expect_close()
            assert code == 1007
            reasons.append(reason)
            await client.aclose()

    run(scenario())
    assert reasons[0] and reasons[0].isascii(), reasons
