"""A TCP listener for servers written on asyncio streams (the raw echo, the inspector).

Both serve each accepted connection with a *session* object and must, when
stopped, stop every session and wait for all of their tasks, so that
:meth:`~labkit.runner.ServerHandle.stop` returns only when nothing is left
(the :class:`~labkit.runner.Listening` contract). This class does that
bookkeeping once; a subclass says how to make, serve and stop a session.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Generic, TypeVar

__all__ = ["StreamListener"]

S = TypeVar("S")


class StreamListener(Generic[S]):
    """Accept TCP connections and serve each with a session.

    Must be used from the event loop it was opened on.

    Attributes:
        server: the asyncio server, once :meth:`listen` has bound it.
        sessions: the sessions being served now.
    """

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.sessions: set[S] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    # --- what a subclass provides --------------------------------------------

    def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> S:
        """Make the session for one accepted connection."""
        raise NotImplementedError

    async def serve(self, session: S) -> None:
        """Serve ``session`` until it ends."""
        raise NotImplementedError

    def stop(self, session: S) -> None:
        """Ask ``session`` to end because the server is closing."""
        raise NotImplementedError

    # --- the bookkeeping --------------------------------------------------------

    @property
    def closing(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closing

    @property
    def sockets(self) -> Iterable[socket.socket]:
        """The bound listening sockets (empty once closed)."""
        return self.server.sockets if self.server is not None else ()

    async def listen(self, host: str, port: int) -> None:
        """Bind ``host:port`` (0: any free port) and start accepting."""
        self.server = await asyncio.start_server(self._accept, host, port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # start_server always runs us in a task
        self._tasks.add(task)
        session = self.session(reader, writer)
        self.sessions.add(session)
        try:
            if self._closing:  # accepted just before close()
                self.stop(session)
            await self.serve(session)
        finally:
            self.sessions.discard(session)
            self._tasks.discard(task)

    def close(self) -> None:
        """Stop accepting and stop every session; idempotent."""
        if self._closing:
            return
        self._closing = True
        if self.server is not None:
            self.server.close()
        for session in list(self.sessions):
            self.stop(session)

    async def wait_closed(self) -> None:
        """Return once the listening socket is closed and every session's task ended."""
        if self.server is not None:
            await self.server.wait_closed()
        while self._tasks:
            await asyncio.wait(set(self._tasks))
