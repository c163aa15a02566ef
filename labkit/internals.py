"""Every undocumented attribute the kit relies on, in one place.

The App's fast path goes below the public API of websockets 17 (and walks
logging's handler chain). Each such attribute is named here, used only here,
and checked by ``tests/test_internals.py``, which fails with a message naming
the attribute when a release of websockets changes it. When that happens, this
module is the one to mend; the rest of the kit calls only the functions and the
connection class below.

websockets 17, ``websockets.asyncio.connection.Connection`` (the base of
``ServerConnection``):

========================  ====================================================
``send_data()``           writes the Sans-I/O protocol's output to the
                          transport; swapped per connection while broadcast
                          frames wait, so every write flushes them first
``data_received()``       asyncio's plain-protocol entry point; called from the
                          buffered-protocol one
``close_deadline``        when the closing handshake must be over (loop time),
                          set once a close frame was sent or received
``connection_lost_waiter``  a future done when TCP is closed
``send_in_progress``      not ``None`` while a fragmented message is being
                          sent (a broadcast frame must not cut into it)
``transport``             the asyncio transport (write buffer size, abort)
``protocol.extensions``   the negotiated extensions (compression)
========================  ====================================================

logging (attributes of ``Logger`` and ``Handler`` that the logging docs leave
out): ``Logger.handlers``, ``Logger.filters``, ``Logger.parent``, ``Handler.filters``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection
from websockets.frames import Opcode
from websockets.protocol import State

from .i18n import _

__all__ = [
    "CONNECTION_ATTRIBUTES",
    "LOGGING_ATTRIBUTES",
    "FastConnection",
    "missing_attributes",
    "only_handler",
]

#: The private attributes of a websockets server connection used below.
CONNECTION_ATTRIBUTES = (
    "send_data",
    "data_received",
    "close_deadline",
    "connection_lost_waiter",
    "send_in_progress",
    "transport",
    "protocol.extensions",
)
#: The attributes of logging's objects that :func:`only_handler` walks.
LOGGING_ATTRIBUTES = ("handlers", "filters", "parent", "propagate")

#: Bytes asked of the socket per read (asyncio's own default too).
READ_SIZE = 1 << 18

_send_data = ServerConnection.send_data
_data_received = ServerConnection.data_received
_read_buffers = threading.local()


def missing_attributes(connection: Any, logger: logging.Logger | None = None) -> list[str]:
    """The attributes listed above that ``connection`` (and ``logger``) lack.

    Args:
        connection: an open websockets server connection.
        logger: a logger to check logging's attributes on.

    Returns:
        A list of messages, one per missing attribute, each naming it and the
        installed websockets version; empty when everything is there.
    """
    missing = []
    for dotted in CONNECTION_ATTRIBUTES:
        target = connection
        for part in dotted.split("."):
            if not hasattr(target, part):
                missing.append(
                    f"websockets {websockets.version.version}: ServerConnection has no "
                    f"{dotted!r}, which labkit.internals relies on"
                )
                break
            target = getattr(target, part)
    if logger is not None:
        for name in LOGGING_ATTRIBUTES:
            if not hasattr(logger, name):
                missing.append(f"logging.Logger has no {name!r}, which labkit.internals walks")
    return missing


def only_handler(logger: logging.Logger, level: int, handler: logging.Handler) -> bool:
    """Is ``handler`` the only one that a ``level`` line of ``logger`` reaches, with no filter?

    Walks the chain as ``Logger.callHandlers`` does: this logger, then its
    parents while ``propagate`` is set.
    """
    if level < handler.level or handler.filters:
        return False
    found = False
    node: logging.Logger | None = logger
    while node is not None:
        if node.filters:
            return False
        for other in node.handlers:
            if other is handler:
                found = True
            elif level >= other.level:
                return False
        if not node.propagate:
            break
        node = node.parent  # type: ignore[assignment]
    return found


def _read_buffer() -> memoryview:
    """The reusable read buffer of the calling thread (one per event loop thread)."""
    try:
        return _read_buffers.view  # type: ignore[no-any-return]
    except AttributeError:
        _read_buffers.view = memoryview(bytearray(READ_SIZE))
        return _read_buffers.view  # type: ignore[no-any-return]


class FastConnection(ServerConnection, asyncio.BufferedProtocol):
    """websockets' server connection, with a deadline on every closing handshake.

    RFC 6455, section 7.1.1: once the close frames are exchanged (or the server
    failed the connection, section 7.1.7), the server waits for the client to
    close TCP. websockets 17 only enforces ``close_timeout`` when the server
    starts the close itself; after a close frame or a protocol error *from the
    client*, a client that never hangs up kept the connection, its handler and
    its chat user forever. Here the transport is aborted at the deadline.

    On asyncio's loop it reads into one reusable buffer per thread (a buffered
    protocol) instead of a fresh 256 KiB buffer per read. It queues broadcast
    frames so that each client gets one write per loop turn (see
    :class:`labkit.fanout.Fanout`).
    """

    _close_timer: asyncio.TimerHandle | None = None
    #: Broadcast frames waiting for this loop turn's single write.
    _corked: list[bytes] | None = None
    _corked_size = 0

    # --- broadcast ---------------------------------------------------------

    def takes_broadcast(self) -> bool:
        """Can a broadcast frame go to this client now?

        Only while OPEN, not in the middle of a fragmented message of its own,
        and not already cut off (an earlier broadcast may have aborted the
        transport before asyncio told websockets).
        """
        return (
            self.protocol.state is State.OPEN
            and self.send_in_progress is None
            and not self.transport.is_closing()
        )

    @property
    def compressed(self) -> bool:
        """Was an extension (permessage-deflate) negotiated? Then frames differ per client."""
        return bool(self.protocol.extensions)

    def send_now(self, opcode: Opcode, data: bytes) -> None:
        """Frame ``data`` for this connection alone and write it (compression on)."""
        if opcode == Opcode.TEXT:
            self.protocol.send_text(data)
        else:
            self.protocol.send_binary(data)
        self.send_data()

    def abort(self) -> None:
        """Drop the connection at once (a slow reader)."""
        self.transport.abort()

    def cork(self, frame: bytes) -> bool:
        """Queue a broadcast frame; return True when it is the first one this turn."""
        if self._corked is None:
            self._corked = [frame]
            self._corked_size = len(frame)
            # Until uncork(), everything websockets writes (a reply, a ping, a
            # close frame) must flush the queue first, so the order is kept.
            # websockets writes through self.send_data(), so this connection's
            # send_data is swapped for the flushing one while frames wait: the
            # common case, nothing queued, pays nothing on each send.
            self.send_data = self._flush_then_send  # type: ignore[method-assign]
            return True
        self._corked.append(frame)
        self._corked_size += len(frame)
        return False

    @property
    def unsent(self) -> int:
        """Bytes waiting for this client: corked frames plus the transport's buffer."""
        return self._corked_size + self.transport.get_write_buffer_size()

    def uncork(self) -> None:
        """Write the queued broadcast frames in one system call."""
        frames, self._corked, self._corked_size = self._corked, None, 0
        self.__dict__.pop("send_data", None)  # back to the class's send_data
        if frames and not self.transport.is_closing():
            self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))

    def _flush_then_send(self) -> None:
        self.uncork()
        _send_data(self)

    # --- reading -----------------------------------------------------------
    # asyncio.BufferedProtocol: a plain protocol gets a new bytes object of up to
    # 256 KiB per read, which glibc serves with mmap() and munmap() whenever the
    # process has not yet raised its mmap threshold. Reading into one buffer per
    # thread and copying out only what arrived costs the same whatever the
    # allocator's history. (uvloop treats any asyncio.Protocol as a plain one,
    # websockets' connection is one, so there data_received below is used.)

    _view: memoryview

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._view = _read_buffer()  # this thread's: the connection lives on its loop
        super().connection_made(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        _data_received(self, bytes(self._view[:nbytes]))
        if self._close_timer is None and self.close_deadline is not None:
            self._arm_close_timer()

    def data_received(self, data: bytes) -> None:  # loops that do not buffer (uvloop)
        _data_received(self, data)
        if self._close_timer is None and self.close_deadline is not None:
            self._arm_close_timer()

    # --- closing -----------------------------------------------------------

    def _arm_close_timer(self) -> None:
        assert self.close_deadline is not None
        self._close_timer = self.loop.call_at(self.close_deadline, self._close_overdue)

    def _close_overdue(self) -> None:
        if not self.connection_lost_waiter.done():
            self.logger.info(_("no TCP close within close_timeout; dropping the connection"))
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
        self._corked, self._corked_size = None, 0
        self.__dict__.pop("send_data", None)
        super().connection_lost(exc)
