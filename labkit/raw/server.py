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

from labkit.protocol.policy import OriginRule, RequestPolicy
from labkit.raw.connection import OPEN_POLICY, RawConnection
from labkit.streams import StreamListener

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
        *,
        origins: OriginRule = None,
        check_host: bool = False,
    ) -> None:
        self.max_size = max_size
        self.handshake_timeout = handshake_timeout
        self.close_timeout = close_timeout
        self.origins = origins
        self.check_host = check_host

    async def open(self, host: str, port: int) -> RawListener:
        """Bind ``host:port`` (0 picks a free port) and serve on the running loop.

        Raises:
            OSError: the address cannot be bound (e.g. the port is in use).
        """
        policy = RequestPolicy.for_server(host, self.origins, check_host=self.check_host)
        listener = RawListener(self, policy)
        await listener.listen(host, port)
        return listener

    def __repr__(self) -> str:
        return (
            f"RawEchoServer(max_size={self.max_size}, handshake_timeout="
            f"{self.handshake_timeout}, close_timeout={self.close_timeout})"
        )


class RawListener(StreamListener[RawConnection]):
    """A listening raw echo server and its open connections."""

    def __init__(self, settings: RawEchoServer, policy: RequestPolicy = OPEN_POLICY) -> None:
        super().__init__()
        self.settings = settings
        self.policy = policy

    @property
    def connections(self) -> set[RawConnection]:
        """The connections being served now."""
        return self.sessions

    def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> RawConnection:
        return RawConnection(
            reader,
            writer,
            max_size=self.settings.max_size,
            handshake_timeout=self.settings.handshake_timeout,
            close_timeout=self.settings.close_timeout,
            policy=self.policy,
        )

    async def serve(self, session: RawConnection) -> None:
        await session.run()

    def stop(self, session: RawConnection) -> None:
        """Close 1001 (going away); a handshake still under way is refused with 503."""
        session.going_away()
