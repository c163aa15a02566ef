"""Helpers for the reliability tests: a bare-socket WebSocket client and server factories.

The bare client is built from :mod:`labkit.protocol` and a blocking socket, so a
test decides every byte: it can send what no library would (unmasked frames,
invalid UTF-8, half a handshake), stop reading, or vanish with a TCP reset.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.sync.client import connect

import labkit
from labkit.chat import chat_app
from labkit.protocol import CloseCode, Frame, FrameParser, Opcode, apply_mask, parse_close
from labkit.raw import RawEchoServer
from labkit.runner import Servable, ServerHandle
from tests.support import handshake_request, read_http_head

__all__ = [
    "SERVERS",
    "TIMEOUT",
    "RawClient",
    "percentile",
    "raw_frame",
    "still_serves",
]

#: Seconds any single wait in these tests may take before it fails.
TIMEOUT = 10.0


def _raw(**options: Any) -> Servable:
    if "open_timeout" in options:
        options["handshake_timeout"] = options.pop("open_timeout")
    return RawEchoServer(**options)


#: The three servers a learner can start, by the name the tests use for them.
SERVERS: dict[str, Callable[..., Servable]] = {
    "echo": labkit.echo_app,
    "chat": chat_app,
    "raw": _raw,
}


def raw_frame(b0: int, payload: bytes = b"", *, mask: bool = True) -> bytes:
    """Any frame, even an illegal one: first byte as given, shortest length field."""
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, bit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", b0, bit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, bit | 127, n)
    if not mask:
        return head + payload
    key = b"\x37\xfa\x21\x3d"
    return head + key + apply_mask(payload, key)


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def still_serves(kind: str, handle: ServerHandle, name: str = "fresh") -> None:
    """A fresh, well-behaved client is served normally: an echo, or a welcome.

    It connects over 127.0.0.1 even to a server bound to all interfaces.
    """
    url = f"ws://127.0.0.1:{handle.port}/"
    with connect(url, open_timeout=TIMEOUT, max_size=None) as ws:
        if kind == "chat":
            ws.send(json.dumps({"type": "join", "name": name}))
            assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "welcome"
        else:
            ws.send("still here")
            assert ws.recv(timeout=TIMEOUT) == "still here"


class RawClient:
    """A WebSocket client made of one blocking socket and :mod:`labkit.protocol`.

    Frames it sends are masked (RFC 6455, section 5.3) unless told otherwise;
    frames it reads must be unmasked, as a server's are.
    """

    def __init__(self, sock: socket.socket, leftover: bytes = b"") -> None:
        self.sock = sock
        self.parser = FrameParser(mask=False)
        self.frames: deque[Frame] = deque(self.parser.feed(leftover))

    @classmethod
    def connect(
        cls, port: int, *, rcvbuf: int | None = None, timeout: float = TIMEOUT
    ) -> RawClient:
        """Open TCP to 127.0.0.1:``port`` and complete the opening handshake."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.sendall(handshake_request(port))
        status, _, rest = read_http_head(sock)
        assert status == 101, status
        return cls(sock, rest)

    def send(self, data: str | bytes) -> None:
        """Send one text (``str``) or binary (``bytes``) message, masked."""
        frame = Frame.text(data) if isinstance(data, str) else Frame.binary(data)
        self.sock.sendall(frame.serialize(mask=True))

    def send_json(self, **event: Any) -> None:
        self.send(json.dumps(event))

    def recv(self, timeout: float = TIMEOUT) -> Frame:
        """The next frame from the server; ``EOFError`` when the server hung up."""
        deadline = time.monotonic() + timeout
        while not self.frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no frame within {timeout} s")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the server hung up")
            self.frames.extend(self.parser.feed(data))
        return self.frames.popleft()

    def recv_event(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next chat event (a text frame holding JSON); pings are answered."""
        while True:
            frame = self.recv(timeout)
            if frame.opcode is Opcode.PING:
                self.sock.sendall(Frame.pong(frame.payload).serialize(mask=True))
                continue
            assert frame.opcode is Opcode.TEXT, frame
            return json.loads(frame.payload)

    def join(self, name: str) -> dict[str, Any]:
        """Join the chat room as ``name``; return the welcome."""
        self.send_json(type="join", name=name)
        welcome = self.recv_event()
        assert welcome["type"] == "welcome", welcome
        return welcome

    def expect_close(self, timeout: float = TIMEOUT, limit: int = 100_000) -> tuple[int, str]:
        """Skip up to ``limit`` data frames; return the close frame's (code, reason)."""
        for _ in range(limit):
            frame = self.recv(timeout)
            if frame.opcode is Opcode.CLOSE:
                return parse_close(frame.payload)
        raise AssertionError(f"no close frame within {limit} frames")

    def expect_eof(self, timeout: float = TIMEOUT) -> None:
        """The server sends nothing more and ends the TCP stream cleanly."""
        self.sock.settimeout(timeout)
        assert self.sock.recv(65536) == b""

    def close_frame(self, code: int = CloseCode.NORMAL_CLOSURE) -> None:
        """Send a close frame (RFC 6455, section 5.5.1)."""
        self.sock.sendall(Frame.close(code).serialize(mask=True))

    def reset(self) -> None:
        """Vanish: close with SO_LINGER 0, so the kernel sends a TCP reset (RST)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sock.close()
