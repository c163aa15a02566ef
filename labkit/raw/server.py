"""A WebSocket echo server written from scratch on :mod:`labkit.protocol`.

It uses nothing but :func:`asyncio.start_server` and the Sans-I/O code, so the
whole of RFC 6455 that an echo server needs is visible in two short modules:
this one (accepting and shutting down) and :mod:`labkit.raw.connection` (one
client). Compare with the original Koa2 tutorial's middleware::

    app.ws.use((ctx) => {                       # RawEchoServer + RawConnection
      console.log('WebSocket 连接已建立')        # "connection established"
      ctx.websocket.on('message', (msg) => {
        console.log('接收到消息:', msg)          # "received message: ..."
        ctx.websocket.send(msg)                  # echo
      })
    })

Run it in the background with ``labkit.start(RawEchoServer())``, or await
:meth:`RawEchoServer.open` on a running event loop.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable

from labkit.raw.connection import RawConnection

__all__ = ["RawEchoServer", "RawListener"]


class RawEchoServer:
    """Settings for the from-scratch echo server; :meth:`open` starts one.

    Args:
        max_size: largest message accepted, in bytes; a larger one fails the
            connection with close code 1009 (RFC 6455, section 7.4.1).
        handshake_timeout: seconds a client has to send its whole handshake.
        close_timeout: seconds to wait for a client's close frame, and for the
            client to hang up after the closing handshake.
    """

    name = "raw-echo"

    def __init__(
        self,
        max_size: int = 2**20,
        handshake_timeout: float = 10.0,
        close_timeout: float = 5.0,
    ) -> None:
        self.max_size = max_size
        self.handshake_timeout = handshake_timeout
        self.close_timeout = close_timeout

    async def open(self, host: str, port: int) -> RawListener:
        """Bind ``host:port`` (0 picks a free port) and serve on the running loop.

        Raises:
            OSError: the address cannot be bound (e.g. the port is in use).
        """
        listener = RawListener(self)
        listener.server = await asyncio.start_server(listener.handle, host, port)
        return listener

    def __repr__(self) -> str:
        return (
            f"RawEchoServer(max_size={self.max_size}, handshake_timeout="
            f"{self.handshake_timeout}, close_timeout={self.close_timeout})"
        )


class RawListener:
    """A listening raw echo server and its open connections.

    Must be used from the event loop it was opened on.
    """

    def __init__(self, settings: RawEchoServer) -> None:
        self.settings = settings
        self.server: asyncio.Server | None = None
        self.connections: set[RawConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def sockets(self) -> Iterable[socket.socket]:
        """The bound listening sockets (empty once closed)."""
        return self.server.sockets if self.server is not None else ()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one accepted TCP connection (the ``start_server`` callback)."""
        task = asyncio.current_task()
        assert task is not None  # start_server always runs us in a task
        connection = RawConnection(
            reader,
            writer,
            max_size=self.settings.max_size,
            handshake_timeout=self.settings.handshake_timeout,
            close_timeout=self.settings.close_timeout,
        )
        self._tasks.add(task)
        self.connections.add(connection)
        if self._closing:
            connection.going_away()  # accepted just before close(): refuse politely
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)
            self._tasks.discard(task)

    def close(self) -> None:
        """Stop accepting and send close 1001 (going away) to every client; idempotent."""
        if self._closing:
            return
        self._closing = True
        if self.server is not None:
            self.server.close()
        for connection in list(self.connections):
            connection.going_away()

    async def wait_closed(self) -> None:
        """Return once the listening socket and every connection are closed."""
        if self.server is not None:
            await self.server.wait_closed()
        while self._tasks:
            await asyncio.wait(set(self._tasks))
