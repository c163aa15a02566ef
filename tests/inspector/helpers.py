"""Helpers for the inspector tests: kit-loop task counts, free ports, a raw client."""

from __future__ import annotations

import socket

from labkit.inspector import Direction, FrameRecord, Record
from labkit.protocol import build_request, check_accept_response, find_head_end, make_key

__all__ = ["frame_is", "raw_websocket", "recv_until_eof"]


def raw_websocket(port: int) -> socket.socket:
    """Open a WebSocket by hand (labkit.protocol) and return the socket after the 101."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = make_key()
    sock.sendall(build_request(f"127.0.0.1:{port}", key=key))
    data = b""
    while find_head_end(data) is None:
        chunk = sock.recv(4096)
        assert chunk, "connection closed during the handshake"
        data += chunk
    check_accept_response(data, key)
    return sock


def recv_until_eof(sock: socket.socket) -> bytes:
    """Read until the peer stops sending (EOF); the socket timeout bounds the wait."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def frame_is(direction: Direction, opcode: str, **fields: object):
    """A predicate for ``wait_for``: a frame going ``direction`` with ``opcode`` and fields."""

    def match(record: Record) -> bool:
        return (
            isinstance(record, FrameRecord)
            and record.direction is direction
            and record.opcode == opcode
            and all(getattr(record, k) == v for k, v in fields.items())
        )

    return match
