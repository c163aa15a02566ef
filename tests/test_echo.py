"""Tests for labkit.echo: the tutorial's first middleware."""

from __future__ import annotations

import socket
import struct

import pytest
from websockets.sync.client import connect

import labkit
from tests.support import handshake_request, read_http_head


@pytest.fixture
def echo():
    server = labkit.start(labkit.echo_app(), name="echo-test")
    yield server
    server.stop()


def test_echo_sends_text_as_text_and_binary_as_binary(echo):
    """RFC 6455, section 5.6: the echo keeps each message's type."""
    with connect(echo.url) as ws:
        ws.send("héllo")
        assert ws.recv(timeout=5) == "héllo"
        ws.send(b"\x00\xff")
        assert ws.recv(timeout=5) == b"\x00\xff"


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
def test_echo_handles_every_length_encoding(echo, size):
    """7-, 16- and 64-bit payload lengths (RFC 6455, section 5.2) round-trip."""
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    with connect(echo.url) as ws:
        ws.send(payload)
        assert ws.recv(timeout=5) == payload


def test_echo_logs_like_the_tutorial(echo):
    """Each connection logs 'connection established' and each message 'received message'.

    Messages show as Python writes them, so a newline cannot fake a log line;
    long ones are cut after 80 characters.
    """
    with connect(echo.url) as ws:
        for message in ("logged", "two\nlines", b"\x00\xff", "x" * 1000, b"y" * 1000):
            ws.send(message)
            assert ws.recv(timeout=5) == message
    lines = echo.logs()
    messages = [line.split(": ", 1)[1].split("] ", 1)[-1] for line in lines]
    assert "connection established" in messages
    assert "received message: 'logged'" in messages
    assert "received message: 'two\\nlines'" in messages
    assert "received message: b'\\x00\\xff'" in messages
    assert f"received message: '{'x' * 80}…'" in messages
    assert f"received message: b'{'y' * 80}'…" in messages


def test_echo_closes_invalid_utf8_with_1007(echo):
    """RFC 6455, section 8.1: text that is not UTF-8 fails the connection with 1007."""
    with socket.create_connection(("127.0.0.1", echo.port), timeout=5) as sock:
        sock.sendall(handshake_request(echo.port))
        status, _, rest = read_http_head(sock)
        assert status == 101
        key = b"\x01\x02\x03\x04"
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(b"\xff\xfe"))
        sock.sendall(bytes([0x81, 0x80 | 2]) + key + payload)  # masked text frame
        while len(rest) < 4:
            rest += sock.recv(16)
    assert rest[0] == 0x88  # FIN + close
    assert struct.unpack("!H", rest[2:4])[0] == 1007
