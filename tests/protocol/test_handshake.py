"""Tests for labkit.protocol.handshake: both sides of RFC 6455, section 4."""

import base64

import pytest

from labkit.errors import HandshakeError, UnsupportedVersion
from labkit.protocol.handshake import (
    GUID,
    accept_key,
    build_accept_response,
    build_error_response,
    build_reject_response,
    build_request,
    check_accept_response,
    make_key,
    parse_request,
    parse_response,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

# The example request of RFC 6455, section 1.2.
RFC_REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def request_with(**changes: str | None) -> bytes:
    """The RFC request with headers replaced (None removes one)."""
    head, _, _ = RFC_REQUEST.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    out = [lines[0]]
    for line in lines[1:]:
        name = line.split(":")[0]
        key = name.replace("-", "_").lower()
        if key in changes:
            if changes[key] is not None:
                out.append(f"{name}: {changes.pop(key)}")
            else:
                changes.pop(key)
        else:
            out.append(line)
    return ("\r\n".join(out) + "\r\n\r\n").encode()


def test_accept_key_rfc_vector():
    """accept_key gives the RFC 6455 section 1.3 answer for its sample key."""
    assert GUID == "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    assert accept_key(KEY) == ACCEPT


def test_make_key_is_16_random_bytes_in_base64():
    """make_key encodes 16 bytes from the injected source, and differs by default."""
    assert make_key(lambda n: b"the sample nonce"[:n]) == KEY
    assert len(base64.b64decode(make_key())) == 16
    assert make_key() != make_key()


def test_parse_request_reads_the_rfc_example():
    """Every field of the RFC's sample handshake lands in the typed request."""
    req = parse_request(RFC_REQUEST)
    assert (req.method, req.path, req.query, req.host) == ("GET", "/chat", "", "server.example.com")
    assert (req.key, req.version, req.origin) == (KEY, "13", "http://example.com")
    assert req.protocols == ("chat", "superchat")
    assert req.headers["upgrade"] == "websocket"


def test_parse_request_splits_the_query():
    """The target splits into path and query; target rebuilds it."""
    req = parse_request(RFC_REQUEST.replace(b"/chat", b"/chat?room=1&x=2", 1))
    assert (req.path, req.query, req.target) == ("/chat", "room=1&x=2", "/chat?room=1&x=2")


def test_parse_request_tokens_are_case_insensitive():
    """Browsers' 'keep-alive, Upgrade' and any case of 'WebSocket' are accepted."""
    req = parse_request(request_with(connection="keep-alive, upgrade", upgrade="WebSocket"))
    assert req.key == KEY


@pytest.mark.parametrize(
    ("data", "status", "header"),
    [
        (RFC_REQUEST.replace(b"GET", b"POST", 1), 405, None),
        (RFC_REQUEST.replace(b"HTTP/1.1", b"HTTP/1.0", 1), 400, None),
        (RFC_REQUEST.replace(b"GET /chat", b"GET  /chat", 1), 400, None),
        (RFC_REQUEST.replace(b"/chat", b"http://x/chat", 1), 400, None),
        (b"\x16\x03\x01garbage\r\n\r\n", 400, None),
        (request_with(host=None), 400, "Host"),
        (request_with(upgrade=None), 426, "Upgrade"),
        (request_with(upgrade="h2c"), 400, "Upgrade"),
        (request_with(connection=None), 400, "Connection"),
        (request_with(connection="keep-alive"), 400, "Connection"),
        (request_with(sec_websocket_key=None), 400, "Sec-WebSocket-Key"),
        (request_with(sec_websocket_key="not base64!"), 400, "Sec-WebSocket-Key"),
        (request_with(sec_websocket_key="AAAA"), 400, "Sec-WebSocket-Key"),
        (request_with(sec_websocket_version=None), 400, "Sec-WebSocket-Version"),
    ],
)
def test_parse_request_names_the_fault(data, status, header):
    """Each broken handshake raises one HandshakeError with its status and header."""
    with pytest.raises(HandshakeError) as info:
        parse_request(data)
    assert (info.value.status, info.value.header) == (status, header)


def test_duplicate_key_is_refused():
    """A second Sec-WebSocket-Key makes the request ambiguous: 400."""
    data = RFC_REQUEST.replace(b"\r\n\r\n", b"\r\nSec-WebSocket-Key: " + KEY.encode() + b"\r\n\r\n")
    with pytest.raises(HandshakeError) as info:
        parse_request(data)
    assert info.value.header == "Sec-WebSocket-Key"


def test_wrong_version_is_unsupported_version():
    """Version 8 raises UnsupportedVersion, which maps to 426."""
    with pytest.raises(UnsupportedVersion) as info:
        parse_request(request_with(sec_websocket_version="8"))
    assert info.value.status == 426
    assert info.value.version == "8"


def test_too_many_headers_is_431():
    """A head over the header-count limit is answered 431."""
    with pytest.raises(HandshakeError) as info:
        parse_request(RFC_REQUEST, max_headers=3)
    assert info.value.status == 431


def test_build_accept_response_matches_the_rfc():
    """The 101 answer carries Upgrade, Connection and the RFC's accept value."""
    data = build_accept_response(parse_request(RFC_REQUEST), protocol="chat")
    assert data == (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        b"Sec-WebSocket-Protocol: chat\r\n"
        b"\r\n"
    )


def test_reject_426_names_the_version():
    """A 426 refusal tells the client to upgrade to websocket version 13."""
    resp = parse_response(build_reject_response(426, "upgrade please"))
    assert (resp.status, resp.reason, resp.body) == (426, "Upgrade Required", b"upgrade please")
    assert resp.headers["Sec-WebSocket-Version"] == "13"
    assert resp.headers["Upgrade"] == "websocket"
    assert resp.headers["Content-Length"] == "14"


def test_reject_other_status_has_no_version():
    """A 403 is a plain HTTP error that closes the connection."""
    resp = parse_response(build_reject_response(403, "no", [("X-Why", "origin")]))
    assert resp.status == 403
    assert "Sec-WebSocket-Version" not in resp.headers
    assert (resp.headers["Connection"], resp.headers["X-Why"]) == ("close", "origin")


def test_error_response_for_405_adds_allow():
    """A refused POST is told which method works (RFC 7231, 6.5.5)."""
    with pytest.raises(HandshakeError) as info:
        parse_request(RFC_REQUEST.replace(b"GET", b"POST", 1))
    resp = parse_response(build_error_response(info.value))
    assert (resp.status, resp.headers["Allow"]) == (405, "GET")
    assert b"method must be GET" in resp.body


def test_build_request_round_trips_through_parse_request():
    """A request built by the client side passes the server-side checks."""
    data = build_request("localhost:8000", "/echo?x=1", KEY, {"Origin": "http://localhost"})
    req = parse_request(data)
    assert (req.host, req.path, req.query, req.key, req.origin) == (
        "localhost:8000",
        "/echo",
        "x=1",
        KEY,
        "http://localhost",
    )


def test_check_accept_response_accepts_the_right_key():
    """The server's 101 passes the client check, keeping trailing frame bytes as body."""
    data = build_accept_response(parse_request(RFC_REQUEST)) + b"\x81\x00"
    resp = check_accept_response(data, KEY)
    assert (resp.status, resp.body) == (101, b"\x81\x00")


def test_check_accept_response_refuses_a_wrong_accept():
    """A 101 computed for another key is caught by the accept check."""
    data = build_accept_response(parse_request(RFC_REQUEST))
    with pytest.raises(HandshakeError) as info:
        check_accept_response(data, make_key())
    assert info.value.header == "Sec-WebSocket-Accept"


def test_check_accept_response_reports_a_refusal():
    """A non-101 answer raises with the server's status."""
    with pytest.raises(HandshakeError) as info:
        check_accept_response(build_reject_response(426), KEY)
    assert info.value.status == 426


@pytest.mark.parametrize(
    ("find", "replace", "header"),
    [
        (b"Upgrade: websocket", b"Upgrade: h2c", "Upgrade"),
        (b"Connection: Upgrade", b"X: y", "Connection"),
    ],
)
def test_check_accept_response_needs_upgrade_headers(find, replace, header):
    """A 101 without the WebSocket Upgrade/Connection headers is refused."""
    data = build_accept_response(parse_request(RFC_REQUEST)).replace(find, replace)
    with pytest.raises(HandshakeError) as info:
        check_accept_response(data, KEY)
    assert info.value.header == header


def test_parse_response_rejects_a_bad_status_line():
    """A status line that is not 'HTTP/1.1 NNN reason' is a 400-style error."""
    with pytest.raises(HandshakeError):
        parse_response(b"HTTP/1.1 abc\r\n\r\n")


# --- in Chinese: the learner reads Chinese, the wire stays English -----------


@pytest.mark.usefixtures("chinese")
def test_a_handshake_without_a_key_is_refused_in_chinese():
    """No Sec-WebSocket-Key: the error reads in Chinese; the 400 it answers with stays English."""
    with pytest.raises(HandshakeError) as refused:
        parse_request(request_with(sec_websocket_key=None))
    assert str(refused.value) == "缺少 Sec-WebSocket-Key 请求头"
    assert (refused.value.status, refused.value.header) == (400, "Sec-WebSocket-Key")
    resp = parse_response(build_error_response(refused.value))
    assert (resp.status, resp.reason) == (400, "Bad Request")
    assert resp.body == b"missing Sec-WebSocket-Key header\n"


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("data", "chinese_text"),
    [
        (request_with(upgrade=None), "不是 WebSocket 请求：没有 'Upgrade: websocket' 请求头"),
        (request_with(upgrade="h2c"), "Upgrade 必须是 'websocket'，实际收到 'h2c'"),
        (request_with(connection="close"), "Connection 必须包含 'Upgrade'，实际收到 'close'"),
        (request_with(sec_websocket_version=None), "缺少 Sec-WebSocket-Version 请求头"),
        (request_with(host=None), "缺少 Host 请求头"),
        (RFC_REQUEST.replace(b"GET", b"POST", 1), "请求方法必须是 GET，实际收到 'POST'"),
    ],
    ids=["no-upgrade", "upgrade", "connection", "no-version", "no-host", "post"],
)
def test_each_handshake_fault_is_named_in_chinese(data: bytes, chinese_text: str):
    """Every check of section 4.2.1 explains itself in Chinese."""
    with pytest.raises(HandshakeError) as refused:
        parse_request(data)
    assert str(refused.value) == chinese_text


@pytest.mark.usefixtures("chinese")
def test_a_wrong_version_is_refused_in_chinese_and_answered_in_english():
    """Version 8: UnsupportedVersion in Chinese; the 426 body on the wire is English."""
    with pytest.raises(UnsupportedVersion) as refused:
        parse_request(request_with(sec_websocket_version="8"))
    assert str(refused.value) == "不支持的 Sec-WebSocket-Version '8'；本服务器只支持版本 13"
    body = parse_response(build_error_response(refused.value)).body
    assert body == b"unsupported Sec-WebSocket-Version '8'; this server speaks 13\n"


@pytest.mark.usefixtures("chinese")
def test_the_client_side_reads_a_refusal_in_chinese():
    """A server's 403 becomes a HandshakeError in Chinese, carrying the status."""
    answer = build_reject_response(403, "no\n")
    with pytest.raises(HandshakeError) as refused:
        check_accept_response(answer, KEY)
    assert str(refused.value) == "服务器拒绝了握手：403 Forbidden"
    assert refused.value.status == 403
