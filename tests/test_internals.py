"""Tests for labkit.internals: the websockets internals the fast path relies on are there.

When a websockets release renames or drops one of them, the first test fails
and names the attribute, so the one module to mend is obvious.
"""

from __future__ import annotations

import logging
import threading

import pytest
import websockets
from websockets.sync.client import connect

import labkit
from labkit import App, Context
from labkit.internals import (
    CONNECTION_ATTRIBUTES,
    FastConnection,
    missing_attributes,
    only_handler,
)


def assert_internals_present(connection: object, logger: logging.Logger) -> None:
    """Fail with one line per missing attribute, naming it and websockets' version."""
    missing = missing_attributes(connection, logger)
    assert not missing, (
        "labkit.internals relies on attributes this websockets release lacks:\n  "
        + "\n  ".join(missing)
        + "\nMend labkit/internals.py (its header lists each one) for this release."
    )


@pytest.fixture
def live_connection():
    """The server side of one open connection to a real App, held open by its middleware."""
    app = App("internals")
    opened = threading.Event()
    release = threading.Event()

    @app.use
    async def hold(ctx: Context, next) -> None:
        opened.set()
        async for _ in ctx.websocket:
            break
        release.set()

    handle = labkit.start(app, name="test-internals")
    try:
        with connect(handle.url, open_timeout=10) as client:
            assert opened.wait(10)
            (ctx,) = app.connections
            yield ctx.websocket, app.logger
            client.send("done")
            assert release.wait(10)
    finally:
        handle.stop()


def test_every_private_attribute_is_there(live_connection) -> None:
    """The App's connection is a FastConnection with every attribute the header lists."""
    connection, logger = live_connection
    assert isinstance(connection, FastConnection)
    assert_internals_present(connection, logger)


def test_a_missing_attribute_fails_with_its_name_and_the_version(live_connection) -> None:
    """Deleting one attribute (as a new release might) makes the check name it."""
    connection, logger = live_connection
    saved = connection.send_in_progress
    del connection.send_in_progress
    try:
        with pytest.raises(AssertionError) as failed:
            assert_internals_present(connection, logger)
    finally:
        connection.send_in_progress = saved
    message = str(failed.value)
    assert "'send_in_progress'" in message
    assert f"websockets {websockets.version.version}" in message
    assert "labkit/internals.py" in message


def test_every_listed_attribute_is_checked() -> None:
    """An object with none of them is reported once per listed attribute."""
    assert len(missing_attributes(object())) == len(CONNECTION_ATTRIBUTES)


def test_only_handler_walks_the_chain_like_logging() -> None:
    """The book is the only handler unless another one, or a filter, would see the line."""
    parent = logging.getLogger("test-internals-parent")
    child = parent.getChild("child")
    parent.propagate = False  # away from the root, where pytest keeps its own handlers
    book = logging.Handler(level=logging.INFO)
    parent.addHandler(book)
    try:
        assert only_handler(child, logging.INFO, book)
        assert not only_handler(child, logging.DEBUG, book)  # below the book's level
        loud = logging.Handler(level=logging.ERROR)
        child.addHandler(loud)
        assert only_handler(child, logging.INFO, book)  # loud takes errors only
        assert not only_handler(child, logging.ERROR, book)
        child.removeHandler(loud)
        child.propagate = False
        assert not only_handler(child, logging.INFO, book)  # the book is never reached
    finally:
        child.propagate = parent.propagate = True
        parent.removeHandler(book)


class _Lines(logging.Handler):
    """Keeps every line it is given, formatted, and says when the awaited one arrives."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.awaited = ""
        self.arrived = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if record.getMessage() == self.awaited:
            self.arrived.set()


@pytest.mark.usefixtures("chinese")
def test_a_client_that_never_hangs_up_is_dropped_with_a_chinese_line() -> None:
    """A client keeping TCP open after the close frames is cut at close_timeout; the log says so."""
    import socket

    from labkit.protocol import Frame, IncompleteFrame, build_request, decode_frame, find_head_end

    app = App("internals-zh", close_timeout=0.2)

    @app.use
    async def echo(ctx: Context, next) -> None:
        async for message in ctx.websocket:
            await ctx.websocket.send(message)

    wire = app.logger.getChild("wire")
    lines = _Lines()
    lines.awaited = "在 close_timeout 内没有等到客户端关闭 TCP；断开连接"
    wire.addHandler(lines)
    level = wire.level
    wire.setLevel(logging.INFO)  # the wire logger starts at WARNING
    handle = labkit.start(app, name="test-internals-zh")
    try:
        with socket.create_connection(("127.0.0.1", handle.port), timeout=10) as sock:
            sock.sendall(build_request(f"127.0.0.1:{handle.port}", "/"))
            buffer = b""
            while (end := find_head_end(buffer)) is None:
                buffer += sock.recv(4096)
            assert buffer.startswith(b"HTTP/1.1 101")
            sock.sendall(Frame.close(1000).serialize(mask=True))
            buffer = buffer[end:]
            while True:  # the server's close frame; then this client says nothing more
                try:
                    frame, _ = decode_frame(buffer)
                    break
                except IncompleteFrame:
                    buffer += sock.recv(4096)
            assert frame.opcode.name == "CLOSE"
            # The server half-closes and waits for this client's FIN, which never
            # comes while the socket stays open: at close_timeout it drops TCP.
            assert lines.arrived.wait(10), lines.lines
    finally:
        handle.stop()
        wire.removeHandler(lines)
        wire.setLevel(level)
