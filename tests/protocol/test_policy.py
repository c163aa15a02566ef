"""Tests for labkit.protocol.policy: the Host and Origin rules, as values, with no sockets."""

from __future__ import annotations

import pytest

from labkit.errors import HandshakeError, ProtocolError
from labkit.protocol.policy import (
    LOCAL_NAMES,
    RequestPolicy,
    allowed_origins,
    host_name,
    is_loopback,
    normal_host,
    origin_host,
    require_host,
)

LOOPBACK = RequestPolicy.for_server("127.0.0.1")
NETWORK = RequestPolicy.for_server("0.0.0.0")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.0.2.7", False),
        ("hub.test", False),
    ],
)
def test_is_loopback_knows_this_machine_only_addresses(host: str, loopback: bool) -> None:
    """Only loopback addresses and the name localhost count as this machine only."""
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("value", "name"),
    [("LocalHost:8000", "localhost"), ("[::1]:80", "::1"), ("::1", "::1"), ("x", "x")],
)
def test_host_name_drops_the_port_and_brackets(value: str, name: str) -> None:
    """The name part of a Host header, in lower case, for IPv4, IPv6 and names."""
    assert host_name(value) == name


def test_origins_and_hosts_compare_with_default_ports() -> None:
    """http://a and Host a:80 are the same place (RFC 6454 origins, default ports)."""
    assert origin_host("http://A.example") == normal_host("a.example:80", "http")
    assert origin_host("https://a.example") == "a.example:443"
    assert origin_host("null") == ""


def test_a_missing_host_is_a_400_protocol_error() -> None:
    """RFC 6455, section 4.2.1: no Host header is a bad request, in the kit's tree."""
    with pytest.raises(HandshakeError) as refused:
        require_host("  ")
    assert (refused.value.status, refused.value.header) == (400, "Host")
    assert isinstance(refused.value, ProtocolError)


def test_a_loopback_server_refuses_a_rebinding_host_with_403() -> None:
    """DNS rebinding: evil.example pointed at 127.0.0.1 is not this server's name."""
    with pytest.raises(HandshakeError) as refused:
        LOOPBACK.check_host("evil.example:8000")
    assert refused.value.status == 403
    assert "evil.example" in str(refused.value)
    for name in LOCAL_NAMES:
        assert LOOPBACK.check_host(f"[{name}]:1" if ":" in name else f"{name}:1")


def test_a_network_server_takes_any_host_but_still_checks_origin() -> None:
    """Bound to all interfaces, any Host is fine; a foreign Origin still is not."""
    assert NETWORK.check_host("192.0.2.7:8765") == "192.0.2.7:8765"
    NETWORK.check_origin("http://192.0.2.7:8765", "192.0.2.7:8765")
    with pytest.raises(HandshakeError) as refused:
        NETWORK.check_origin("http://evil.example", "192.0.2.7:8765")
    assert (refused.value.status, refused.value.header) == (403, "Origin")


def test_origin_rules() -> None:
    """No Origin (not a browser) passes; listed ones pass; None switches the check off."""
    LOOPBACK.check_origin(None, "127.0.0.1:1")
    listed = RequestPolicy.for_server("127.0.0.1", ["HTTP://Other:9"])
    listed.check_origin("http://other:9", "127.0.0.1:1")
    RequestPolicy.for_server("127.0.0.1", None).check_origin("http://evil", "127.0.0.1:1")
    with pytest.raises(HandshakeError):
        LOOPBACK.check_origin("null", "127.0.0.1:1")


def test_allowed_origins_refuses_a_bare_string() -> None:
    """A single origin string is a likely slip for a list; say so instead of iterating it."""
    assert allowed_origins("same-host") == frozenset()
    assert allowed_origins(None) is None
    with pytest.raises(ValueError, match="same-host"):
        allowed_origins("http://a.example")


def test_check_applies_host_then_origin() -> None:
    """check() reports the Host problem first, and returns the Host value."""
    with pytest.raises(HandshakeError) as refused:
        LOOPBACK.check(None, "http://evil.example")
    assert refused.value.status == 400
    assert LOOPBACK.check("localhost:5", "http://localhost:5") == "localhost:5"


@pytest.mark.usefixtures("chinese")
def test_a_refused_origin_and_host_read_in_chinese():
    """RequestPolicy's refusals (section 10.2, DNS rebinding) are Chinese exceptions, still 403."""
    with pytest.raises(HandshakeError) as origin:
        LOOPBACK.check("127.0.0.1:8765", "http://evil.example")
    assert str(origin.value) == "来源 (Origin) http://evil.example 不允许连接本服务器"
    assert (
        origin.value.english
        == "Origin http://evil.example is not allowed to connect to this server"
    )
    with pytest.raises(HandshakeError) as host:
        LOOPBACK.check("evil.example:8765", None)
    assert str(host.value) == "Host evil.example:8765 不是本服务器的名字"
    assert (origin.value.status, host.value.status) == (403, 403)
