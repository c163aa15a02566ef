"""What the wire inspector saw, as frozen values: one record per event on the wire.

A record is one of four kinds, each a frozen dataclass with a ``kind`` name:

* :class:`HandshakeRecord` (``"handshake"``) - an HTTP head: the client's
  request or the server's response (RFC 6455, section 4.1 and 4.2.2);
* :class:`FrameRecord` (``"frame"``) - one frame exactly as it travelled
  (section 5.2): FIN, RSV bits, opcode, mask key, length, a payload preview;
* :class:`ErrorRecord` (``"error"``) - bytes that could not be decoded; the
  inspector keeps forwarding them untouched;
* :class:`ConnRecord` (``"conn"``) - a TCP connection opened, half-closed or closed.

Every record carries ``conn`` (the inspector's number for the connection) and
``direction``, and renders as one line of plain text with :meth:`line`.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar

from ..i18n import N_, _

__all__ = [
    "ConnRecord",
    "Direction",
    "ErrorRecord",
    "FrameRecord",
    "HandshakeRecord",
    "Record",
]


class Direction(Enum):
    """Which way the bytes travelled."""

    CLIENT_TO_SERVER = "client→server"
    SERVER_TO_CLIENT = "server→client"

    @property
    def arrow(self) -> str:
        """``→`` for client to server, ``←`` for the answer."""
        return "→" if self is Direction.CLIENT_TO_SERVER else "←"

    @property
    def short(self) -> str:
        """``c→s`` or ``s→c``, for narrow columns."""
        return "c→s" if self is Direction.CLIENT_TO_SERVER else "s→c"

    @property
    def sender(self) -> str:
        """``"client"`` or ``"server"``: who wrote these bytes."""
        return "client" if self is Direction.CLIENT_TO_SERVER else "server"

    def __str__(self) -> str:
        return self.value


def _prefix(conn: int, direction: Direction | None) -> str:
    return f"#{conn:<3} {direction.short if direction else '   '}"


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` columns; a Chinese character takes two."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


# How each TCP event reads, in a line and in the live table.
_CONN_EVENTS = {
    # TRANSLATORS: the inspector saw a TCP connection open.
    "open": N_("TCP open"),
    # TRANSLATORS: the inspector saw one side finish sending (a TCP half-close, FIN).
    "eof": N_("TCP eof"),
    # TRANSLATORS: the inspector saw a TCP connection closed.
    "closed": N_("TCP closed"),
}


@dataclass(frozen=True)
class HandshakeRecord:
    """An HTTP head of the opening handshake (RFC 6455, section 4).

    Attributes:
        conn: the connection's number.
        direction: client→server for the request, server→client for the response.
        start_line: ``"GET /chat HTTP/1.1"`` or ``"HTTP/1.1 101 Switching Protocols"``.
        headers: the header lines as sent, in order.
        head: the whole head as text (CRLF line ends, up to the empty line).
        status: the response status (101 when the server accepted); ``None``
            for the request.
        reason: the response's reason phrase (``""`` for the request).
        time: when it was seen (``time.time()``).
    """

    kind: ClassVar[str] = "handshake"

    conn: int
    direction: Direction
    start_line: str
    headers: tuple[tuple[str, str], ...]
    head: str
    status: int | None = None
    reason: str = ""
    time: float = field(default_factory=time.time, compare=False)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), repeats joined with ``", "``."""
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return ", ".join(values) if values else None

    def line(self) -> str:
        """One line of plain text: the start line and the headers that matter."""
        extra = [
            f"{name}: {value}"
            for name, value in self.headers
            if name.lower() in ("upgrade", "sec-websocket-key", "sec-websocket-accept")
        ]
        tail = f"  ({'; '.join(extra)})" if extra else ""
        # TRANSLATORS: marks an HTTP head of the opening handshake in the inspector's text.
        what = _("HANDSHAKE")
        return f"{_prefix(self.conn, self.direction)} {what} {self.start_line}{tail}"


@dataclass(frozen=True)
class FrameRecord:
    """One WebSocket frame as it travelled (RFC 6455, section 5.2).

    Attributes:
        conn: the connection's number.
        direction: who sent it.
        fin: the FIN bit: last frame of its message (section 5.4).
        rsv: the three RSV bits (section 5.2; set only by extensions).
        opcode: the opcode's name: ``"TEXT"``, ``"BINARY"``, ``"CONT"``,
            ``"PING"``, ``"PONG"`` or ``"CLOSE"``.
        opcode_value: the opcode's number (0x0-0xA).
        mask_key: the 4-byte masking key in hex, ``None`` for an unmasked frame
            (section 5.3: clients mask, servers never do).
        length: the payload length in bytes, as on the wire.
        payload: the payload *unmasked*, cut to the inspector's ``keep_payload``
            bytes (``length`` is the real size).
        preview: a short text for humans: the text of a text frame (or of the
            continuation of one), hex for anything else, the code and reason
            for a close frame.
        close_code: for a close frame, its status code (1005 if it had none,
            section 7.1.5); else ``None``.
        close_reason: for a close frame, its reason; else ``None``.
        note: a rule of RFC 6455 this frame breaks (e.g. a client frame
            without a mask), or ``""``. The frame is forwarded all the same.
        time: when it was seen (``time.time()``).
    """

    kind: ClassVar[str] = "frame"

    conn: int
    direction: Direction
    fin: bool
    rsv: tuple[bool, bool, bool]
    opcode: str
    opcode_value: int
    mask_key: str | None
    length: int
    payload: bytes
    preview: str
    close_code: int | None = None
    close_reason: str | None = None
    note: str = ""
    time: float = field(default_factory=time.time, compare=False)

    @property
    def masked(self) -> bool:
        """Whether the frame travelled masked."""
        return self.mask_key is not None

    def line(self) -> str:
        """One line of plain text, in columns: FIN, opcode, mask, length, preview."""
        rsv = "".join(f" RSV{i}" for i, bit in enumerate(self.rsv, 1) if bit)
        # TRANSLATORS: a frame sent without a masking key, in the inspector's text.
        mask = f"key={self.mask_key}" if self.mask_key else _("unmasked")
        note = f"  !! {self.note}" if self.note else ""
        return (
            f"{_prefix(self.conn, self.direction)} FIN={int(self.fin)} {self.opcode:<6}{rsv} "
            f"{_pad(mask, 12)} len={self.length:<6} {self.preview}{note}"
        )


@dataclass(frozen=True)
class ErrorRecord:
    """Bytes the inspector could not decode (they are still forwarded unchanged).

    After an error in one direction the inspector stops decoding that
    direction: once a frame boundary is lost, nothing after it can be trusted.

    Attributes:
        conn: the connection's number.
        direction: whose bytes; ``None`` for a connection-level error (the
            target cannot be reached).
        message: what was wrong.
        data: the first bytes that could not be decoded (up to 64).
        time: when it was seen (``time.time()``).
    """

    kind: ClassVar[str] = "error"

    conn: int
    direction: Direction | None
    message: str
    data: bytes = b""
    time: float = field(default_factory=time.time, compare=False)

    def line(self) -> str:
        """One line of plain text: the message and the bytes in hex."""
        data = f"  [{self.data[:16].hex(' ')}{' …' if len(self.data) > 16 else ''}]"
        # TRANSLATORS: marks bytes the inspector could not decode, in its text.
        what = _("ERROR")
        return f"{_prefix(self.conn, self.direction)} {what} {self.message}" + (
            data if self.data else ""
        )


@dataclass(frozen=True)
class ConnRecord:
    """A TCP connection event: opened, one side finished sending, closed.

    Attributes:
        conn: the connection's number.
        direction: for ``"eof"``, whose side stopped sending; else ``None``.
        event: ``"open"``, ``"eof"`` (half-close, forwarded to the other side)
            or ``"closed"``.
        detail: addresses for ``"open"``, byte counts or the cause for ``"closed"``.
        time: when it happened (``time.time()``).
    """

    kind: ClassVar[str] = "conn"

    conn: int
    direction: Direction | None
    event: str
    detail: str = ""
    time: float = field(default_factory=time.time, compare=False)

    def what(self) -> str:
        """The event as it reads: ``TCP open``, ``TCP eof``, ``TCP closed``."""
        shown = _CONN_EVENTS.get(self.event)
        return _(shown) if shown else f"TCP {self.event}"

    def line(self) -> str:
        """One line of plain text."""
        detail = f" {self.detail}" if self.detail else ""
        return f"{_prefix(self.conn, self.direction)} {self.what()}{detail}"


Record = HandshakeRecord | FrameRecord | ErrorRecord | ConnRecord
"""Any record the inspector keeps."""
