"""Tests for labkit.widgets.link: what the kernel does with what the browser reports.

The browser half (the URL it computes under a hub's base URL) runs in a real
JupyterLab in tests/browser/test_hub.py.
"""

from __future__ import annotations

import labkit
from labkit import hosts
from labkit.widgets.link import PageLink, proxy_available, with_language
from tests.support import handshake_head, handshake_request


def test_the_link_carries_the_port_the_secret_and_the_proxy() -> None:
    """A PageLink knows the server's port and secret path, and whether the proxy is there."""
    server = labkit.start(labkit.chat_app(), name="test-link")
    try:
        link = server.page(height="300px")
        assert isinstance(link, PageLink)
        assert (link.port, link.secret_path) == (server.port, server.app.secret_path)
        assert link.proxy is proxy_available() and link.height == "300px"
        assert (link.label, link.frame_title) == ("Open the page:", "labkit page")
    finally:
        server.stop()


def test_a_public_host_reported_by_the_browser_is_allowed_under_the_secret() -> None:
    """The browser's location.host, reported over the comm, opens the secret path to it only."""
    server = labkit.start(labkit.echo_app(), name="test-link-host")
    try:
        link = server.page()
        secret = server.app.secret_path
        request = handshake_request(server.port, secret, Host="hub.link.test:8000")
        assert handshake_head(server.port, request)[0] == 403
        link.browser_host = "hub.link.test:8000"  # as the widget's JavaScript sets it
        assert link.allowed_host == "hub.link.test:8000"
        assert handshake_head(server.port, request)[0] == 101
        plain = handshake_request(server.port, "/", Host="hub.link.test:8000")
        assert handshake_head(server.port, plain)[0] == 403  # the port alone is not enough
    finally:
        hosts.forget_public_hosts(["hub.link.test:8000"])
        server.stop()


def test_a_local_browser_teaches_the_kit_nothing() -> None:
    """localhost is this machine already: nothing is added to the public names."""
    server = labkit.start(labkit.echo_app(), name="test-link-local")
    try:
        before = hosts.public_hosts()
        server.page().browser_host = "localhost:8888"
        assert hosts.public_hosts() == before
    finally:
        server.stop()


def test_the_link_s_words_come_from_the_kernel_in_its_language(chinese) -> None:
    """The script shows only what Python sends: label, the unreachable line, the frame's title."""
    from labkit.widgets.link import _ESM

    server = labkit.start(labkit.echo_app(), name="test-link-zh")
    try:
        link = server.page()
        assert link.label == "打开页面："
        assert link.unreachable.startswith(f"此浏览器无法访问内核所在机器的 {server.port} 端口")
        assert link.frame_title == "labkit 页面"
        assert PageLink(server, label="看这里：").label == "看这里："
    finally:
        server.stop()
    for english in ("labkit page", "Open the page", "cannot reach"):
        assert english not in _ESM


def test_a_chinese_lesson_asks_its_page_for_chinese(chinese) -> None:
    """Under zh-CN the page's query carries lang=zh-CN; other parameters and a chosen lang stay."""
    server = labkit.start(labkit.chat_app(), name="test-link-lang")
    try:
        assert server.page().query == "lang=zh-CN"
        assert server.page(query="name=ana").query == "name=ana&lang=zh-CN"
    finally:
        server.stop()
    assert with_language("lang=en") == "lang=en"


def test_an_english_lesson_leaves_the_page_to_the_browser() -> None:
    """In English nothing is added: the page follows the browser's language."""
    assert with_language("") == ""
    assert with_language("name=ana") == "name=ana"
