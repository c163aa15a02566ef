"""Bad opening handshakes against every server: each is refused, and serving goes on.

RFC 6455, section 4.2.1: a server that gets a request that is not a valid
WebSocket handshake stops processing it and answers an HTTP error (such as
400); section 4.4: an unknown version gets 426 naming the versions it speaks.
A connection that is not even HTTP may simply be dropped. Whatever the
mistake, the next client must be served as if nothing happened.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable

import pytest

from labkit.runner import ServerHandle
from tests.reliability.helpers import SERVERS, TIMEOUT, still_serves
from tests.support import handshake_request, http_exchange

#: Seconds a client has to finish its handshake in these tests (default 10).
OPEN_TIMEOUT = 0.5
DROPPED = 0  # no HTTP answer at all: the server closed the connection

_rng = random.Random(6455)
_NOISE = bytes(b for b in _rng.randbytes(4000) if b not in b"\r\n")[:2000] + b"\r\n\r\n"


def _header_lines(port: int, count: int) -> bytes:
    return handshake_request(port, **{f"X_Filler_{i}": "v" for i in range(count)})


Build = Callable[[int], bytes]

#: name: (request builder, expected status for echo, chat, raw).
CASES: dict[str, tuple[Build, dict[str, int]]] = {
    "no Sec-WebSocket-Key": (
        lambda p: handshake_request(p, Sec_WebSocket_Key=None),
        {"echo": 400, "chat": 400, "raw": 400},
    ),
    "key of 5 bytes": (
        lambda p: handshake_request(p, Sec_WebSocket_Key="c2hvcnQ="),
        {"echo": 400, "chat": 400, "raw": 400},
    ),
    "key not base64": (
        lambda p: handshake_request(p, Sec_WebSocket_Key="!!not base64, 24 chars!!"),
        {"echo": 400, "chat": 400, "raw": 400},
    ),
    # A plain GET of "/" is how a browser asks for the chat page: it gets it.
    "no Upgrade": (
        lambda p: handshake_request(p, Upgrade=None),
        {"echo": 426, "chat": 200, "raw": 426},
    ),
    "no Upgrade, other path": (
        lambda p: handshake_request(p, "/socket", Upgrade=None),
        {"echo": 426, "chat": 426, "raw": 426},
    ),
    "no Connection": (
        lambda p: handshake_request(p, Connection=None),
        {"echo": 426, "chat": 426, "raw": 400},
    ),
    "Connection: keep-alive": (
        lambda p: handshake_request(p, Connection="keep-alive"),
        {"echo": 426, "chat": 426, "raw": 400},
    ),
    "version 8": (
        lambda p: handshake_request(p, Sec_WebSocket_Version="8"),
        {"echo": 426, "chat": 426, "raw": 426},
    ),
    "version not a number": (
        lambda p: handshake_request(p, Sec_WebSocket_Version="thirteen"),
        {"echo": 426, "chat": 426, "raw": 426},
    ),
    "no version": (
        lambda p: handshake_request(p, Sec_WebSocket_Version=None),
        {"echo": 400, "chat": 400, "raw": 400},
    ),
    "no Host": (
        lambda p: handshake_request(p, Host=None),
        {"echo": 400, "chat": 400, "raw": 400},
    ),
    "POST": (
        lambda p: handshake_request(p).replace(b"GET", b"POST", 1),
        {"echo": 405, "chat": 405, "raw": 405},
    ),
    "DELETE": (
        lambda p: handshake_request(p).replace(b"GET", b"DELETE", 1),
        {"echo": 405, "chat": 405, "raw": 405},
    ),
    "HTTP/1.0": (
        lambda p: handshake_request(p).replace(b"HTTP/1.1", b"HTTP/1.0", 1),
        {"echo": 505, "chat": 505, "raw": 400},
    ),
    "TLS client hello": (
        lambda p: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        {"echo": DROPPED, "chat": DROPPED, "raw": 400},
    ),
    "2000 random bytes": (
        lambda p: _NOISE,
        {"echo": DROPPED, "chat": DROPPED, "raw": 400},
    ),
    "a 20 000-byte header": (
        lambda p: handshake_request(p, X_Filler="a" * 20_000),
        {"echo": 431, "chat": 431, "raw": 431},
    ),
    "300 header lines": (
        lambda p: _header_lines(p, 300),
        {"echo": 431, "chat": 431, "raw": 431},
    ),
}


@pytest.fixture(params=sorted(SERVERS))
def server(request: pytest.FixtureRequest, serve) -> tuple[str, ServerHandle]:
    """Each of the three servers, with a short handshake timeout."""
    kind = request.param
    return kind, serve(SERVERS[kind](open_timeout=OPEN_TIMEOUT))


@pytest.mark.parametrize("case", CASES)
def test_bad_handshake_is_refused_and_serving_goes_on(server, case: str) -> None:
    """The bad request gets its HTTP error (or a dropped connection); a fresh client is served."""
    kind, handle = server
    build, expected = CASES[case]
    status, headers, body = http_exchange(handle.port, build(handle.port), timeout=TIMEOUT)
    assert status == expected[kind], (status, body[:200])
    if status == DROPPED:
        assert body == b""
    elif status == 426 and case.startswith("version"):
        assert headers["sec-websocket-version"] == "13"  # RFC 6455, section 4.4
    elif status != 200:
        assert body, "an HTTP error says in words what was wrong"
    still_serves(kind, handle)


@pytest.mark.parametrize(
    "sent", [b"", b"GET / HTTP/1.1\r\nHost: x\r\n"], ids=["silent", "half a request"]
)
def test_unfinished_handshake_is_freed_by_the_timeout(server, sent: bytes) -> None:
    """A client that never finishes its handshake is hung up on after the open timeout."""
    kind, handle = server
    with socket.create_connection(("127.0.0.1", handle.port), timeout=TIMEOUT) as sock:
        started = time.monotonic()
        sock.sendall(sent)
        answer = b""
        while chunk := sock.recv(4096):  # ends when the server hangs up
            answer += chunk
        elapsed = time.monotonic() - started
    # The raw server says why (408); websockets just closes the connection.
    assert answer.startswith(b"HTTP/1.1 408 ") if kind == "raw" else answer == b""
    assert OPEN_TIMEOUT * 0.9 <= elapsed < OPEN_TIMEOUT + 3
    still_serves(kind, handle)


def test_a_hundred_stalled_handshakes_do_not_block_a_fresh_client(server) -> None:
    """While 100 connections sit silent, a fresh client is served; then all 100 are freed."""
    kind, handle = server
    stalled = [
        socket.create_connection(("127.0.0.1", handle.port), timeout=TIMEOUT) for _ in range(100)
    ]
    try:
        started = time.monotonic()
        still_serves(kind, handle)
        assert time.monotonic() - started < OPEN_TIMEOUT  # served before any timeout fired
        for sock in stalled:
            while sock.recv(4096):  # an answer (raw: 408), then the end of the stream
                pass
        assert time.monotonic() - started < OPEN_TIMEOUT + 3
    finally:
        for sock in stalled:
            sock.close()
