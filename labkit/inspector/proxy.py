"""The wire inspector: a TCP tap between a client and any WebSocket server.

Clients connect to the inspector instead of the server; for every client it
opens one connection to the target and copies bytes both ways *unchanged*,
while a :class:`~labkit.inspector.decoder.WireDecoder` turns a copy of them
into records: the handshake heads (RFC 6455, section 4), then every frame in
both directions (section 5.2), masked client frames and unmasked server
frames alike, fragments one by one::

    tap = labkit.inspector.Inspector(target=server)       # or "ws://127.0.0.1:8765/"
    handle = labkit.start(tap)                            # clients use handle.url
    print(tap.text(last=20))

Forwarding comes first. A decoding problem becomes an ``"error"`` record and
the bytes still go through; a write waits for the receiver (``drain``) before
the next read, so a slow side slows the other down instead of filling memory;
one side finishing sending (EOF) is passed on as a half-close; one side
resetting resets the other.

Stopping: :meth:`InspectorListener.close` stops accepting and *aborts* every
proxied pair (a TCP reset to both the client and the server). An endpoint
would send close 1001 "going away" (section 7.4.1) but a tap speaks no
WebSocket of its own: writing a frame into a stream it only copies could cut a
peer's frame in half. Both peers see the connection drop (close code 1006 on
their side); the server behind the tap keeps running.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

from labkit.inspector.decoder import (
    KEEP_PAYLOAD,
    MAX_INSPECTED_FRAME,
    PREVIEW_CHARS,
    WireDecoder,
)
from labkit.inspector.records import ConnRecord, Direction, ErrorRecord, FrameRecord, Record
from labkit.inspector.store import KEEP_RECORDS, RecordLog
from labkit.runner import ServerHandle, refuse_on_kit_loop
from labkit.streams import StreamListener

from ..i18n import _

if TYPE_CHECKING:
    from labkit.inspector.view import InspectorView

__all__ = ["CONNECT_TIMEOUT", "Inspector", "InspectorListener", "Target"]

log = logging.getLogger("labkit.inspector")

#: Seconds to reach the target for each new client.
CONNECT_TIMEOUT = 10.0
#: Bytes read at a time from either side.
READ_SIZE = 64 * 1024
#: Seconds to wait for a pair's sockets to finish closing.
CLOSE_TIMEOUT = 5.0

Target = ServerHandle | str | tuple[str, int]
"""Where the inspector forwards to: a handle from ``labkit.start``, a
``ws://host:port/`` URL, or a ``(host, port)`` pair."""

_WILDCARDS = {"", "0.0.0.0", "::"}


def _parse_target(target: Target) -> tuple[str, int]:
    """Find the host and port to connect to.

    Raises:
        ValueError: not a ``ws://`` address (``wss://`` is encrypted: a tap
            in the middle would only see TLS records).
    """
    if isinstance(target, ServerHandle):
        host, port = target.host, target.port
    elif isinstance(target, tuple):
        host, port = target
    else:
        url = urllib.parse.urlsplit(str(target))
        if url.scheme == "wss":
            raise ValueError(
                _(
                    "the inspector reads plain ws:// traffic; wss:// is encrypted with TLS, "
                    "so the bytes in the middle cannot be decoded"
                )
            )
        if url.scheme not in ("ws", "http") or not url.hostname:
            line = _("target must look like ws://host:port/, got {target!r}")
            raise ValueError(line.format(target=target))
        host, port = url.hostname, url.port or 80
    # A server bound to every interface is reached through the loopback one.
    return ("127.0.0.1" if host in _WILDCARDS else host), int(port)


class Inspector:
    """A wire tap in front of a WebSocket server; run it with ``labkit.start``.

    Args:
        target: the server to forward to (see :data:`Target`).
        keep: how many records to keep (the oldest are dropped first).
        max_frame: largest frame decoded; a bigger one ends decoding for its
            direction (it is still forwarded).
        keep_payload: payload bytes kept in each frame record.
        preview: characters shown in each payload preview.

    Attributes:
        host: the target's host.
        port: the target's port.
        store: the :class:`~labkit.inspector.store.RecordLog` the records go to.
    """

    name = "inspector"
    logger = log

    def __init__(
        self,
        target: Target,
        *,
        keep: int = KEEP_RECORDS,
        max_frame: int = MAX_INSPECTED_FRAME,
        keep_payload: int = KEEP_PAYLOAD,
        preview: int = PREVIEW_CHARS,
    ) -> None:
        self.host, self.port = _parse_target(target)
        self.max_frame = max_frame
        self.keep_payload = keep_payload
        self.preview = preview
        self.store = RecordLog(keep)
        self._ids = itertools.count(1)

    @property
    def target(self) -> str:
        """The target as a URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    # --- reading what was seen ----------------------------------------------------

    @property
    def records(self) -> list[Record]:
        """Every record kept, oldest first."""
        return self.store.snapshot()

    @property
    def frames(self) -> list[FrameRecord]:
        """Only the frame records, oldest first."""
        return [r for r in self.store.snapshot() if isinstance(r, FrameRecord)]

    def text(self, last: int = 50) -> str:
        """The last ``last`` records as plain text, one line each."""
        lines = [r.line() for r in self.store.snapshot(last)]
        return "\n".join(lines) if lines else _("(no records yet)")

    def clear(self) -> None:
        """Forget the records seen so far (connections keep being watched)."""
        self.store.clear()

    def wait_for(self, predicate: Callable[[Record], bool], timeout: float = 10.0) -> Record:
        """Block until a record satisfies ``predicate``; return the first that does.

        Records already kept count, so call :meth:`clear` first to wait for new
        traffic only.

        Raises:
            TimeoutError: nothing matched within ``timeout`` seconds.
            KitLoopError: called on the kit's own event loop (from a middleware
                or a callback), where the traffic it waits for could never come.
        """
        refuse_on_kit_loop(
            _(
                "inspector.wait_for() inside a WebSocket handler would block the loop that "
                "delivers what it waits for"
            )
        )
        return self.store.wait_for(predicate, timeout)

    def view(self, shown: int = 200, height: str = "320px") -> InspectorView:
        """A live ipywidgets table of the last ``shown`` records."""
        from labkit.inspector.view import InspectorView

        return InspectorView(self.store, self.target, shown=shown, height=height)

    # --- the Servable protocol ----------------------------------------------------

    async def open(self, host: str, port: int) -> InspectorListener:
        """Listen on ``host:port`` (0 picks a free port) on the running loop.

        Raises:
            OSError: the address cannot be bound (e.g. the port is in use).
        """
        listener = InspectorListener(self)
        await listener.listen(host, port)
        return listener

    def _next_id(self) -> int:
        return next(self._ids)

    def __repr__(self) -> str:
        return f"<Inspector → {self.target} ({len(self.store)} records)>"


class InspectorListener(StreamListener["_Pair"]):
    """A listening inspector and the pairs of connections it copies between."""

    def __init__(self, tap: Inspector) -> None:
        super().__init__()
        self.tap = tap

    def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _Pair:
        task = asyncio.current_task()
        assert task is not None  # sessions are made inside the accepting task
        return _Pair(self.tap, self.tap._next_id(), reader, writer, task)

    async def serve(self, session: _Pair) -> None:
        if not self.closing:  # a pair accepted just before close() is already aborted
            await session.run()

    def stop(self, session: _Pair) -> None:
        """Abort both sides: a tap that only copies bytes cannot write a close frame."""
        session.abort()


class _Pair:
    """One client, its connection to the target, and the two pumps between them."""

    def __init__(
        self,
        tap: Inspector,
        conn: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        task: asyncio.Task[None],
    ) -> None:
        self.tap = tap
        self.conn = conn
        self.client = (reader, writer)
        self.upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.task = task
        self.decoder = WireDecoder(
            conn, max_frame=tap.max_frame, keep_payload=tap.keep_payload, preview=tap.preview
        )
        self.aborted = False
        self.cause = ""

    def _add(self, *records: Record) -> None:
        self.tap.store.add(records)

    async def run(self) -> None:
        client_writer = self.client[1]
        peer = client_writer.get_extra_info("peername")
        try:
            self.upstream = await asyncio.wait_for(
                asyncio.open_connection(self.tap.host, self.tap.port), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            if str(exc):
                line = _("cannot reach {target}: {error}").format(target=self.tap.target, error=exc)
            else:
                line = _("cannot reach {target}: timed out").format(target=self.tap.target)
            self._add(ErrorRecord(self.conn, None, line))
            client_writer.transport.abort()
            return
        except asyncio.CancelledError:
            client_writer.transport.abort()
            raise
        source = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self._add(ConnRecord(self.conn, None, "open", f"{source} → {self.tap.target}"))
        log.info("#%d: %s → %s", self.conn, source, self.tap.target)
        up_reader, up_writer = self.upstream
        client_reader = self.client[0]
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pump(Direction.CLIENT_TO_SERVER, client_reader, up_writer))
                group.create_task(self._pump(Direction.SERVER_TO_CLIENT, up_reader, client_writer))
        finally:
            await self._close_all()
            c2s = self.decoder.bytes_seen(Direction.CLIENT_TO_SERVER)
            s2c = self.decoder.bytes_seen(Direction.SERVER_TO_CLIENT)
            if self.cause:
                detail = _("c→s {sent} B, s→c {received} B; {cause}")
            else:
                detail = _("c→s {sent} B, s→c {received} B")
            detail = detail.format(sent=c2s, received=s2c, cause=self.cause)
            self._add(ConnRecord(self.conn, None, "closed", detail))
            log.info(_("#%d: closed (%s)"), self.conn, detail)

    async def _pump(
        self, direction: Direction, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Copy one direction until EOF, decoding a copy of every chunk."""
        try:
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                # Decode before writing, with no await in between: records then
                # follow the order of the bytes on the wire.
                self._observe(direction, data)
                writer.write(data)
                await writer.drain()  # backpressure: a slow receiver slows the sender
        except OSError as exc:  # reset or broken pipe on either socket
            if not self.aborted:
                line = _("{direction} failed: {error}")
                self.cause = line.format(direction=direction.short, error=exc.__class__.__name__)
                self.abort()
            return
        if self.aborted:
            return
        if direction is Direction.CLIENT_TO_SERVER:
            finished = _("client finished sending")
        else:
            finished = _("server finished sending")
        self._add(ConnRecord(self.conn, direction, "eof", finished))
        try:
            if writer.can_write_eof():
                writer.write_eof()  # pass the half-close on (TCP FIN)
            else:
                writer.close()
        except OSError:
            pass  # the receiver is gone already; its own pump reports it

    def _observe(self, direction: Direction, data: bytes) -> None:
        try:
            self._add(*self.decoder.feed(direction, data))
        except Exception:  # watching must never break the connection watched
            log.exception(_("inspector #%d could not record %s bytes"), self.conn, direction)

    def abort(self) -> None:
        """Reset both sides at once (used when stopping, or when one side reset)."""
        if not self.aborted and not self.cause:
            self.cause = _("stopped by the inspector")
        self.aborted = True
        self.client[1].transport.abort()
        if self.upstream is not None:
            self.upstream[1].transport.abort()
        elif self.task is not asyncio.current_task():
            self.task.cancel()  # still connecting to the target

    async def _close_all(self) -> None:
        writers = [self.client[1]] + ([self.upstream[1]] if self.upstream else [])
        for writer in writers:
            writer.close()
        for writer in writers:
            try:
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
            except (OSError, TimeoutError):
                writer.transport.abort()
