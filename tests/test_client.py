"""Tests for labkit.client: the browser-style WebSocket, against real servers."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest

import labkit
from labkit import App, HandshakeRefused, InvalidAccessError, InvalidStateError, WebSocket
from labkit.client import CloseEvent, MessageEvent, ReadyState
from labkit.runner import kit_loop


@pytest.fixture
def echo():
    server = labkit.start(labkit.echo_app(), name="client-echo")
    yield server
    server.stop()


def test_ready_state_names_and_numbers_match_the_browser():
    """CONNECTING..CLOSED are 0..3, on the class as in JavaScript."""
    assert [int(s) for s in ReadyState] == [0, 1, 2, 3]
    assert (WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED) == (
        0,
        1,
        2,
        3,
    )


def test_open_message_close_callbacks_in_order(echo):
    """onopen, then onmessage per echo, then onclose with the code, as a browser fires them."""
    events: list[object] = []
    closed = threading.Event()

    def on_close(event):
        events.append(event)
        closed.set()

    ws = WebSocket(echo.url)
    ws.onopen = lambda event: (events.append(event.type), ws.send("hello"), ws.send(b"\x01"))
    ws.onmessage = events.append
    ws.onclose = on_close
    ws.wait_for(lambda m: m == b"\x01")
    assert ws.readyState == WebSocket.OPEN
    ws.close(4000, "bye")
    assert closed.wait(5)
    assert events[0] == "open"
    assert events[1:3] == [MessageEvent("hello"), MessageEvent(b"\x01")]
    assert events[3] == CloseEvent(4000, "bye", True)
    assert ws.readyState == WebSocket.CLOSED


def test_events_before_a_handler_is_set_are_kept_and_delivered(echo):
    """A handler set after the event still receives it (cells run line by line)."""
    ws = WebSocket(echo.url).wait_open()
    ws.send("early")
    ws.wait_for(lambda m: m == "early")
    opened, got = threading.Event(), []
    ws.onopen = lambda event: opened.set()
    ws.onmessage = lambda event: got.append(event.data)
    assert opened.wait(5)
    ws.send("late")
    ws.wait_for(lambda m: m == "late")
    ws.close()
    ws.wait_closed()
    assert got == ["early", "late"]


@pytest.fixture
def slow_open():
    """A server whose handshake waits until the test opens the returned gate."""
    gate = threading.Event()
    app = App("slow-open")

    @app.before_handshake
    async def hold(ctx):
        await asyncio.to_thread(gate.wait, 5)

    @app.use
    async def idle(ctx, next):
        await ctx.websocket.wait_closed()

    server = labkit.start(app, name="client-slow")
    yield server, gate
    gate.set()
    server.stop()


def test_send_while_connecting_raises_like_a_browser(slow_open):
    """send() before OPEN raises InvalidStateError naming the state."""
    server, gate = slow_open
    ws = WebSocket(server.url)
    assert ws.readyState == WebSocket.CONNECTING
    with pytest.raises(InvalidStateError, match="CONNECTING"):
        ws.send("too soon")
    gate.set()
    ws.wait_open()
    ws.close()
    ws.wait_closed()


def test_close_validates_code_and_reason_like_a_browser(echo):
    """close() accepts 1000 and 3000-4999 and reasons up to 123 bytes only."""
    ws = WebSocket(echo.url).wait_open()
    with pytest.raises(InvalidAccessError):
        ws.close(1001)
    with pytest.raises(InvalidAccessError):
        ws.close(1000, "é" * 62)
    ws.close(1000, "x" * 123)
    assert ws.wait_closed() == CloseEvent(1000, "x" * 123, True)
    ws.close()  # closing twice is harmless, as in a browser


def test_refused_connection_fires_error_then_close_1006():
    """A 403 or a dead port gives onerror with the reason, then onclose 1006."""
    app = App("refuse")

    @app.before_handshake
    def no(ctx):
        raise HandshakeRefused(403, "go away")

    server = labkit.start(app, name="client-refuse")
    events: list[object] = []
    try:
        ws = WebSocket(server.url, onerror=events.append, onclose=events.append)
        assert ws.wait_closed() == CloseEvent(1006, "", False)
        with pytest.raises(ConnectionError, match="403"):
            ws.wait_open()
    finally:
        server.stop()
    assert events[0].type == "error" and "403" in events[0].message
    assert events[1] == CloseEvent(1006, "", False)
    dead = WebSocket(f"ws://127.0.0.1:{server.port}/")
    assert dead.wait_closed().code == 1006


def test_server_stop_reaches_the_client_as_1001(echo):
    """A stopping server closes the client cleanly with 1001 going away."""
    ws = WebSocket(echo.url).wait_open()
    echo.stop()
    assert ws.wait_closed() == CloseEvent(1001, "", True)
    assert ws.readyState == WebSocket.CLOSED


def test_buffered_amount_counts_queued_bytes_and_drains(echo):
    """bufferedAmount grows with send() and returns to 0 once written.

    The kit's loop is held while sending: otherwise it could write all
    100 000 bytes to the loopback socket before the assertion reads them.
    """
    ws = WebSocket(echo.url).wait_open()
    held = threading.Event()
    kit_loop().call_soon_threadsafe(held.wait, 10)  # ws's own writes queue up behind this
    try:
        ws.send("x" * 100_000)
        assert ws.bufferedAmount == 100_000
    finally:
        held.set()
    ws.wait_for(lambda m: len(m) == 100_000)
    assert ws.bufferedAmount == 0
    ws.close()


def test_send_rejects_non_bytes_and_drops_after_close(echo):
    """send() takes str/bytes only; after close it drops the message without raising."""
    ws = WebSocket(echo.url).wait_open()
    with pytest.raises(TypeError):
        ws.send(42)  # type: ignore[arg-type]
    ws.close()
    ws.wait_closed()
    ws.send("into the void")
    assert ws.messages == []


def test_wait_for_times_out_with_what_did_arrive(echo):
    """A timeout explains what the client saw instead of hanging."""
    ws = WebSocket(echo.url).wait_open()
    ws.send("apple")
    ws.wait_for(lambda m: m == "apple")
    with pytest.raises(TimeoutError, match="apple"):
        ws.wait_for(lambda m: m == "banana", timeout=0.1)
    ws.close()


def test_a_raising_handler_is_logged_and_the_connection_lives_on(echo):
    """An exception in onmessage is logged; later messages still arrive."""

    def bad(event):
        raise RuntimeError("handler bug")

    ws = WebSocket(echo.url, onmessage=bad).wait_open()
    ws.send("one")
    ws.send("two")
    ws.wait_for(lambda m: m == "two")
    assert any("handler bug" in line for line in labkit.logs.recent("labkit.client"))
    assert ws.readyState == WebSocket.OPEN
    ws.close()


def test_async_forms_work_from_an_async_caller(echo):
    """wait_open_async/wait_for_async/wait_closed_async await without blocking a loop."""

    async def main() -> tuple[str | bytes, CloseEvent]:
        ws = await WebSocket(echo.url).wait_open_async()
        ws.send("async")
        got = await ws.wait_for_async(lambda m: m == "async")
        ws.close()
        return got, await ws.wait_closed_async()

    got, closed = asyncio.run(main())
    assert got == "async" and closed.code == 1000


def test_close_while_connecting_fails_like_a_browser(slow_open):
    """close() before OPEN ends with error then close 1006, not a clean open-then-close."""
    server, gate = slow_open
    events: list[object] = []
    ws = WebSocket(server.url, onerror=events.append, onclose=events.append)
    ws.close()
    assert ws.readyState == WebSocket.CLOSING
    gate.set()
    assert ws.wait_closed() == CloseEvent(1006, "", False)
    assert [e.type for e in events] == ["error", "close"]


def test_blocking_waits_inside_a_handler_raise_instead_of_freezing(echo):
    """wait_for() in a callback would block the loop delivering it: it raises at once."""
    errors: list[Exception] = []

    def impatient(event):
        try:
            ws.wait_for(lambda m: m == "never")
        except Exception as exc:
            errors.append(exc)

    ws = WebSocket(echo.url)
    ws.onopen = impatient
    ws.wait_open()
    ws.send("sync")
    ws.wait_for(lambda m: m == "sync")  # onopen ran before this message arrived
    assert len(errors) == 1 and "handler" in str(errors[0])
    ws.close()


def test_the_browser_errors_speak_chinese(echo, chinese):
    """InvalidAccessError, InvalidStateError and a failed wait_open, in Chinese."""
    ws = WebSocket(echo.url).wait_open()
    with pytest.raises(InvalidAccessError, match="客户端不能使用关闭码 1001"):
        ws.close(1001)
    with pytest.raises(InvalidAccessError, match="123 字节"):
        ws.close(1000, "é" * 62)
    ws.close()
    ws.wait_closed()
    gate = threading.Event()
    app = labkit.echo_app("client-zh-slow")

    @app.before_handshake
    async def slow(ctx):
        await asyncio.to_thread(gate.wait, 10)

    server = labkit.start(app, name="client-zh-slow")
    try:
        connecting = WebSocket(server.url)
        with pytest.raises(InvalidStateError, match="仍处于 CONNECTING 状态"):
            connecting.send("too early")
        with pytest.raises(TimeoutError, match=r"打开已超过 0\.01 秒"):
            connecting.wait_open(timeout=0.01)
        gate.set()
        connecting.wait_open().close()
        connecting.wait_closed()
    finally:
        gate.set()
        server.stop()
    with pytest.raises(ConnectionError, match=f"无法连接到 {re.escape(server.url)}："):
        WebSocket(server.url).wait_open()
