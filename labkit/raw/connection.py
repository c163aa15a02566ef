"""One client of the raw echo server, from first byte to closed socket.

This is the thin I/O layer over :mod:`labkit.protocol`: it reads bytes from an
asyncio stream, lets the Sans-I/O code decide what they mean, and writes back
the bytes it builds. Every RFC 6455 rule lives in :mod:`labkit.protocol`; what
is left here is *when* to read, write and hang up.

Theory of operation, one state per line::

    CONNECTING  read the request head (capped in size and in time); answer
                101 and go to OPEN, or answer an HTTP error and hang up
                (503 if the server shuts down meanwhile)
    OPEN        read frames; echo messages, answer pings; on a protocol
                error send a close frame with its code and hang up; on the
                client's close frame echo it and hang up (section 5.5.1)
    CLOSING     we sent close (server shutting down, 1001): ignore data,
                wait up to close_timeout for the client's close frame
    CLOSED      done

"Hang up" means: send FIN after our last bytes, read and drop whatever the
client still sends until it closes too (or close_timeout passes), then close
the socket. Closing a socket with unread bytes in it makes the kernel send a
TCP reset, and the client could lose our close frame or error page.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging

from labkit.errors import HandshakeError, ProtocolError
from labkit.i18n import _
from labkit.protocol import (
    Close,
    CloseCode,
    Event,
    Frame,
    HandshakeRequest,
    Message,
    MessageAssembler,
    Ping,
    Role,
    build_accept_response,
    build_error_response,
    build_reject_response,
    find_head_end,
    parse_request,
)
from labkit.protocol.policy import RequestPolicy

__all__ = ["OPEN_POLICY", "ConnectionState", "RawConnection", "logger"]

logger = logging.getLogger("labkit.raw")

#: Any Host, any Origin: the echo holds no data, and lesson 1 connects to it by any name.
OPEN_POLICY = RequestPolicy(origins=None, local_names=None)

_NOT_WEBSOCKET_BODY = (
    "This is a WebSocket echo server. Connect with a WebSocket client, "
    "e.g. new WebSocket('ws://HOST:PORT/') in a browser.\n"
)


class ConnectionState(enum.Enum):
    """Where a connection is in its life (RFC 6455, section 4 and 7)."""

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


def _reason(text: str) -> str:
    """Shorten ``text`` to fit a close frame (123 bytes of UTF-8, section 5.5)."""
    data = text.encode("utf-8")[:123]
    return data.decode("utf-8", errors="ignore")


class _Binary:
    """A binary message in the log (with ``%r``): its size, ``<5 bytes binary>``."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    def __repr__(self) -> str:
        return _("<{size} bytes binary>").format(size=self.size)


def _preview(data: str | bytes, limit: int = 80) -> str | _Binary:
    """How a message shows in the log with ``%r``: text quoted and cut, binary as a size."""
    if isinstance(data, bytes):
        return _Binary(len(data))
    return data if len(data) <= limit else data[:limit] + "…"


class RawConnection:
    """Serve one TCP connection: handshake, echo loop, closing handshake.

    Args:
        reader: the stream to read the client from.
        writer: the stream to write to the client.
        max_size: largest message accepted, in bytes (larger: close 1009).
        handshake_timeout: seconds allowed for the whole request head.
        close_timeout: seconds to wait for the client's close frame, and for
            the client to hang up after ours.
        policy: the Host and Origin rules to apply (:mod:`labkit.protocol.policy`);
            by default any Host and any Origin.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        max_size: int,
        handshake_timeout: float,
        close_timeout: float,
        policy: RequestPolicy = OPEN_POLICY,
    ) -> None:
        self.reader = reader
        self.policy = policy
        self.writer = writer
        self.max_size = max_size
        self.handshake_timeout = handshake_timeout
        self.close_timeout = close_timeout
        self.state = ConnectionState.CONNECTING
        self.request: HandshakeRequest | None = None
        self.peer = writer.get_extra_info("peername")
        self._pending = b""  # bytes that arrived right after the request head
        self._deadline: asyncio.Timeout | None = None
        self._handshake_deadline: asyncio.Timeout | None = None
        self._shutting_down = False

    async def run(self) -> None:
        """Serve the connection until it is closed; never raises."""
        try:
            if await self._handshake():
                await self._serve()
            await self._hang_up()
        except (ConnectionError, asyncio.IncompleteReadError):
            logger.info(_("%s: connection lost"), self.peer)
        except Exception:
            # A bug here must cost one connection, never the whole server.
            logger.exception(_("%s: unexpected error"), self.peer)
        finally:
            self.state = ConnectionState.CLOSED
            await self._close_transport()

    def going_away(self) -> None:
        """Start closing because the server shuts down (close code 1001).

        RFC 6455, section 7.1.2: send a close frame, then wait for the
        client's, at most ``close_timeout`` seconds.
        """
        if self.state is ConnectionState.CONNECTING:
            # No WebSocket yet, so no close frame: end the handshake now and
            # answer 503 instead of 101.
            self._shutting_down = True
            if self._handshake_deadline is not None:
                self._handshake_deadline.reschedule(asyncio.get_running_loop().time())
        elif self.state is ConnectionState.OPEN:
            self._start_closing(CloseCode.GOING_AWAY, "server shutting down")

    # --- handshake (section 4.2) -----------------------------------------

    async def _handshake(self) -> bool:
        """Read and answer the opening handshake; ``True`` if now OPEN."""
        buffer = bytearray()
        try:
            async with asyncio.timeout(self.handshake_timeout) as self._handshake_deadline:
                if self._shutting_down:
                    raise TimeoutError
                while (end := find_head_end(buffer)) is None:
                    chunk = await self.reader.read(4096)
                    if not chunk:
                        logger.info(_("%s: left during the handshake"), self.peer)
                        return False
                    buffer += chunk
                request = parse_request(bytes(buffer[:end]))
                self.policy.check(request.host, request.origin)  # section 10.2
        except TimeoutError:
            if self._shutting_down:
                self.writer.write(build_reject_response(503, "server shutting down\n"))
                return False
            logger.info(_("%s: handshake not finished in %ss"), self.peer, self.handshake_timeout)
            self.writer.write(build_reject_response(408, "handshake took too long\n"))
            return False
        except HandshakeError as exc:
            logger.info(_("%s: handshake refused (%d): %s"), self.peer, exc.status, exc)
            plain_http = exc.status == 426 and exc.header == "Upgrade"
            body = _NOT_WEBSOCKET_BODY if plain_http else None
            self.writer.write(build_error_response(exc, body))
            return False
        finally:
            self._handshake_deadline = None
        self._pending = bytes(buffer[end:])
        self.request = request
        self.writer.write(build_accept_response(request))
        self.state = ConnectionState.OPEN
        logger.info(_("connection established"))  # the tutorial's line, as the echo app logs it
        return True

    # --- frames (section 5) ----------------------------------------------

    async def _read_exact(self, n: int) -> bytes:
        """Read exactly ``n`` bytes, starting with any left from the handshake."""
        if not self._pending:
            return await self.reader.readexactly(n)
        head, self._pending = self._pending[:n], self._pending[n:]
        if len(head) < n:
            head += await self.reader.readexactly(n - len(head))
        return head

    async def _read_frame(self) -> Frame:
        """Drive the Sans-I/O frame parser with bytes from the socket."""
        parser = Frame.parse(mask=True, max_size=self.max_size)  # section 5.1
        n = next(parser)
        try:
            while True:
                n = parser.send(await self._read_exact(n))
        except StopIteration as done:
            return done.value

    async def _send(self, frame: Frame) -> None:
        """Send one unmasked frame (a server never masks, section 5.1)."""
        self.writer.write(frame.serialize(mask=False))
        await self.writer.drain()

    def _start_closing(self, code: int | None, reason: str = "") -> None:
        """Send our close frame and give the client close_timeout to answer."""
        self.writer.write(Frame.close(code, reason).serialize(mask=False))
        self.state = ConnectionState.CLOSING
        if self._deadline is not None:
            self._deadline.reschedule(asyncio.get_running_loop().time() + self.close_timeout)

    async def _serve(self) -> None:
        """The echo loop, until the closing handshake ends or fails."""
        assembler = MessageAssembler(max_size=self.max_size, role=Role.SERVER)
        try:
            # No deadline while OPEN (an echo client may stay idle for hours);
            # _start_closing sets one.
            async with asyncio.timeout(None) as self._deadline:
                while self.state is not ConnectionState.CLOSED:
                    event = assembler.receive(await self._read_frame())
                    await self._handle(event)
        except ProtocolError as exc:
            # Section 7.1.7, "Fail the WebSocket Connection". The timeout block
            # has ended, so there is no deadline left to reschedule.
            self._deadline = None
            logger.info(_("%s: failing the connection (%d): %s"), self.peer, exc.close_code, exc)
            if self.state is ConnectionState.OPEN:
                self._start_closing(exc.close_code, _reason(exc.english))  # the wire: English
        except TimeoutError:
            logger.info(_("%s: no close frame within %ss; dropping"), self.peer, self.close_timeout)
            self.writer.transport.abort()
        finally:
            self._deadline = None

    async def _handle(self, event: Event) -> None:
        """React to one event from the assembler."""
        if isinstance(event, Message):
            if self.state is not ConnectionState.OPEN:
                return  # we already sent close: no more data (section 5.5.1)
            logger.info(_("received message: %r"), _preview(event.data))
            reply = (
                Frame.text(event.data) if isinstance(event.data, str) else Frame.binary(event.data)
            )
            await self._send(reply)
        elif isinstance(event, Ping):
            if self.state is ConnectionState.OPEN:
                await self._send(Frame.pong(event.payload))  # section 5.5.2
        elif isinstance(event, Close):
            if self.state is ConnectionState.OPEN:
                # The client started closing: echo its code (section 5.5.1).
                logger.info(_("%s: client closed (%d %s)"), self.peer, event.code, event.reason)
                self._start_closing(event.code, event.reason)
            self.state = ConnectionState.CLOSED

    # --- closing (section 7) ---------------------------------------------

    async def _hang_up(self) -> None:
        """Close TCP cleanly: FIN after our last bytes, then drain the client."""
        if self.writer.transport.is_closing():
            return
        with contextlib.suppress(TimeoutError, ConnectionError):
            await self.writer.drain()
            if self.writer.can_write_eof():
                self.writer.write_eof()
            async with asyncio.timeout(self.close_timeout):
                while await self.reader.read(65536):
                    pass

    async def _close_transport(self) -> None:
        """Close the socket, flushing what is left, but never wait forever."""
        if not self.writer.transport.is_closing():
            self.writer.close()
        try:
            async with asyncio.timeout(self.close_timeout):
                await self.writer.wait_closed()
        except TimeoutError:
            self.writer.transport.abort()  # the client stopped reading
        except Exception:
            pass  # already reported by the transport; nothing left to save
