"""Tests for labkit.classroom: join links use this machine's real addresses, with QR codes."""

from __future__ import annotations

import ipaddress
import socket

import segno

import labkit
from labkit.classroom import JoinLinks, interface_addresses, join_links, qr_text


def test_the_addresses_are_this_machines_and_reachable_by_others() -> None:
    """Every address is one a socket here can bind (so it is ours), and none is loopback."""
    addresses = interface_addresses()
    for address in addresses:
        assert not ipaddress.ip_address(address).is_loopback
        with socket.socket() as probe:
            probe.bind((address, 0))  # fails for an address this machine does not have
    assert len(addresses) == len(set(addresses))


def test_links_never_say_0000_and_name_the_port_and_path() -> None:
    """A wildcard bind becomes one link per address; a specific bind its own address only."""
    for link in join_links(8765, "/rooms/a"):
        assert link.startswith("http://") and link.endswith(":8765/rooms/a")
        assert "0.0.0.0" not in link
    assert join_links(9, host="192.0.2.50") == ["http://192.0.2.50:9/"]


def test_the_qr_code_is_the_links_own() -> None:
    """The terminal drawing has one text row per two modules of that URL's QR symbol."""
    url = "http://192.0.2.2:8765/"
    rows = qr_text(url).strip("\n").splitlines()
    side = segno.make(url, error="m").symbol_size(border=2)[0]
    assert len(rows) == (side + 1) // 2


def test_a_shared_server_shows_its_links_and_a_loopback_one_none() -> None:
    """host='0.0.0.0' gives join links (in HTML with SVG codes); 127.0.0.1 gives none."""
    shared = labkit.start(labkit.chat_app(), host="0.0.0.0", name="test-classroom")
    local = labkit.start(labkit.chat_app(), name="test-classroom-local")
    try:
        links = shared.join_links()
        assert links.links == tuple(join_links(shared.port))
        page = shared._repr_html_()
        assert "<svg" in page and all(link in page for link in links.links)
        assert local.join_links() == JoinLinks(()) and "<svg" not in local._repr_html_()
        warnings = [
            line
            for line in labkit.logs.recent("labkit.runner", 0)
            if "test-classroom listens on all interfaces" in line
        ]
        assert len(warnings) == 1  # said once, not twice
        joined = [
            line for line in labkit.logs.recent("labkit.runner", 0) if "others join at" in line
        ]
        assert any(link in line for line in joined for link in links.links)
    finally:
        shared.stop()
        local.stop()


def test_join_links_speak_chinese(chinese) -> None:
    """The heading above the links, in the terminal and in a notebook, is Chinese."""
    links = JoinLinks(("http://192.0.2.7:8765/",))
    assert links.terminal(with_qr=()).splitlines() == [
        "同一网络中的学生可通过以下地址加入：",
        "  http://192.0.2.7:8765/",
    ]
    assert "<p>同一网络中的学生可通过以下地址加入：</p>" in links._repr_html_()
    assert "没有找到网络地址" in JoinLinks(())._repr_html_()
