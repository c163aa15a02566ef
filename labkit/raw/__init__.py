"""A WebSocket echo server from scratch: asyncio streams plus :mod:`labkit.protocol`.

No WebSocket library is involved, so every byte the server reads or writes is
decided by code in this kit (RFC 6455, sections 4, 5 and 7).
"""

from labkit.raw.connection import ConnectionState, RawConnection
from labkit.raw.server import RawEchoServer, RawListener

__all__ = ["ConnectionState", "RawConnection", "RawEchoServer", "RawListener"]
