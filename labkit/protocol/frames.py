"""WebSocket frames: the bytes on the wire after the handshake.

RFC 6455, section 5.2 draws a frame like this::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-------+-+-------------+-------------------------------+
    |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    | |1|2|3|       |K|             |                               |
    +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    |     Extended payload length continued, if payload len == 127  |
    + - - - - - - - - - - - - - - - +-------------------------------+
    |                               |Masking-key, if MASK set to 1  |
    +-------------------------------+-------------------------------+
    | Masking-key (continued)       |          Payload Data         |
    +-------------------------------- - - - - - - - - - - - - - - - +

Three ways to read frames, all built on one parser:

* :meth:`Frame.parse` is a generator that *asks* for a number of bytes
  (``n = yield``-style) and returns a :class:`Frame`; an asyncio server feeds
  it with ``await reader.readexactly(n)``, a test feeds it from a buffer.
* :class:`FrameParser` takes chunks of any size and returns whole frames.
* :func:`decode_frame` reads one frame from bytes, for notebooks.

All three are strict by default: RSV1-3 "MUST be 0 unless an extension is
negotiated that defines meanings for non-zero values" (section 5.2), and no
endpoint here negotiates one. ``allow_rsv=True`` keeps the bits in the
:class:`Frame` instead of refusing them, for a reader that knows an extension
may be in use (the inspector, behind a permessage-deflate handshake).
"""

from __future__ import annotations

import struct
from collections.abc import Generator
from dataclasses import dataclass
from enum import Enum, IntEnum

from labkit.errors import FrameError, LabkitError, MessageTooBig
from labkit.i18n import N_, _
from labkit.protocol.close import build_close, close_code_name, parse_close
from labkit.protocol.masking import apply_mask, random_mask_key

__all__ = [
    "MAX_CONTROL_PAYLOAD",
    "Frame",
    "FrameParser",
    "IncompleteFrame",
    "Opcode",
    "Role",
    "apply_mask",
    "decode_frame",
    "random_mask_key",
]

#: Control frames carry at most 125 bytes (section 5.5).
MAX_CONTROL_PAYLOAD = 125


class Opcode(IntEnum):
    """Frame opcodes (RFC 6455, section 5.2 and 11.8).

    3-7 are reserved for future data frames and 0xB-0xF for future control
    frames; they are not members, so ``Opcode(3)`` raises ``ValueError``.
    """

    CONT = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA

    @property
    def is_control(self) -> bool:
        """Control frames have the high bit of the opcode set (section 5.5)."""
        return self >= 0x8


class Role(Enum):
    """Which end of the connection we are; it decides masking (section 5.1).

    A client masks every frame it sends and a server never does, so a server
    expects masked frames and a client expects unmasked ones.
    """

    SERVER = "server"
    CLIENT = "client"

    @property
    def expects_masked(self) -> bool:
        """Whether frames *received* by this role must be masked."""
        return self is Role.SERVER


class IncompleteFrame(LabkitError, ValueError):
    """:func:`decode_frame` was given only part of a frame.

    Attributes:
        needed: how many more bytes the next step of parsing needs (more may
            follow once they arrive, e.g. the payload after the length).
    """

    def __init__(self, needed: int) -> None:
        super().__init__(
            _("incomplete frame: at least {needed} more byte(s) needed").format(needed=needed)
        )
        self.needed = needed


def _check_header(
    fin: bool,
    rsv: tuple[bool, bool, bool],
    opcode: Opcode,
    length: int,
    *,
    allow_rsv: bool = False,
) -> None:
    """Rules that the first bytes of a frame already decide (sections 5.2, 5.5).

    RSV bits are refused unless ``allow_rsv``: without a negotiated extension
    they MUST be 0 (section 5.2).
    """
    if not allow_rsv:
        for i, bit in enumerate(rsv, start=1):
            if bit:
                raise FrameError(N_("RSV{bit} is set but no extension was negotiated"), bit=i)
    if opcode.is_control:
        if not fin:
            raise FrameError(
                N_("{opcode} frame is fragmented; control frames must have FIN"), opcode=opcode.name
            )
        if length > MAX_CONTROL_PAYLOAD:
            raise FrameError(
                N_("{opcode} frame has {size} bytes; control frames carry at most 125"),
                opcode=opcode.name,
                size=length,
            )


def _preview(data: bytes, text: bool, limit: int = 40) -> str:
    """A short readable rendering of a payload."""
    if text:
        try:
            s = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return repr(s[:limit]) + ("…" if len(s) > limit else "")
    shown = data[: limit // 2].hex(" ")
    return shown + (" …" if len(data) > limit // 2 else "") if data else "(empty)"


@dataclass(frozen=True, repr=False)
class Frame:
    """One WebSocket frame, with its payload already unmasked.

    Attributes:
        opcode: what the payload is (:class:`Opcode`).
        payload: the application data, unmasked.
        fin: last frame of its message (section 5.4).
        rsv1: reserved bit 1 (extensions only).
        rsv2: reserved bit 2 (extensions only).
        rsv3: reserved bit 3 (extensions only).
        mask_key: the 4-byte key the frame was masked with, or ``None`` for
            an unmasked frame.
    """

    opcode: Opcode
    payload: bytes = b""
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    mask_key: bytes | None = None

    # --- building ---------------------------------------------------------

    @classmethod
    def text(cls, text: str, *, fin: bool = True) -> Frame:
        """A text frame carrying ``text`` in UTF-8."""
        return cls(Opcode.TEXT, text.encode("utf-8"), fin=fin)

    @classmethod
    def binary(cls, data: bytes, *, fin: bool = True) -> Frame:
        """A binary frame."""
        return cls(Opcode.BINARY, bytes(data), fin=fin)

    @classmethod
    def ping(cls, data: bytes = b"") -> Frame:
        """A ping; the peer answers with a pong carrying the same bytes (section 5.5.2)."""
        return cls(Opcode.PING, bytes(data))

    @classmethod
    def pong(cls, data: bytes = b"") -> Frame:
        """A pong (section 5.5.3)."""
        return cls(Opcode.PONG, bytes(data))

    @classmethod
    def close(cls, code: int | None = 1000, reason: str = "") -> Frame:
        """A close frame; ``code=None`` sends no status code (section 5.5.1)."""
        return cls(Opcode.CLOSE, build_close(code, reason))

    # --- reading ----------------------------------------------------------

    @property
    def masked(self) -> bool:
        """Whether the frame travelled masked (it had a masking key)."""
        return self.mask_key is not None

    @property
    def rsv(self) -> tuple[bool, bool, bool]:
        """RSV1, RSV2 and RSV3, in that order (section 5.2)."""
        return (self.rsv1, self.rsv2, self.rsv3)

    @classmethod
    def parse(
        cls,
        *,
        mask: bool | None = None,
        max_size: int | None = None,
        allow_rsv: bool = False,
    ) -> Generator[int, bytes, Frame]:
        """Parse one frame, asking for bytes as it goes.

        The generator yields how many bytes it needs next and must be sent
        exactly that many; it returns the frame (``StopIteration.value``).
        Every rule the header decides is checked *before* asking for the
        payload, so a bad or huge frame is refused without reading it::

            gen = Frame.parse(mask=True)
            n = next(gen)
            try:
                while True:
                    n = gen.send(await reader.readexactly(n))
            except StopIteration as done:
                frame = done.value

        Args:
            mask: ``True`` if the frame must be masked (we are a server),
                ``False`` if it must not be (we are a client), ``None`` to
                accept both (an inspector).
            max_size: refuse a payload longer than this (section 10.4).
            allow_rsv: keep RSV1-3 in the frame (``rsv1``..``rsv3``) instead
                of refusing them. Section 5.2 allows non-zero bits only when
                an extension is negotiated; say so only if one may be (the
                caller then interprets them, e.g. RFC 7692's RSV1).

        Raises:
            FrameError: reserved opcode, RSV bit set (unless ``allow_rsv``),
                fragmented or oversized control frame, wrong masking, 64-bit
                length with its top bit set (close code 1002).
            MessageTooBig: the declared length exceeds ``max_size`` (1009).
        """
        head = yield 2
        fin = bool(head[0] & 0x80)
        rsv = (bool(head[0] & 0x40), bool(head[0] & 0x20), bool(head[0] & 0x10))
        try:
            opcode = Opcode(head[0] & 0x0F)
        except ValueError:
            raise FrameError(
                N_("reserved opcode {opcode}"), opcode=f"{head[0] & 0x0F:#x}"
            ) from None
        masked = bool(head[1] & 0x80)
        if mask is not None and masked != mask:
            if mask:
                raise FrameError(N_("client frame is not masked (section 5.1: clients must mask)"))
            raise FrameError(N_("server frame is masked (section 5.1: servers must not mask)"))

        length = head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", (yield 2))
        elif length == 127:
            (length,) = struct.unpack("!Q", (yield 8))
            if length >> 63:
                raise FrameError(N_("64-bit payload length has its most significant bit set"))

        _check_header(fin, rsv, opcode, length, allow_rsv=allow_rsv)
        if max_size is not None and length > max_size:
            raise MessageTooBig(
                N_("frame of {size} bytes exceeds the limit of {limit}"),
                size=length,
                limit=max_size,
            )

        mask_key = (yield 4) if masked else None
        payload = (yield length) if length else b""
        if mask_key is not None:
            payload = apply_mask(payload, mask_key)
        return cls(opcode, payload, fin, *rsv, mask_key=mask_key)

    def check(self, *, allow_rsv: bool = False) -> None:
        """Check the frame against the framing rules of sections 5.2 and 5.5.

        Args:
            allow_rsv: accept RSV bits, as for :meth:`parse`.

        Raises:
            FrameError: an RSV bit is set (unless ``allow_rsv``), or a control
                frame is fragmented or longer than 125 bytes.
        """
        _check_header(self.fin, self.rsv, self.opcode, len(self.payload), allow_rsv=allow_rsv)
        if self.mask_key is not None and len(self.mask_key) != 4:
            raise FrameError(N_("a masking key has 4 bytes, got {size}"), size=len(self.mask_key))

    # --- writing ----------------------------------------------------------

    def serialize(self, *, mask: bool | None = None, mask_key: bytes | None = None) -> bytes:
        """Encode the frame, using the shortest length field (section 5.2).

        Args:
            mask: ``True`` to mask (a client sending), ``False`` not to (a
                server sending), ``None`` to mask only if the frame has a
                ``mask_key``, so a parsed frame serializes to its own bytes.
            mask_key: the key to use; default is the frame's own key, else a
                fresh one from :func:`random_mask_key`.

        Raises:
            FrameError: the frame breaks a rule of :meth:`check`.
        """
        self.check()
        if mask is None:
            mask = self.mask_key is not None or mask_key is not None
        b0 = (
            (0x80 if self.fin else 0)
            | (0x40 if self.rsv1 else 0)
            | (0x20 if self.rsv2 else 0)
            | (0x10 if self.rsv3 else 0)
            | self.opcode
        )
        mask_bit = 0x80 if mask else 0
        n = len(self.payload)
        if n < 126:
            head = struct.pack("!BB", b0, mask_bit | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", b0, mask_bit | 126, n)
        else:
            head = struct.pack("!BBQ", b0, mask_bit | 127, n)
        if not mask:
            return head + self.payload
        key = mask_key or self.mask_key or random_mask_key()
        return head + key + apply_mask(self.payload, key)

    # --- showing ----------------------------------------------------------

    def describe(self) -> str:
        """One line a human can read, for either direction.

        >>> Frame.text("Hello").describe()
        "FIN=1 TEXT(0x1) unmasked len=5 payload='Hello'"
        """
        parts = [f"FIN={int(self.fin)}"]
        rsv = [f"RSV{i}" for i, b in enumerate(self.rsv, 1) if b]
        parts += rsv
        parts.append(f"{self.opcode.name}({self.opcode:#x})")
        parts.append(f"masked key={self.mask_key.hex()}" if self.mask_key else "unmasked")
        parts.append(f"len={len(self.payload)}")
        if self.opcode is Opcode.CLOSE:
            try:
                code, reason = parse_close(self.payload)
            except LabkitError as exc:
                parts.append(f"invalid close payload ({exc})")
            else:
                parts.append(f"code={int(code)} ({close_code_name(code)})")
                if reason:
                    parts.append(f"reason={reason!r}")
        else:
            parts.append(f"payload={_preview(self.payload, self.opcode is Opcode.TEXT)}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<Frame {self.describe()}>"


def decode_frame(
    data: bytes | bytearray,
    *,
    mask: bool | None = None,
    max_size: int | None = None,
    allow_rsv: bool = False,
) -> tuple[Frame, int]:
    """Read the first frame in ``data``.

    >>> frame, used = decode_frame(bytes.fromhex("810548656c6c6f"))
    >>> frame.payload, used
    (b'Hello', 7)

    Args:
        data: bytes that start with a frame; bytes after it are left alone.
        mask: as for :meth:`Frame.parse`.
        max_size: as for :meth:`Frame.parse`.
        allow_rsv: as for :meth:`Frame.parse`.

    Returns:
        ``(frame, consumed)``: the frame and how many bytes it took.

    Raises:
        IncompleteFrame: ``data`` ends before the frame does.
        FrameError, MessageTooBig: as for :meth:`Frame.parse`.
    """
    gen = Frame.parse(mask=mask, max_size=max_size, allow_rsv=allow_rsv)
    pos = 0
    n = next(gen)
    try:
        while True:
            if pos + n > len(data):
                raise IncompleteFrame(pos + n - len(data))
            chunk, pos = bytes(data[pos : pos + n]), pos + n
            n = gen.send(chunk)
    except StopIteration as done:
        return done.value, pos


class FrameParser:
    """Turn a stream of bytes, in chunks of any size, into frames.

    >>> parser = FrameParser()
    >>> parser.feed(b"\\x81\\x05Hel")
    []
    >>> [f.opcode.name for f in parser.feed(b"lo\\x89\\x00")]
    ['TEXT', 'PING']

    After an error the stream can no longer be trusted (frame boundaries are
    lost), so the parser refuses further input. Frames that the failing chunk
    completed before the bad one are not returned; feed smaller chunks to see
    exactly where a stream goes wrong.
    """

    def __init__(
        self,
        *,
        mask: bool | None = None,
        max_size: int | None = None,
        allow_rsv: bool = False,
    ) -> None:
        """Args are those of :meth:`Frame.parse`, applied to every frame."""
        self.mask = mask
        self.max_size = max_size
        self.allow_rsv = allow_rsv
        self._buffer = bytearray()
        self._gen: Generator[int, bytes, Frame] | None = None
        self._need = 0
        self._failed: BaseException | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a returned frame's step."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes and return every frame they complete, in order.

        Raises:
            FrameError, MessageTooBig: as for :meth:`Frame.parse`.
        """
        if self._failed is not None:
            failed = N_("the parser already failed; the stream is unusable")
            raise FrameError(failed) from self._failed
        self._buffer += data
        frames: list[Frame] = []
        try:
            while True:
                if self._gen is None:
                    self._gen = Frame.parse(
                        mask=self.mask, max_size=self.max_size, allow_rsv=self.allow_rsv
                    )
                    self._need = next(self._gen)
                if len(self._buffer) < self._need:
                    return frames
                chunk = bytes(self._buffer[: self._need])
                del self._buffer[: self._need]
                try:
                    self._need = self._gen.send(chunk)
                except StopIteration as done:
                    frames.append(done.value)
                    self._gen = None
        except LabkitError as exc:
            self._failed = exc
            raise
