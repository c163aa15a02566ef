"""Tests for labkit.app behind a proxy: public names, the secret path, nothing reopened.

jupyter-server-proxy hands the browser's own Host, Origin, cookies and query
to a loopback server. These tests send exactly such requests over real sockets.
"""

from __future__ import annotations

import pytest

import labkit
from labkit import hosts
from tests.support import handshake_head, handshake_request, http_exchange

HUB = "hub.test:8888"


@pytest.fixture
def proxied():
    """An echo app with a page, answering to hub.test through a proxy."""
    app = labkit.echo_app("proxied", public_hosts=["hub.test"])

    @app.http("/")
    def page(_request):
        return "<p>the page</p>"

    handle = labkit.start(app, name="test-proxied")
    yield handle, app
    handle.stop()


def test_a_public_host_needs_the_secret_path(proxied) -> None:
    """Under hub.test the WebSocket and the page open only under /SECRET/; 403 without it."""
    handle, app = proxied
    origin = f"http://{HUB}"
    bare = handshake_request(handle.port, Host=HUB, Origin=origin)
    assert handshake_head(handle.port, bare)[0] == 403
    secret = handshake_request(handle.port, app.secret_path, Host=HUB, Origin=origin)
    assert handshake_head(handle.port, secret)[0] == 101
    page = f"GET {app.secret_path} HTTP/1.1\r\nHost: {HUB}\r\nConnection: close\r\n\r\n"
    status, _, body = http_exchange(handle.port, page.encode())
    assert (status, body) == (200, b"<p>the page</p>")


def test_local_names_work_with_or_without_the_secret(proxied) -> None:
    """On this machine the plain URL and the secret one both reach the same server."""
    handle, app = proxied
    for path in ("/", app.secret_path):
        assert handshake_head(handle.port, handshake_request(handle.port, path))[0] == 101


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Host": "evil.example:8888"}, "a rebinding Host that nobody vouched for"),
        ({"Host": "evil.example", "X_Forwarded_Host": "hub.test"}, "X-Forwarded-* is not trusted"),
        ({"Host": HUB, "Origin": "http://evil.example"}, "a foreign Origin"),
    ],
)
def test_what_the_design_still_refuses(proxied, headers: dict[str, str], why: str) -> None:
    """Each of these gets 403 even with the secret path."""
    handle, app = proxied
    request = handshake_request(handle.port, app.secret_path, **headers)
    assert handshake_head(handle.port, request)[0] == 403, why


def test_hosts_learned_later_reach_running_servers_and_replacements(proxied) -> None:
    """allow_public_hosts() updates running servers; a replacement keeps the secret and names."""
    handle, app = proxied
    request = handshake_request(handle.port, app.secret_path, Host="learned.test")
    assert handshake_head(handle.port, request)[0] == 403
    hosts.allow_public_hosts(["learned.test:443"])
    try:
        assert handshake_head(handle.port, request)[0] == 101
        again = labkit.start(labkit.echo_app("proxied"), name="test-proxied")
        assert again.app.secret == app.secret and again.url == handle.url
        assert handshake_head(again.port, request)[0] == 101
    finally:
        hosts.forget_public_hosts(["learned.test:443"])


def test_queries_and_cookies_are_never_logged(proxied) -> None:
    """Jupyter's ?token= and login cookies arrive with proxied requests; no log line shows them."""
    handle, _app = proxied
    token = "tok3n-never-logged"
    for path in (f"/nowhere?token={token}", f"/?token={token}"):
        request = handshake_request(handle.port, path, Host="evil.example", Cookie=f"c={token}")
        handshake_head(handle.port, request)
    request = handshake_request(handle.port, f"/?token={token}", Cookie=f"c={token}")
    assert handshake_head(handle.port, request)[0] == 101
    assert not [line for line in labkit.logs.recent("labkit", 0) if token in line]


def test_labkit_public_hosts_configures_every_server(monkeypatch) -> None:
    """LABKIT_PUBLIC_HOSTS names public hosts without code (Binder, a hub's config)."""
    monkeypatch.setenv("LABKIT_PUBLIC_HOSTS", "conf.test, other.test")
    app = labkit.echo_app("configured")
    handle = labkit.start(app, name="test-configured")
    try:
        request = handshake_request(handle.port, app.secret_path, Host="conf.test")
        assert handshake_head(handle.port, request)[0] == 101
    finally:
        handle.stop()


def test_a_refusal_logs_chinese_but_answers_english(proxied, chinese) -> None:
    """The 403 body is on the wire, so English; the log line a teacher reads is Chinese."""
    handle, _app = proxied
    bare = f"GET / HTTP/1.1\r\nHost: {HUB}\r\nConnection: close\r\n\r\n"
    status, _, body = http_exchange(handle.port, bare.encode())
    assert status == 403
    assert b"reaches this server through a proxy" in body
    lines = labkit.logs.recent("labkit.app.proxied", 0)
    assert any("已拒绝：hub.test 是经由代理访问本服务器的" in line for line in lines), lines
