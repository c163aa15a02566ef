"""Tests for labkit.streams: the listener the raw server and the inspector share."""

from __future__ import annotations

import asyncio

from labkit.streams import StreamListener


class LineEcho(StreamListener[asyncio.StreamWriter]):
    """Echo lines until stopped; stop() sends "bye" and closes."""

    def __init__(self) -> None:
        super().__init__()
        self.served = asyncio.Event()

    def session(self, reader, writer):
        writer.reader = reader  # type: ignore[attr-defined]
        return writer

    async def serve(self, session):
        self.served.set()
        while line := await session.reader.readline():
            session.write(line)
        session.close()

    def stop(self, session):
        session.write(b"bye\n")
        session.close()


def test_close_stops_every_session_and_wait_closed_waits_for_them():
    """Sessions are served, told to stop on close(), and wait_closed() outlives them all."""

    async def scenario() -> tuple[bytes, bytes, int]:
        listener = LineEcho()
        await listener.listen("127.0.0.1", 0)
        port = next(iter(listener.sockets)).getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello\n")
        echoed = await reader.readline()
        assert len(listener.sessions) == 1
        listener.close()
        listener.close()  # idempotent
        goodbye = await reader.readline()
        await listener.wait_closed()
        writer.close()
        return echoed, goodbye, len(listener.sessions)

    echoed, goodbye, left = asyncio.run(scenario())
    assert (echoed, goodbye, left) == (b"hello\n", b"bye\n", 0)


def test_a_closed_listener_has_no_sockets():
    """Once closed and waited for, the listener reports no listening socket."""

    async def scenario() -> list:
        listener = LineEcho()
        await listener.listen("127.0.0.1", 0)
        assert list(listener.sockets)
        listener.close()
        await listener.wait_closed()
        return list(listener.sockets)

    assert asyncio.run(scenario()) == []
