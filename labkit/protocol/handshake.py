"""The opening handshake, both sides, as pure functions over bytes.

RFC 6455, section 4: the client sends an HTTP/1.1 ``GET`` with
``Upgrade: websocket``, ``Connection: Upgrade``, a random
``Sec-WebSocket-Key`` and ``Sec-WebSocket-Version: 13``; the server proves it
understood by answering ``101 Switching Protocols`` with
``Sec-WebSocket-Accept`` = base64(SHA-1(key + GUID)) (section 1.3).

Server side: :func:`parse_request` checks a request and returns a
:class:`HandshakeRequest`, or raises :class:`~labkit.errors.HandshakeError`
naming the one thing that is wrong and the HTTP status to answer with;
:func:`build_accept_response` and :func:`build_reject_response` produce the
answer.

Client side: :func:`build_request` and :func:`check_accept_response`.

Statuses chosen where the RFCs leave a choice:

* no ``Upgrade`` header at all (a plain HTTP ``GET``): **426 Upgrade
  Required**. RFC 7231, section 6.5.15: the server refuses plain HTTP here but
  would serve the client after it upgrades, and says to what in ``Upgrade``.
* ``Upgrade`` present but without the ``websocket`` token, a missing or wrong
  ``Connection``, ``Sec-WebSocket-Key`` or ``Host``: **400 Bad Request**, the
  status RFC 6455, section 4.2.1 suggests for a malformed handshake.
* ``Sec-WebSocket-Version`` other than 13: **426** with
  ``Sec-WebSocket-Version: 13`` (RFC 6455, section 4.4), raised as
  :class:`~labkit.errors.UnsupportedVersion`. A missing version is a
  malformed handshake (400).
* a method other than ``GET``: **405 Method Not Allowed** with ``Allow: GET``.
* a head over the size or count limits: **431** (RFC 6585, section 5).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from labkit.errors import HandshakeError, UnsupportedVersion
from labkit.i18n import N_
from labkit.protocol.http11 import (
    MAX_HEAD_SIZE,
    MAX_HEADERS,
    Headers,
    HeadersLike,
    parse_head,
    serialize_headers,
    tokens,
)
from labkit.protocol.policy import require_host

__all__ = [
    "GUID",
    "VERSION",
    "HandshakeRequest",
    "HandshakeResponse",
    "accept_key",
    "build_accept_response",
    "build_error_response",
    "build_reject_response",
    "build_request",
    "check_accept_response",
    "check_version",
    "make_key",
    "parse_request",
    "parse_response",
]

#: The fixed string every server appends to the key (RFC 6455, section 1.3).
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: The only protocol version RFC 6455 defines (section 4.1, item 9).
VERSION = "13"

_BAD_UPGRADE = N_("Upgrade must be 'websocket', got {value}")
_BAD_CONNECTION = N_("Connection must contain 'Upgrade', got {value}")


def accept_key(key: str) -> str:
    """Compute ``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key``.

    RFC 6455, section 1.3 and 4.2.2 item 5.4: concatenate the key (as sent,
    still in base64) with :data:`GUID`, hash with SHA-1, encode in base64.

    >>> accept_key("dGhlIHNhbXBsZSBub25jZQ==")
    's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
    """
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def make_key(randbytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """Make a fresh ``Sec-WebSocket-Key``: 16 random bytes in base64.

    RFC 6455, section 4.1 item 7: the nonce must be chosen at random for each
    connection. Pass ``randbytes`` to get a predictable key in tests.
    """
    return base64.b64encode(randbytes(16)).decode("ascii")


@dataclass(frozen=True)
class HandshakeRequest:
    """A client's opening handshake that passed every check of section 4.2.1.

    Attributes:
        method: always ``"GET"``.
        path: the request target without the query, e.g. ``"/chat"``.
        query: what followed ``?`` in the target (``""`` if nothing).
        headers: every header, case-insensitive.
        key: ``Sec-WebSocket-Key``, still in base64.
        version: ``Sec-WebSocket-Version`` (always ``"13"``).
        host: the ``Host`` header.
        origin: the ``Origin`` header browsers send (section 10.2), or ``None``.
        protocols: the subprotocols offered in ``Sec-WebSocket-Protocol``.
    """

    method: str
    path: str
    query: str
    headers: Headers
    key: str
    version: str
    host: str
    origin: str | None = None
    protocols: tuple[str, ...] = field(default=())

    @property
    def target(self) -> str:
        """The request target as sent: path plus ``?query`` if any."""
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(frozen=True)
class HandshakeResponse:
    """A server's answer to an opening handshake, as a client reads it.

    Attributes:
        status: the HTTP status code (101 when the server accepted).
        reason: the reason phrase, e.g. ``"Switching Protocols"``.
        headers: every header, case-insensitive.
        body: the bytes after the head (the text of a refusal; for a 101,
            any WebSocket frames the server already sent).
    """

    status: int
    reason: str
    headers: Headers
    body: bytes = b""


def _single(headers: Headers, name: str) -> str | None:
    """The value of a header that must appear at most once."""
    values = headers.get_all(name)
    if len(values) > 1:
        raise HandshakeError(
            N_("{name} sent {count} times; expected once"),
            header=name,
            name=name,
            count=len(values),
        )
    return values[0] if values else None


def check_version(version: str) -> None:
    """Refuse any ``Sec-WebSocket-Version`` but 13 (RFC 6455, section 4.4: 426).

    Raises:
        UnsupportedVersion: carrying status 426; the answer names version 13
            (:func:`build_reject_response` adds the header).
    """
    if version.strip() != VERSION:
        raise UnsupportedVersion(version)


def parse_request(
    data: bytes, *, max_size: int = MAX_HEAD_SIZE, max_headers: int = MAX_HEADERS
) -> HandshakeRequest:
    """Parse and check a client's opening handshake (RFC 6455, section 4.2.1).

    Checks run in the order of section 4.2.1, so the error names the first
    problem a reader of the RFC would spot.

    Args:
        data: the raw request head; bytes after it are ignored.
        max_size: the largest head accepted.
        max_headers: the most header lines accepted.

    Returns:
        The checked request.

    Raises:
        HandshakeError: with ``.status`` (400, 405, 426 or 431) and ``.header``
            naming the header at fault (``None`` for the request line).
        UnsupportedVersion: ``Sec-WebSocket-Version`` is not 13 (426).
    """
    request_line, headers, _ = parse_head(data, max_size=max_size, max_headers=max_headers)

    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[1] or parts[2] != "HTTP/1.1":
        raise HandshakeError(
            N_("request line must be 'GET <path> HTTP/1.1', got {line}"), line=repr(request_line)
        )
    method, target, _ = parts
    if method != "GET":
        raise HandshakeError(
            N_("method must be GET, got {method}"), status=405, method=repr(method)
        )
    if not target.startswith("/"):
        # Origin-form only (RFC 7230, section 5.3.1): a WebSocket server is not a proxy.
        raise HandshakeError(
            N_("request target must start with '/', got {target}"), target=repr(target)
        )
    path, _, query = target.partition("?")

    host = require_host(_single(headers, "Host"))

    upgrade = headers.get("Upgrade")
    if upgrade is None:
        raise HandshakeError(
            N_("not a WebSocket request: no 'Upgrade: websocket' header"),
            header="Upgrade",
            status=426,
        )
    if "websocket" not in tokens(upgrade):
        raise HandshakeError(_BAD_UPGRADE, header="Upgrade", value=repr(upgrade))

    connection = headers.get("Connection")
    if "upgrade" not in tokens(connection):
        raise HandshakeError(_BAD_CONNECTION, header="Connection", value=repr(connection))

    key = _single(headers, "Sec-WebSocket-Key")
    if key is None:
        raise HandshakeError(N_("missing Sec-WebSocket-Key header"), header="Sec-WebSocket-Key")
    try:
        nonce = base64.b64decode(key.encode("latin-1"), validate=True)
    except binascii.Error:
        nonce = b""
    if len(nonce) != 16:
        raise HandshakeError(
            N_("Sec-WebSocket-Key must be 16 bytes in base64, got {key}"),
            header="Sec-WebSocket-Key",
            key=repr(key),
        )

    version = _single(headers, "Sec-WebSocket-Version")
    if version is None:
        raise HandshakeError(
            N_("missing Sec-WebSocket-Version header"), header="Sec-WebSocket-Version"
        )
    check_version(version)

    return HandshakeRequest(
        method=method,
        path=path,
        query=query,
        headers=headers,
        key=key,
        version=version,
        host=host,
        origin=headers.get("Origin"),
        protocols=tuple(tokens(headers.get("Sec-WebSocket-Protocol"))),
    )


def _head(status: int, headers: HeadersLike, reason: str | None = None) -> bytes:
    """A response status line plus header lines plus the empty line."""
    phrase = reason if reason is not None else _reason(status)
    status_line = f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")
    return status_line + serialize_headers(headers) + b"\r\n"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def build_accept_response(
    request: HandshakeRequest,
    *,
    protocol: str | None = None,
    extra_headers: HeadersLike = (),
) -> bytes:
    """Build the ``101 Switching Protocols`` answer (RFC 6455, section 4.2.2).

    Args:
        request: the checked handshake.
        protocol: the subprotocol chosen among ``request.protocols``, if any.
        extra_headers: more headers to send (e.g. ``Server``).
    """
    headers = Headers(
        [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", accept_key(request.key)),
        ]
    )
    if protocol is not None:
        headers.add("Sec-WebSocket-Protocol", protocol)
    headers.extend(extra_headers)
    return _head(101, headers)


def build_reject_response(
    status: int, body: str | bytes = "", extra_headers: HeadersLike = ()
) -> bytes:
    """Build an HTTP error answer that refuses the handshake.

    RFC 6455, section 4.2.2: a server that does not accept answers with an
    ordinary HTTP status. A ``426`` also carries ``Upgrade: websocket`` (RFC
    7231, section 6.5.15) and ``Sec-WebSocket-Version: 13`` (RFC 6455,
    section 4.4), telling the client what it should have sent. The connection
    is closed after the answer.

    Args:
        status: the HTTP status, e.g. 400, 403, 426.
        body: a short text for a human; ``str`` is sent as UTF-8.
        extra_headers: more headers (e.g. ``Allow: GET`` for a 405).
    """
    payload = body.encode("utf-8") if isinstance(body, str) else body
    headers = Headers(
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(payload))),
        ]
    )
    if status == 426:
        headers.add("Connection", "Upgrade, close")
        headers.add("Upgrade", "websocket")
        headers.add("Sec-WebSocket-Version", VERSION)
    else:
        headers.add("Connection", "close")
    headers.extend(extra_headers)
    return _head(status, headers) + payload


def build_error_response(error: HandshakeError, body: str | None = None) -> bytes:
    """Build the answer for a failed :func:`parse_request`.

    Uses the status the error carries and its message, in English whatever
    language the kit speaks (:attr:`~labkit.errors.ProtocolError.english`), as
    the body, and adds ``Allow: GET`` to a 405 (RFC 7231, section 6.5.5 requires it).
    """
    extra = [("Allow", "GET")] if error.status == 405 else []
    text = body if body is not None else f"{error.english}\n"
    return build_reject_response(error.status, text, extra)


def build_request(
    host: str,
    path: str = "/",
    key: str | None = None,
    extra_headers: HeadersLike = (),
) -> bytes:
    """Build a client's opening handshake (RFC 6455, section 4.1).

    Args:
        host: the ``Host`` header, e.g. ``"127.0.0.1:8765"``.
        path: the request target, e.g. ``"/chat?room=1"``.
        key: the ``Sec-WebSocket-Key``; a fresh one from :func:`make_key` if
            ``None``. Keep it to check the answer.
        extra_headers: more headers, e.g. ``Origin``.
    """
    headers = Headers(
        [
            ("Host", host),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key if key is not None else make_key()),
            ("Sec-WebSocket-Version", VERSION),
        ]
    )
    headers.extend(extra_headers)
    return f"GET {path} HTTP/1.1\r\n".encode("latin-1") + serialize_headers(headers) + b"\r\n"


def parse_response(data: bytes, *, max_size: int = MAX_HEAD_SIZE) -> HandshakeResponse:
    """Parse a server's answer, whatever its status.

    Raises:
        HandshakeError: the head is incomplete or its status line malformed.
    """
    status_line, headers, end = parse_head(data, max_size=max_size)
    version, _, rest = status_line.partition(" ")
    code, _, reason = rest.partition(" ")
    if version != "HTTP/1.1" or len(code) != 3 or not code.isdigit():
        raise HandshakeError(N_("malformed status line {line}"), line=repr(status_line))
    return HandshakeResponse(int(code), reason, headers, bytes(data[end:]))


def check_accept_response(data: bytes, key: str) -> HandshakeResponse:
    """Check that a server accepted our handshake (RFC 6455, section 4.2.2).

    Args:
        data: the raw answer, at least its whole head.
        key: the ``Sec-WebSocket-Key`` we sent.

    Returns:
        The parsed ``101`` response.

    Raises:
        HandshakeError: the server refused (``.status`` is its status), or it
            accepted without proving it understood WebSocket (wrong
            ``Upgrade``, ``Connection`` or ``Sec-WebSocket-Accept``).
    """
    response = parse_response(data)
    if response.status != 101:
        raise HandshakeError(
            N_("server refused the handshake: {code} {reason}"),
            status=response.status,
            code=response.status,
            reason=response.reason,
        )
    headers = response.headers
    upgrade, connection = headers.get("Upgrade"), headers.get("Connection")
    if "websocket" not in tokens(upgrade):
        raise HandshakeError(_BAD_UPGRADE, header="Upgrade", value=repr(upgrade))
    if "upgrade" not in tokens(connection):
        raise HandshakeError(_BAD_CONNECTION, header="Connection", value=repr(connection))
    expected = accept_key(key)
    got = headers.get("Sec-WebSocket-Accept")
    if got != expected:
        raise HandshakeError(
            N_("Sec-WebSocket-Accept should be {expected}, got {got}"),
            header="Sec-WebSocket-Accept",
            expected=repr(expected),
            got=repr(got),
        )
    return response
