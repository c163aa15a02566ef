"""The small part of HTTP/1.1 that a WebSocket opening handshake needs.

RFC 6455, section 4.1: the handshake is an ordinary HTTP/1.1 request and
response (RFC 7230): a start line, header lines, and an empty line. This module
finds where such a *head* ends in a byte buffer, splits it into a start line and
:class:`Headers`, and enforces limits so a peer cannot make us buffer forever.

Nothing here does I/O: every function takes and returns bytes or values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from labkit.errors import HandshakeError
from labkit.i18n import N_, _

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_SIZE",
    "Headers",
    "HeadersLike",
    "find_head_end",
    "parse_head",
    "serialize_headers",
    "tokens",
]

#: Largest request or response head (start line + headers) we accept, in bytes.
#: Browsers send a few hundred bytes; cookies can add a few KiB.
MAX_HEAD_SIZE = 16 * 1024

#: Most header lines we accept in one head.
MAX_HEADERS = 100

# A header name is an RFC 7230 "token"; a value may hold any visible
# character, space or tab, but never a bare CR or LF (header injection).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")

_TOO_BIG = N_("request head larger than {limit} bytes")

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]]
"""Anything that can extend a head: a mapping or (name, value) pairs."""


class Headers(Mapping[str, str]):
    """Case-insensitive, order-preserving HTTP headers that allow repeats.

    ``headers["upgrade"]`` and ``headers["Upgrade"]`` are the same. A header
    sent several times reads as its values joined with ``", "``, which is how
    RFC 7230, section 3.2.2 says repeated list headers combine; use
    :meth:`get_all` to see them one by one.
    """

    def __init__(self, items: HeadersLike = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self.extend(items)

    def add(self, name: str, value: str) -> None:
        """Append one header line, keeping any earlier one with the same name."""
        self._items.append((name, value))

    def extend(self, items: HeadersLike) -> None:
        """Append every header of a mapping or of (name, value) pairs."""
        pairs = items.items() if isinstance(items, Mapping) else items
        for name, value in pairs:
            self.add(name, value)

    def get_all(self, name: str) -> list[str]:
        """Every value sent for ``name``, in order (empty if absent)."""
        key = name.lower()
        return [v for n, v in self._items if n.lower() == key]

    def raw_items(self) -> list[tuple[str, str]]:
        """The header lines exactly as received, with their original spelling."""
        return list(self._items)

    def __getitem__(self, name: str) -> str:
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __iter__(self) -> Iterator[str]:
        seen: dict[str, None] = {}
        for name, _value in self._items:
            seen.setdefault(name.lower(), None)
        return iter(seen)

    def __len__(self) -> int:
        return len({n.lower() for n, _ in self._items})

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


def tokens(value: str | None) -> list[str]:
    """Split a comma-separated header value into lower-case tokens.

    ``Connection: keep-alive, Upgrade`` gives ``["keep-alive", "upgrade"]``
    (RFC 7230, section 7: the ``#rule`` list syntax).
    """
    if not value:
        return []
    return [t.strip().lower() for t in value.split(",") if t.strip()]


def find_head_end(buffer: bytes | bytearray, max_size: int = MAX_HEAD_SIZE) -> int | None:
    """Tell whether ``buffer`` holds a complete head, and where it ends.

    A stream server reads chunks into a buffer and calls this after each one;
    it stops reading as soon as the answer is not ``None``, and the cap means
    a peer that never sends the empty line cannot fill our memory.

    Args:
        buffer: the bytes received so far.
        max_size: the largest head accepted.

    Returns:
        The index just past the ``b"\\r\\n\\r\\n"`` that ends the head, or
        ``None`` if more bytes are needed.

    Raises:
        HandshakeError: status 431 when the head is (or must become) larger
            than ``max_size``.
    """
    end = bytes(buffer[: max_size + 4]).find(b"\r\n\r\n")
    if end == -1:
        if len(buffer) >= max_size:
            raise HandshakeError(_TOO_BIG, status=431, limit=max_size)
        return None
    if end + 4 > max_size:
        raise HandshakeError(_TOO_BIG, status=431, limit=max_size)
    return end + 4


def parse_head(
    data: bytes, *, max_size: int = MAX_HEAD_SIZE, max_headers: int = MAX_HEADERS
) -> tuple[str, Headers, int]:
    """Split an HTTP/1.1 head into its start line and headers.

    Args:
        data: bytes starting with a head; bytes after the empty line are left
            alone (after a handshake they already belong to WebSocket frames).
        max_size: the largest head accepted.
        max_headers: the most header lines accepted.

    Returns:
        ``(start_line, headers, end)`` where ``end`` is the index just past the
        head.

    Raises:
        HandshakeError: 400 for a head that is incomplete or malformed, 431 for
            one over the limits (RFC 6585, section 5).
    """
    end = find_head_end(data, max_size)
    if end is None:
        raise HandshakeError(N_("incomplete head: no empty line (CRLF CRLF) after the headers"))
    # Latin-1 maps every byte to one character, so decoding never fails and
    # odd bytes show up in the error messages instead of hiding behind a
    # UnicodeDecodeError.
    lines = data[: end - 4].decode("latin-1").split("\r\n")
    start_line, header_lines = lines[0], lines[1:]
    if len(header_lines) > max_headers:
        raise HandshakeError(N_("more than {limit} header lines"), status=431, limit=max_headers)
    headers = Headers()
    for line in header_lines:
        if line[:1] in (" ", "\t"):
            # RFC 7230, section 3.2.4: obsolete line folding must be rejected.
            raise HandshakeError(N_("folded header line {line}"), line=repr(line))
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            raise HandshakeError(N_("malformed header line {line}"), line=repr(line))
        value = value.strip(" \t")
        if not _VALUE.fullmatch(value):
            raise HandshakeError(N_("invalid character in header {name}"), header=name, name=name)
        headers.add(name, value)
    return start_line, headers, end


def serialize_headers(headers: HeadersLike) -> bytes:
    """Encode header lines as ``Name: value\\r\\n`` bytes (without the empty line).

    Raises:
        ValueError: a name is not a token or a value holds CR/LF, which would
            let a caller inject extra headers.
    """
    pairs = (
        headers.raw_items()
        if isinstance(headers, Headers)
        else (headers.items() if isinstance(headers, Mapping) else headers)
    )
    out = []
    for name, value in pairs:
        if not _TOKEN.fullmatch(name) or not _VALUE.fullmatch(value):
            raise ValueError(
                _("invalid header {name}: {value}").format(name=repr(name), value=repr(value))
            )
        out.append(f"{name}: {value}\r\n")
    return "".join(out).encode("latin-1")
