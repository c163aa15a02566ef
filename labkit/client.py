"""A WebSocket client with the browser's API, for notebook cells.

The original tutorial's browser client reads::

    const ws = new WebSocket('ws://localhost:3000');
    ws.onopen = () => ws.send('Hello');
    ws.onmessage = (event) => console.log(event.data);

and here::

    ws = labkit.WebSocket("ws://127.0.0.1:8765/")
    ws.onopen = lambda event: ws.send("Hello")
    ws.onmessage = lambda event: print(event.data)

The connection runs on the kit's event loop (see :mod:`labkit.runner`), so a
plain cell never needs ``await``. ``readyState`` follows the browser's four
states (WHATWG WebSockets standard; RFC 6455, section 4.1 and 7):
``CONNECTING`` (0), ``OPEN`` (1), ``CLOSING`` (2), ``CLOSED`` (3).

One difference from a browser, on purpose: a browser runs your script to its
end before it delivers any event, so handlers set on the next line never miss
one. A notebook runs one line at a time while the connection is already
going, so events that arrive while no handler is set are kept and delivered,
in order, as soon as you set one.

Callbacks run on the kit's thread. For assertions and scripts there are
blocking helpers with timeouts: :meth:`WebSocket.wait_open`,
:meth:`WebSocket.wait_for` and :meth:`WebSocket.wait_closed`, and ``*_async``
forms of each for ``await`` in an async cell.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .errors import InvalidAccessError, InvalidStateError
from .i18n import N_, _
from .journal import Journal
from .runner import kit_loop, refuse_on_kit_loop

__all__ = ["CloseEvent", "Event", "MessageEvent", "ReadyState", "WebSocket"]

log = logging.getLogger("labkit.client")

#: Events kept per type while no handler is set.
MAX_PENDING = 10_000
#: Messages remembered in :attr:`WebSocket.messages`.
MAX_REMEMBERED = 10_000

#: Why each blocking wait is refused on the kit's own loop, by what it waits for.
_REFUSED = {
    "open": N_(
        "waiting to open inside a WebSocket handler would stop the very loop that "
        "delivers it; react in the handler instead (or use the *_async form elsewhere)"
    ),
    "close": N_(
        "waiting to close inside a WebSocket handler would stop the very loop that "
        "delivers it; react in the handler instead (or use the *_async form elsewhere)"
    ),
    "message": N_(
        "waiting for a matching message inside a WebSocket handler would stop the very loop "
        "that delivers it; react in the handler instead (or use the *_async form elsewhere)"
    ),
}
#: The TimeoutError of wait_open and wait_closed.
_TIMED_OUT = {
    "open": N_("waited {timeout} s to open on {url} (readyState {state})"),
    "close": N_("waited {timeout} s to close on {url} (readyState {state})"),
}


class ReadyState(IntEnum):
    """The four states of a connection, numbered as in browsers."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


@dataclass(frozen=True)
class Event:
    """A plain event (``open``, ``error``); ``message`` explains an error."""

    type: str
    message: str = ""


@dataclass(frozen=True)
class MessageEvent:
    """A message arrived: ``data`` is ``str`` for text frames, ``bytes`` for binary."""

    data: str | bytes
    type: str = "message"


@dataclass(frozen=True)
class CloseEvent:
    """The connection closed, with the close code and reason (RFC 6455, section 7.1.5).

    ``wasClean`` is true when both sides exchanged close frames; 1006 means
    the connection dropped without one.
    """

    code: int
    reason: str
    wasClean: bool
    type: str = "close"


Handler = Callable[[Any], Any]


def _log_crash(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error(_("WebSocket client task failed"), exc_info=future.exception())


class WebSocket:
    """Open a WebSocket connection to ``url`` in the background.

    Args:
        url: ``ws://host:port/path``.
        origin: send this ``Origin`` header, like a browser page would.
        open_timeout: seconds to wait for the opening handshake.
        max_size: the largest incoming message, in bytes.
        onopen, onmessage, onerror, onclose: handlers, also settable later.
    """

    CONNECTING = ReadyState.CONNECTING
    OPEN = ReadyState.OPEN
    CLOSING = ReadyState.CLOSING
    CLOSED = ReadyState.CLOSED

    def __init__(
        self,
        url: str,
        *,
        origin: str | None = None,
        open_timeout: float = 10.0,
        max_size: int | None = 1 << 20,
        onopen: Handler | None = None,
        onmessage: Handler | None = None,
        onerror: Handler | None = None,
        onclose: Handler | None = None,
    ) -> None:
        self.url = url
        self._origin = origin
        self._open_timeout = open_timeout
        self._max_size = max_size
        self._state = ReadyState.CONNECTING
        self._handlers: dict[str, Handler | None] = {
            "open": onopen,
            "message": onmessage,
            "error": onerror,
            "close": onclose,
        }
        self._pending: dict[str, deque[Any]] = {
            kind: deque(maxlen=MAX_PENDING) for kind in self._handlers
        }
        #: The messages received (the last MAX_REMEMBERED), and the condition
        #: every blocking wait of this client waits on.
        self._messages: Journal[str | bytes] = Journal(MAX_REMEMBERED)
        self._changed = self._messages.changed
        self._close_event: CloseEvent | None = None
        self._error: str | None = None
        self._conn: ClientConnection | None = None
        self._outbox: asyncio.Queue[tuple[str | bytes, int] | None] | None = None
        self._queued = 0
        self._closing: tuple[int, str] | None = None
        self._close_task: asyncio.Future[None] | None = None
        self._loop = kit_loop()
        self._task_future = asyncio.run_coroutine_threadsafe(self._run(), self._loop)
        self._task_future.add_done_callback(_log_crash)

    # --- the browser's face ---------------------------------------------------

    @property
    def readyState(self) -> ReadyState:
        """The connection's state: 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED."""
        return self._state

    @property
    def bufferedAmount(self) -> int:
        """Bytes passed to :meth:`send` that have not reached the network yet."""
        conn = self._conn
        in_socket = 0
        if conn is not None and conn.transport is not None and not conn.transport.is_closing():
            in_socket = conn.transport.get_write_buffer_size()
        return self._queued + in_socket

    def _handler_property(kind: str) -> property:  # type: ignore[misc]
        def get(self: WebSocket) -> Handler | None:
            return self._handlers[kind]

        def set_(self: WebSocket, handler: Handler | None) -> None:
            self._handlers[kind] = handler
            if handler is not None:
                # Checking for pending events here would race the kit's thread;
                # the flush runs there, after any event dispatched meanwhile.
                self._loop.call_soon_threadsafe(self._flush, kind)

        return property(get, set_, doc=f"Called with each {kind!r} event.")

    onopen = _handler_property("open")
    onmessage = _handler_property("message")
    onerror = _handler_property("error")
    onclose = _handler_property("close")
    del _handler_property

    def send(self, data: str | bytes) -> None:
        """Queue ``data`` for sending: ``str`` as a text frame, ``bytes`` as binary.

        Raises:
            InvalidStateError: while still ``CONNECTING`` (as browsers do).
            TypeError: for anything that is not ``str`` or bytes.
        """
        if not isinstance(data, str | bytes | bytearray | memoryview):
            raise TypeError(
                _("send() takes str or bytes, not {type}").format(type=type(data).__name__)
            )
        if isinstance(data, bytearray | memoryview):
            data = bytes(data)
        size = len(data.encode()) if isinstance(data, str) else len(data)
        if self._state is ReadyState.CONNECTING:
            raise InvalidStateError(
                _(
                    "Failed to execute 'send' on 'WebSocket': Still in CONNECTING state. "
                    "Wait for onopen (or call ws.wait_open()) first."
                )
            )
        if self._state is not ReadyState.OPEN:
            log.warning(_("WebSocket is already in CLOSING or CLOSED state; message dropped"))
            return
        with self._changed:
            self._queued += size
        self._loop.call_soon_threadsafe(self._enqueue, data, size)

    def close(self, code: int | None = None, reason: str = "") -> None:
        """Start the closing handshake (RFC 6455, section 7.1.2).

        Raises:
            InvalidAccessError: ``code`` is not 1000 or 3000-4999, or
                ``reason`` is over 123 bytes of UTF-8, as in browsers.
        """
        if code is not None and code != 1000 and not 3000 <= code <= 4999:
            raise InvalidAccessError(
                _("close code {code} is not allowed from a client: use 1000 or 3000-4999").format(
                    code=code
                )
            )
        if len(reason.encode()) > 123:
            raise InvalidAccessError(_("the close reason must be at most 123 bytes of UTF-8"))
        with self._changed:
            if self._state in (ReadyState.CLOSING, ReadyState.CLOSED):
                return
            self._closing = (1000 if code is None else code, reason)
            self._state = ReadyState.CLOSING
            self._changed.notify_all()
        self._loop.call_soon_threadsafe(self._begin_close)

    # --- helpers for cells and tests -------------------------------------------

    @property
    def messages(self) -> list[str | bytes]:
        """Every message received so far (the last 10 000), oldest first."""
        with self._changed:
            return list(self._messages)

    @property
    def error(self) -> str | None:
        """Why the connection failed or dropped, when it did (browsers hide this; we tell)."""
        return self._error

    @property
    def close_event(self) -> CloseEvent | None:
        """The :class:`CloseEvent`, once the connection has closed."""
        return self._close_event

    def wait_open(self, timeout: float = 10.0) -> WebSocket:
        """Block until ``OPEN``; raise ``ConnectionError`` if it closes instead."""
        self._wait(lambda: self._state is not ReadyState.CONNECTING, timeout, "open")
        if self._state is not ReadyState.OPEN:
            if not self._error:
                raise ConnectionError(_("could not connect to {url}: closed").format(url=self.url))
            raise ConnectionError(
                _("could not connect to {url}: {error}").format(url=self.url, error=self._error)
            )
        return self

    def wait_for(
        self, predicate: Callable[[str | bytes], bool] | None = None, timeout: float = 10.0
    ) -> str | bytes:
        """Block until a received message satisfies ``predicate``; return it.

        Messages that arrived earlier count too. With no predicate, the
        first message is returned.
        """
        refuse_on_kit_loop(_(_REFUSED["message"]))
        return self._messages.wait_for(
            predicate or (lambda _m: True),
            timeout,
            failure=lambda seen: _(
                "waited {timeout} s for a matching message on {url} "
                "(readyState {state}); received so far: {seen!r}"
            ).format(timeout=timeout, url=self.url, state=self._state.name, seen=seen),
        )

    def wait_closed(self, timeout: float = 10.0) -> CloseEvent:
        """Block until ``CLOSED``; return the :class:`CloseEvent`."""
        self._wait(lambda: self._close_event is not None, timeout, "close")
        assert self._close_event is not None
        return self._close_event

    async def wait_open_async(self, timeout: float = 10.0) -> WebSocket:
        """``await`` form of :meth:`wait_open`."""
        return await asyncio.to_thread(self.wait_open, timeout)

    async def wait_for_async(
        self, predicate: Callable[[str | bytes], bool] | None = None, timeout: float = 10.0
    ) -> str | bytes:
        """``await`` form of :meth:`wait_for`."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    async def wait_closed_async(self, timeout: float = 10.0) -> CloseEvent:
        """``await`` form of :meth:`wait_closed`."""
        return await asyncio.to_thread(self.wait_closed, timeout)

    def __repr__(self) -> str:
        return f"<WebSocket {self.url} readyState={self._state.value} ({self._state.name})>"

    def __enter__(self) -> WebSocket:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
        if self._state is not ReadyState.CONNECTING:
            self.wait_closed()

    # --- inside: runs on the kit loop ------------------------------------------

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Block until ``ready()``; ``what`` (``"open"``, ``"close"``) names the wait."""
        refuse_on_kit_loop(_(_REFUSED[what]))
        if not self._messages.wait_until(ready, timeout):
            raise TimeoutError(
                _(_TIMED_OUT[what]).format(timeout=timeout, url=self.url, state=self._state.name)
            )

    def _set_state(self, state: ReadyState) -> None:
        with self._changed:
            self._state = state
            self._changed.notify_all()

    async def _run(self) -> None:
        self._outbox = asyncio.Queue()
        try:
            conn = await connect(
                self.url,
                origin=self._origin,  # type: ignore[arg-type]
                open_timeout=self._open_timeout,
                max_size=self._max_size,
                compression=None,
            )
        except Exception as exc:  # refused, 403, timeout, bad URL: tell the user why
            self._error = f"{type(exc).__name__}: {exc}"
            self._set_state(ReadyState.CLOSED)
            self._dispatch("error", Event("error", self._error))
            self._finish(CloseEvent(1006, "", False))
            return
        self._conn = conn
        with self._changed:
            opened = self._closing is None
            if opened:
                self._state = ReadyState.OPEN
                self._changed.notify_all()
        if opened:
            self._dispatch("open", Event("open"))
        else:
            # close() while CONNECTING: a browser fails the connection (error,
            # then close 1006, not clean) rather than open it to close it.
            conn.transport.abort()
        sender = asyncio.create_task(self._send_loop(conn))
        try:
            async for message in conn:
                # onmessage first: a cell whose wait_for() returns sees what
                # the handler did with the message.
                self._dispatch("message", MessageEvent(message))
                self._messages.append(message)
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            await conn.wait_closed()
            self._set_state(ReadyState.CLOSED)
            code = conn.close_code if conn.close_code is not None else 1006
            clean = conn.protocol.close_rcvd is not None and conn.protocol.close_sent is not None
            if not clean:
                self._error = _("connection to {url} dropped without a close frame").format(
                    url=self.url
                )
                self._dispatch("error", Event("error", self._error))
            self._finish(CloseEvent(code, conn.close_reason or "", clean))

    def _finish(self, event: CloseEvent) -> None:
        with self._changed:
            self._close_event = event
            self._queued = 0
            self._changed.notify_all()
        self._dispatch("close", event)

    def _enqueue(self, data: str | bytes, size: int) -> None:
        assert self._outbox is not None
        self._outbox.put_nowait((data, size))

    async def _send_loop(self, conn: ClientConnection) -> None:
        assert self._outbox is not None
        while True:
            item = await self._outbox.get()
            if item is None:
                return
            data, size = item
            try:
                await conn.send(data)
            finally:
                with self._changed:
                    self._queued = max(0, self._queued - size)

    def _begin_close(self) -> None:
        conn = self._conn
        if conn is None or self._closing is None:
            return  # still connecting: _run closes right after the handshake
        code, reason = self._closing
        self._close_task = asyncio.ensure_future(conn.close(code, reason))

    def _dispatch(self, kind: str, event: Any) -> None:
        handler = self._handlers[kind]
        if handler is None or self._pending[kind]:
            self._pending[kind].append(event)
            if handler is not None:
                self._flush(kind)
            return
        self._call(handler, event)

    def _flush(self, kind: str) -> None:
        while self._pending[kind]:
            handler = self._handlers[kind]
            if handler is None:
                return
            self._call(handler, self._pending[kind].popleft())

    def _call(self, handler: Handler, event: Any) -> None:
        try:
            handler(event)
        except Exception:
            log.exception(_("a WebSocket on%s handler raised"), event.type)
