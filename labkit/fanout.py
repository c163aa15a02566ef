"""Sending one message to many clients: frame once, write once per client per turn.

RFC 6455, section 5.2: a server's frames are unmasked, so every receiver of
a broadcast gets the same bytes, and the frame is built once. Frames queued
for one client during one turn of the event loop leave in a single write at
the end of the turn: in a busy room (a join storm, a fast sender) that turns
hundreds of system calls per client into one. Anything else the connection
sends flushes its queue first, so the order of frames is kept
(:class:`~labkit.internals.FastConnection`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol, cast

from websockets.frames import Frame, Opcode

from .i18n import _
from .internals import FastConnection

__all__ = ["Fanout", "Receiver"]


class Receiver(Protocol):
    """What a broadcast needs of a connection's context (an App's ``ctx`` is one)."""

    @property
    def websocket(self) -> object: ...

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]: ...


class Fanout:
    """The broadcast queue of one app on its event loop.

    Args:
        max_buffer: bytes that may wait unsent for one client before a
            broadcast disconnects it as too slow.
    """

    def __init__(self, max_buffer: int) -> None:
        self.max_buffer = max_buffer
        self._dirty: list[FastConnection] = []
        self._flush_pending = False

    def send(
        self,
        loop: asyncio.AbstractEventLoop,
        message: str | bytes,
        targets: Iterable[Receiver],
        exclude: Receiver | Iterable[Receiver] | None = None,
    ) -> int:
        """Queue ``message`` for every target but ``exclude``; return how many got it.

        Runs on ``loop``'s thread. A receiver with more than ``max_buffer``
        bytes still unsent is too slow: it is disconnected rather than let the
        server's memory grow.
        """
        one: Receiver | None = None
        skip: frozenset[Receiver] = frozenset()
        if isinstance(exclude, Iterable):
            skip = frozenset(exclude)
        elif exclude is not None:
            one = exclude
        opcode = Opcode.TEXT if isinstance(message, str) else Opcode.BINARY
        data = message.encode() if isinstance(message, str) else bytes(message)
        wire = Frame(opcode, data).serialize(mask=False)
        limit = self.max_buffer
        dirty = self._dirty
        sent = 0
        for ctx in targets:
            if ctx is one or (skip and ctx in skip):
                continue
            conn = cast(FastConnection, ctx.websocket)
            if not conn.takes_broadcast():
                continue
            if conn.unsent > limit:
                ctx.log.warning(
                    _("disconnecting a slow reader: over %d bytes waiting to be sent"), limit
                )
                conn.abort()
                continue
            if conn.compressed:  # compression negotiated: frame per connection
                conn.send_now(opcode, data)
            elif conn.cork(wire):
                dirty.append(conn)
            sent += 1
        if dirty and not self._flush_pending:
            self._flush_pending = True
            loop.call_soon(self._uncork_all)
        return sent

    def _uncork_all(self) -> None:
        """End of a loop turn: every client's queued broadcast frames, one write each."""
        dirty, self._dirty = self._dirty, []
        self._flush_pending = False
        for conn in dirty:
            conn.uncork()
