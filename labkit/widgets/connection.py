"""A panel's connection: one WebSocket at a time, that follows its server when it goes away.

:class:`Connection` owns the socket's life for a :class:`~labkit.widgets.ChatPanel`:
connect, disconnect, reconnect after a close it did not ask for (with the
backoff and wording of :mod:`labkit.widgets.reconnect`), and retire for good
when a newer panel takes over. The panel hears about it through callbacks and
keeps everything that is about chatting.

Calls come from cells (the kernel's main thread) and from the socket's events
(the kit's loop thread), so the bookkeeping sits behind one lock; a scheduled
retry carries the *generation* it was made in, and does nothing once
``connect``, ``disconnect`` or ``retire`` started a new one.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, Literal

from ..client import CloseEvent, MessageEvent, ReadyState, WebSocket
from ..i18n import _
from . import reconnect

__all__ = ["Connection", "ready_state"]

_LIVE = (WebSocket.CONNECTING, WebSocket.OPEN)

#: What the connection is meant to be: kept open, closed by the user, or retired.
Intent = Literal["open", "closed", "retired"]
#: A line for the panel's log: its kind ("system" or "error") and its text.
Note = tuple[str, str]


def ready_state(state: ReadyState | str) -> ReadyState:
    """A :class:`~labkit.client.ReadyState` from itself or its name (``"OPEN"``).

    Raises:
        ValueError: any other name (``"open"``), naming the four there are.
    """
    if isinstance(state, str):
        if state not in ReadyState.__members__:
            names = ", ".join(ReadyState.__members__)
            line = _("state must be a ReadyState or one of {names}, not {state!r}")
            raise ValueError(line.format(names=names, state=state))
        return ReadyState[state]
    return ReadyState(state)


class Connection:
    """The socket of one panel.

    Args:
        url: where to connect.
        on_state: called with each new state, a short status ("reconnecting (1/4)…") and
            the line to log with it, if any: ``("system" | "error", text)``. The two
            belong together, so that a wait for the line also sees the state.
        on_open: called with the socket once it is open; ``True`` for a reconnection.
        on_message: called with the socket and each :class:`~labkit.client.MessageEvent`.
        retired_note: the line logged once the connection is retired.
    """

    def __init__(
        self,
        url: str,
        *,
        on_state: Callable[[ReadyState, str, Note | None], None],
        on_open: Callable[[WebSocket, bool], None],
        on_message: Callable[[WebSocket, MessageEvent], None],
        retired_note: str,
    ) -> None:
        self.url = url
        self._on_state = on_state
        self._on_open = on_open
        self._on_message = on_message
        self._retired_note = retired_note
        self._lock = threading.RLock()
        self.ws: WebSocket | None = None
        self.intent: Intent = "closed"
        self._generation = 0
        self._attempt = 0  # the reconnection attempt under way (0: none)
        self._opened = False  # did the current socket open

    @property
    def live(self) -> bool:
        """Is a socket connecting or open?"""
        ws = self.ws
        return ws is not None and ws.readyState in _LIVE

    def connect(self) -> bool:
        """Open a socket unless one is live; ``False`` once retired."""
        with self._lock:
            if self.intent == "retired":
                return False
            if self.live:
                return True
            self.intent = "open"
            self._generation += 1
            self._attempt = 0
            self._open_socket()
        return True

    def disconnect(self) -> None:
        """Close the socket (1000), or stop a reconnection under way."""
        with self._lock:
            if self.intent == "retired":
                return
            retrying = self.intent == "open" and self._attempt > 0
            self.intent = "closed"
            self._generation += 1
            self._attempt = 0
            ws = self.ws
        if ws is not None and ws.readyState in _LIVE:
            self._on_state(ReadyState.CLOSING, "", None)
            ws.close()
        elif retrying:
            self._on_state(ReadyState.CLOSED, "", ("system", _("stopped reconnecting")))

    def retire(self, reason: str) -> WebSocket | None:
        """Close for good (a newer panel took over); return the socket still closing."""
        with self._lock:
            self.intent = "retired"
            self._generation += 1
            self._attempt = 0
            ws = self.ws
        if ws is not None and ws.readyState in _LIVE:
            self._on_state(ReadyState.CLOSING, self._status(), None)
            ws.close(1000, reason)  # the reason goes on the wire: as given
            return ws
        self._on_state(ReadyState.CLOSED, self._status(), ("system", self._retired_note))
        return None

    # --- inside ------------------------------------------------------------------

    def _open_socket(self) -> None:
        """A new socket (called with the lock held)."""
        self._opened = False
        self._on_state(ReadyState.CONNECTING, self._status(), None)
        # Handlers are set after self.ws exists: events that come first are
        # kept by the client and delivered, in order, as each handler is set.
        ws = self.ws = WebSocket(self.url)
        # Each handler answers only while its socket is the current one: an old
        # socket still closing must not mark a new connection CLOSED.
        ws.onopen = self._current(ws, self._open_event)
        ws.onmessage = self._current(ws, self._on_message)
        ws.onclose = self._current(ws, self._closed)

    def _current(self, ws: WebSocket, handler: Callable[[WebSocket, Any], None]) -> Any:
        def call(event: Any) -> None:
            if ws is self.ws:
                handler(ws, event)

        return call

    def _status(self) -> str:
        if self.intent == "retired":
            return _("replaced")
        if self._attempt:
            line = _("reconnecting ({attempt}/{tries})…")
            return line.format(attempt=self._attempt, tries=len(reconnect.BACKOFF))
        return ""

    def _open_event(self, ws: WebSocket, _event: Any) -> None:
        with self._lock:
            self._opened = True
            attempt, self._attempt = self._attempt, 0
        self._on_open(ws, bool(attempt))

    def _closed(self, ws: WebSocket, event: CloseEvent) -> None:
        with self._lock:
            intent, opened, attempt = self.intent, self._opened, self._attempt
            follow = opened and event.code in reconnect.FOLLOW_CODES
            if intent == "open" and not follow and not attempt:
                self.intent = "closed"  # the server meant it, or the first connection failed
        code, reason = event.code, event.reason
        if intent == "retired":
            self._end(("system", self._retired_note))
        elif intent == "closed":
            self._end(("system", reconnect.disconnected(code, reason, by_user=True)))
        elif follow:
            note = ("system", reconnect.disconnected(code, reason, by_user=False))
            self._retry_later(1, ws.error, note)
        elif attempt:
            self._retry_later(attempt + 1, ws.error, None)
        elif not opened:
            self._end(("error", reconnect.connect_failed(self.url, ws.error)))
        else:
            self._end(("system", reconnect.disconnected(code, reason, by_user=False)))

    def _end(self, note: Note) -> None:
        self._on_state(ReadyState.CLOSED, self._status(), note)

    def _retry_later(self, attempt: int, error: str | None, note: Note | None) -> None:
        """Schedule reconnection attempt ``attempt``, or give up after the last one."""
        tries = len(reconnect.BACKOFF)
        with self._lock:
            if attempt > tries:
                self.intent, self._attempt = "closed", 0
            else:
                self._attempt = attempt
            generation = self._generation
        if attempt > tries:
            note = ("system", reconnect.gave_up(self.url, error, tries))
        else:
            delay = reconnect.BACKOFF[attempt - 1]
            asyncio.get_running_loop().call_later(delay, self._retry, generation)
        self._on_state(ReadyState.CLOSED, self._status(), note)

    def _retry(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation and self.intent == "open":
                self._open_socket()
