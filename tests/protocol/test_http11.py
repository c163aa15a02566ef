"""Tests for labkit.protocol.http11: heads, headers and their limits."""

import pytest

from labkit.errors import HandshakeError
from labkit.protocol.http11 import (
    MAX_HEAD_SIZE,
    Headers,
    find_head_end,
    parse_head,
    serialize_headers,
    tokens,
)


def test_headers_are_case_insensitive():
    """A header reads the same whatever the case of its name."""
    h = Headers([("Sec-WebSocket-Key", "abc")])
    assert h["sec-websocket-key"] == h["SEC-WEBSOCKET-KEY"] == "abc"
    assert "sec-websocket-key" in h
    assert h.get("Origin") is None


def test_repeated_headers_join_with_comma():
    """A header sent twice reads as one comma-separated list (RFC 7230, 3.2.2)."""
    h = Headers([("Connection", "keep-alive"), ("connection", "Upgrade")])
    assert h["Connection"] == "keep-alive, Upgrade"
    assert h.get_all("CONNECTION") == ["keep-alive", "Upgrade"]
    assert len(h) == 1
    assert list(h) == ["connection"]


def test_tokens_split_and_lowercase():
    """Comma lists split into stripped lower-case tokens, ignoring empty ones."""
    assert tokens(" keep-alive ,Upgrade,, ") == ["keep-alive", "upgrade"]
    assert tokens(None) == []


def test_find_head_end_needs_the_empty_line():
    """A head is complete only once CRLF CRLF arrived, and the index points past it."""
    assert find_head_end(b"GET / HTTP/1.1\r\nHost: x\r\n") is None
    data = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x81\x00"
    assert find_head_end(data) == len(data) - 2


def test_find_head_end_caps_the_buffer():
    """A buffer over the limit without an end is refused with 431, not waited on."""
    with pytest.raises(HandshakeError) as info:
        find_head_end(b"A" * MAX_HEAD_SIZE)
    assert info.value.status == 431
    with pytest.raises(HandshakeError):
        find_head_end(b"A" * 100 + b"\r\n\r\n", max_size=50)
    assert find_head_end(b"A" * 40, max_size=50) is None


def test_parse_head_splits_start_line_and_headers():
    """The start line, headers with their spelling, and the end index come back."""
    start, headers, end = parse_head(b"GET / HTTP/1.1\r\nHost:  a:1 \r\nX-A: 1\r\n\r\nrest")
    assert start == "GET / HTTP/1.1"
    assert headers.raw_items() == [("Host", "a:1"), ("X-A", "1")]
    assert end == len(b"GET / HTTP/1.1\r\nHost:  a:1 \r\nX-A: 1\r\n\r\n")


@pytest.mark.parametrize(
    "line",
    [b"no colon here", b"Bad Name: x", b" folded: x", b": empty name", b"X: a\x00b"],
)
def test_parse_head_rejects_malformed_lines(line):
    """Malformed, folded or control-character header lines give 400."""
    with pytest.raises(HandshakeError) as info:
        parse_head(b"GET / HTTP/1.1\r\n" + line + b"\r\n\r\n")
    assert info.value.status == 400


def test_parse_head_limits_header_count():
    """More header lines than allowed give 431."""
    head = b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 5 + b"\r\n"
    with pytest.raises(HandshakeError) as info:
        parse_head(head, max_headers=4)
    assert info.value.status == 431


def test_parse_head_requires_a_complete_head():
    """A head without its empty line is a 400, not a silent partial parse."""
    with pytest.raises(HandshakeError, match="incomplete"):
        parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n")


def test_serialize_headers_refuses_injection():
    """A value holding CR LF cannot smuggle an extra header line."""
    assert serialize_headers({"A": "1"}) == b"A: 1\r\n"
    with pytest.raises(ValueError):
        serialize_headers([("X", "1\r\nSet-Cookie: evil")])


@pytest.mark.usefixtures("chinese")
def test_a_broken_head_is_explained_in_chinese():
    """An unfinished head (400) and one over the limit (431) read in Chinese."""
    with pytest.raises(HandshakeError, match=r"^头部不完整：头字段后面没有空行（CRLF CRLF）$"):
        parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n")
    with pytest.raises(HandshakeError, match=r"^请求头部超过了 10 字节$") as big:
        find_head_end(b"x" * 10, max_size=10)
    assert big.value.status == 431
