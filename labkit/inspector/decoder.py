"""Decode both directions of one TCP connection into records, without any I/O.

Theory of operation
-------------------
A WebSocket connection starts as HTTP/1.1 and, after ``101 Switching
Protocols``, carries frames in both directions (RFC 6455, sections 4 and 5).
:class:`WireDecoder` is fed the bytes of each direction as they pass and
returns :class:`~labkit.inspector.records.Record` values. Each direction is a
small state machine::

    HEAD    --head complete-->              client: WAIT    server: (see below)
    WAIT    --server answered 101-->        FRAMES
    server HEAD --101-->                    FRAMES (and the client's WAIT -> FRAMES)
    server HEAD --any other status-->       RAW both ways (plain HTTP from here on)
    any     --bytes that do not decode-->   RAW (an ErrorRecord says why)

``RAW`` means "stop decoding": once a frame boundary is lost, nothing after
it can be trusted, so one error is reported and the rest is only counted. The
decoder never raises; the proxy forwards every byte whatever it returns.

The inspector sits between two peers and must show what they *really* send,
rule-breaking included, so it decodes more leniently than an endpoint would:
frames of both masking kinds are accepted (a client frame without a mask gets a
``note``, section 5.1), and RSV bits are read and shown rather than refused,
because an extension such as permessage-deflate (RFC 7692) may have been
negotiated in the handshake. Compressed messages are inflated for the preview.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass, field
from enum import Enum

from labkit.errors import LabkitError
from labkit.inspector.records import (
    Direction,
    ErrorRecord,
    FrameRecord,
    HandshakeRecord,
    Record,
)
from labkit.protocol import (
    MAX_HEAD_SIZE,
    Frame,
    IncompleteFrame,
    Opcode,
    close_code_name,
    decode_frame,
    find_head_end,
    parse_close,
    parse_head,
)
from labkit.protocol.http11 import tokens

from ..i18n import _

__all__ = ["KEEP_PAYLOAD", "MAX_INSPECTED_FRAME", "PREVIEW_CHARS", "DecoderState", "WireDecoder"]

#: Largest frame decoded, in bytes. A frame is held whole before it is shown;
#: a bigger one ends decoding for its direction (it is still forwarded).
MAX_INSPECTED_FRAME = 16 * 2**20
#: Bytes of each payload kept in a :class:`FrameRecord`.
KEEP_PAYLOAD = 1024
#: Characters of text (or bytes of hex) shown in a preview.
PREVIEW_CHARS = 60

_C2S = Direction.CLIENT_TO_SERVER
_S2C = Direction.SERVER_TO_CLIENT

# Bytes that never occur in an HTTP head: control characters other than TAB,
# CR and LF (RFC 7230, section 3.2). Their presence means "not HTTP at all".
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A request line starts with a method, a token of capitals (RFC 7231, 4.1).
_METHOD = re.compile(rb"[A-Z]{1,20}")
# The empty block that ends a deflated message and is stripped on the wire
# (RFC 7692, section 7.2.1); put back before inflating.
_DEFLATE_TAIL = b"\x00\x00\xff\xff"
_INFLATE_STEP = 64 * 1024


class DecoderState(Enum):
    """What one direction's bytes are expected to be next."""

    HEAD = "head"  # an HTTP request or response head
    WAIT = "wait"  # the client waits for the server's answer (section 4.1)
    FRAMES = "frames"  # WebSocket frames (section 5)
    RAW = "raw"  # not decoded any more; only counted


@dataclass
class _Side:
    """The decoding state of one direction."""

    state: DecoderState = DecoderState.HEAD
    buffer: bytearray = field(default_factory=bytearray)
    need: int = 2  # bytes needed before decoding is worth retrying
    seen: int = 0  # every byte that passed, decoded or not
    message: Opcode | None = None  # opcode of the fragmented message in progress
    text: codecs.IncrementalDecoder | None = None  # for previews of a text message
    inflate: zlib._Decompress | None = None  # set when permessage-deflate is on
    compressed: bool = False  # the message in progress is deflated (RSV1)


class WireDecoder:
    """Turn the bytes of one proxied connection into records, never raising.

    >>> d = WireDecoder(conn=1)
    >>> d.feed(Direction.CLIENT_TO_SERVER, b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")[0].start_line
    'GET / HTTP/1.1'

    Args:
        conn: the connection's number, copied into every record.
        max_frame: largest frame decoded (see :data:`MAX_INSPECTED_FRAME`).
        keep_payload: payload bytes kept per frame record.
        preview: characters of text, or bytes shown in hex, per preview.
    """

    def __init__(
        self,
        conn: int,
        *,
        max_frame: int = MAX_INSPECTED_FRAME,
        keep_payload: int = KEEP_PAYLOAD,
        preview: int = PREVIEW_CHARS,
    ) -> None:
        self.conn = conn
        self.max_frame = max_frame
        self.keep_payload = keep_payload
        self.preview = preview
        self._sides = {_C2S: _Side(), _S2C: _Side()}

    def state(self, direction: Direction) -> DecoderState:
        """What ``direction``'s bytes are decoded as now."""
        return self._sides[direction].state

    def bytes_seen(self, direction: Direction) -> int:
        """How many bytes went ``direction`` so far."""
        return self._sides[direction].seen

    def feed(self, direction: Direction, data: bytes) -> list[Record]:
        """Take bytes that went ``direction``; return the records they complete.

        Records for the *other* direction can come out too: bytes a client
        sent before the server's ``101`` are decoded once it arrives.
        """
        side = self._sides[direction]
        side.seen += len(data)
        if side.state is DecoderState.RAW:
            return []
        side.buffer += data
        out: list[Record] = []
        try:
            self._advance(direction, out)
        except Exception as exc:  # a bug here must never cost the observed connection
            self._fail(
                direction, _("inspector could not decode: {error}").format(error=repr(exc)), out
            )
        return out

    # --- the state machine ----------------------------------------------------

    def _advance(self, direction: Direction, out: list[Record]) -> None:
        side = self._sides[direction]
        if side.state is DecoderState.HEAD:
            self._head(direction, out)
        if side.state is DecoderState.WAIT and len(side.buffer) > MAX_HEAD_SIZE:
            self._fail(direction, _("client sent data before the server answered"), out)
        if side.state is DecoderState.FRAMES:
            self._frames(direction, out)

    def _fail(self, direction: Direction, message: str, out: list[Record]) -> None:
        side = self._sides[direction]
        out.append(ErrorRecord(self.conn, direction, message, bytes(side.buffer[:64])))
        self._go_raw(direction)

    def _go_raw(self, direction: Direction) -> None:
        side = self._sides[direction]
        side.state = DecoderState.RAW
        side.buffer = bytearray()

    def _head(self, direction: Direction, out: list[Record]) -> None:
        side = self._sides[direction]
        buf = side.buffer
        problem = _not_http(buf, request=direction is _C2S)
        if problem:
            self._fail(direction, problem, out)
            return
        try:
            end = find_head_end(buf)
            if end is None:
                return
            start_line, headers, _size = parse_head(bytes(buf[:end]))
        except LabkitError as exc:
            self._fail(direction, _("bad HTTP head: {error}").format(error=exc), out)
            return
        head = bytes(buf[:end]).decode("latin-1")
        del buf[:end]
        pairs = tuple(headers.raw_items())
        if direction is _C2S:
            out.append(HandshakeRecord(self.conn, direction, start_line, pairs, head))
            side.state = DecoderState.WAIT
            return
        version, _sep, rest = start_line.partition(" ")
        code, _sep, reason = rest.partition(" ")
        if not version.startswith("HTTP/") or not (len(code) == 3 and code.isdigit()):
            self._fail(direction, _("malformed status line {line!r}").format(line=start_line), out)
            return
        status = int(code)
        out.append(HandshakeRecord(self.conn, direction, start_line, pairs, head, status, reason))
        if status != 101:
            # Not upgraded: the rest is plain HTTP (a page, a refusal), not frames.
            self._go_raw(_S2C)
            self._go_raw(_C2S)
            return
        deflate = "permessage-deflate" in [
            t.split(";")[0].strip() for t in tokens(headers.get("Sec-WebSocket-Extensions"))
        ]
        for d in (_C2S, _S2C):
            if deflate:
                self._sides[d].inflate = zlib.decompressobj(wbits=-15)
        side.state = DecoderState.FRAMES
        client = self._sides[_C2S]
        if client.state is DecoderState.WAIT:
            client.state = DecoderState.FRAMES
            self._frames(_C2S, out)

    def _frames(self, direction: Direction, out: list[Record]) -> None:
        side = self._sides[direction]
        buf = side.buffer
        while side.state is DecoderState.FRAMES and len(buf) >= side.need:
            # RSV bits are kept, not refused: the handshake may have enabled an
            # extension (section 5.2); _record says whether one explains them.
            try:
                frame, used = decode_frame(buf, max_size=self.max_frame, allow_rsv=True)
            except IncompleteFrame as exc:
                side.need = len(buf) + exc.needed
                return
            except LabkitError as exc:
                self._fail(direction, _("not a valid frame: {error}").format(error=exc), out)
                return
            del buf[:used]
            side.need = 2
            out.append(self._record(direction, frame))

    # --- one frame ----------------------------------------------------------------

    def _record(self, direction: Direction, frame: Frame) -> FrameRecord:
        side = self._sides[direction]
        opcode, rsv = frame.opcode, frame.rsv
        notes: list[str] = []
        if frame.masked != (direction is _C2S):
            notes.append(
                _("client frames must be masked (section 5.1)")
                if direction is _C2S
                else _("server frames must not be masked (section 5.1)")
            )
        if opcode in (Opcode.TEXT, Opcode.BINARY):
            if side.message is not None:
                note = _("{opcode} frame inside an unfinished message (section 5.4)")
                notes.append(note.format(opcode=opcode.name))
            side.message = opcode
            side.compressed = rsv[0] and side.inflate is not None
            side.text = (
                codecs.getincrementaldecoder("utf-8")("replace") if opcode is Opcode.TEXT else None
            )
        elif opcode is Opcode.CONT and side.message is None:
            notes.append(_("continuation frame without a message to continue (section 5.4)"))
        # permessage-deflate marks the first frame of a deflated message with
        # RSV1 (RFC 7692, section 6); every other RSV bit needs an extension.
        deflated_start = opcode in (Opcode.TEXT, Opcode.BINARY) and side.compressed
        if any(rsv) and not (rsv == (True, False, False) and deflated_start):
            notes.append(_("RSV bit set but no extension negotiated for it (section 5.2)"))

        close_code: int | None = None
        close_reason: str | None = None
        if opcode is Opcode.CLOSE:
            try:
                code, close_reason = parse_close(frame.payload)
            except LabkitError as exc:
                preview = _("invalid close payload: {error}").format(error=exc)
                notes.append(str(exc))
            else:
                close_code = int(code)
                preview = f"{close_code} {close_code_name(close_code)}"
                if close_reason:
                    preview += f" {close_reason!r}"
        elif opcode.is_control or side.message is None:
            preview = self._hex(frame.payload)
        else:
            preview = self._data_preview(side, frame)
            if frame.fin:
                side.message, side.text, side.compressed = None, None, False

        return FrameRecord(
            conn=self.conn,
            direction=direction,
            fin=frame.fin,
            rsv=rsv,
            opcode=opcode.name,
            opcode_value=int(opcode),
            mask_key=frame.mask_key.hex() if frame.mask_key is not None else None,
            length=len(frame.payload),
            payload=frame.payload[: self.keep_payload],
            preview=preview,
            close_code=close_code,
            close_reason=close_reason,
            note="; ".join(notes),
        )

    def _data_preview(self, side: _Side, frame: Frame) -> str:
        """Text (or hex) of a data frame, inflated first if the message is deflated."""
        data, prefix = frame.payload, ""
        if side.compressed and side.inflate is not None:
            prefix = "deflate: "
            try:
                data = _inflate(side.inflate, data, frame.fin, self.keep_payload)
            except zlib.error as exc:
                side.inflate = None  # its window is lost; later messages cannot be inflated
                return _("(could not inflate: {error})").format(error=exc)
        if side.text is None:
            return prefix + self._hex(data)
        text = side.text.decode(data, frame.fin)
        shown = repr(text[: self.preview]) + ("…" if len(text) > self.preview else "")
        return prefix + shown

    def _hex(self, data: bytes) -> str:
        if not data:
            return _("(empty)")
        n = max(1, self.preview // 3)
        return data[:n].hex(" ") + (" …" if len(data) > n else "")


def _inflate(inflate: zlib._Decompress, data: bytes, fin: bool, keep: int) -> bytes:
    """Inflate one fragment of a deflated message (RFC 7692, section 7.2.2).

    Everything is inflated, so the shared window stays right for the next
    message, but only the first ``keep`` bytes are kept: a small frame that
    inflates to gigabytes cannot fill our memory.
    """
    if fin:
        data += _DEFLATE_TAIL
    kept = bytearray()
    chunk = inflate.decompress(data, _INFLATE_STEP)
    while True:
        if len(kept) < keep:
            kept += chunk[: keep - len(kept)]
        if not inflate.unconsumed_tail:
            return bytes(kept)
        chunk = inflate.decompress(inflate.unconsumed_tail, _INFLATE_STEP)


def _not_http(buf: bytes | bytearray, *, request: bool) -> str:
    """Say why ``buf`` cannot be the start of an HTTP head, or ``""`` if it can.

    Checked on every chunk, so garbage is reported at once instead of after
    :data:`MAX_HEAD_SIZE` bytes without an empty line.
    """
    end = bytes(buf[: MAX_HEAD_SIZE + 4]).find(b"\r\n\r\n")
    scanned = buf if end == -1 else buf[:end]
    if _CONTROL.search(scanned):
        if request:
            return _("not an HTTP request: control bytes where a head was expected")
        return _("not an HTTP response: control bytes where a head was expected")
    if request:
        method = _METHOD.match(buf)
        length = method.end() if method else 0
        if length == len(buf) and length <= 20:
            return ""  # only capitals so far: could still be a method
        if length and buf[length : length + 1] == b" ":
            return ""
        return _("not an HTTP request: it does not start with a method such as GET")
    if bytes(buf[:5]) != b"HTTP/"[: len(buf[:5])]:
        return _("not an HTTP response: it does not start with HTTP/")
    return ""
