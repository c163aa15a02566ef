"""Safe defaults: loopback only, a warning for all interfaces, Origin checks, size limits, no HTML.

A teacher who shares a server with a class must opt in to it; until then
every server listens on 127.0.0.1. Text from users (names, messages, error
messages quoting them, close reasons, handshake headers) is only ever shown
as text, never parsed as HTML.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from labkit.chat import chat_app
from labkit.inspector import Inspector
from labkit.widgets import ChatPanel
from tests.reliability.helpers import SERVERS, TIMEOUT, RawClient, still_serves
from tests.support import handshake_head, handshake_request, http_exchange

HOSTILE_NAME = "<img src=x onerror=1>"
HOSTILE_TEXT = "<script>alert(1)</script><img src=x onerror=alert(2)>"
TAGS = ("<img", "<script", "<b>", "<i>")


def listening_address(port: int) -> str:
    """The local address a listening TCP socket on ``port`` is bound to (from /proc/net/tcp)."""
    with open("/proc/net/tcp", encoding="ascii") as table:
        for line in list(table)[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hexport = local.partition(":")
            if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                return ".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    raise AssertionError(f"nothing listens on port {port}")


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_servers_listen_on_loopback_unless_told(serve, caplog, kind: str) -> None:
    """The default bind is 127.0.0.1, silently; 0.0.0.0 works and logs a warning that says why."""
    with caplog.at_level(logging.WARNING, logger="labkit.runner"):
        local = serve(SERVERS[kind]())
        assert (local.host, listening_address(local.port)) == ("127.0.0.1", "127.0.0.1")
        assert not [r for r in caplog.records if r.name == "labkit.runner"]
        shared = serve(SERVERS[kind](), host="0.0.0.0")
    assert listening_address(shared.port) == "0.0.0.0"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("listens on all interfaces" in w and "anyone" in w for w in warnings), warnings
    still_serves(kind, shared)


@pytest.mark.parametrize("kind", ["chat", "raw-echo"])
def test_the_command_line_warns_about_all_interfaces(kind: str) -> None:
    """`python -m labkit serve chat --host 0.0.0.0` (like echo, tested in test_cli) warns."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", kind, "--host", "0.0.0.0", "--port", "0", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("listening on ws://0.0.0.0:")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=TIMEOUT) == 0
        assert "anyone who can reach this machine can connect" in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        (None, 101),
        ("http://127.0.0.1:{port}", 101),
        ("http://notebook.example:8888", 101),
        ("http://evil.example", 403),
        ("null", 403),
    ],
)
def test_chat_origin_allowlist(serve, origin: str | None, status: int) -> None:
    """The chat room takes the same-host page, listed origins and scripts; foreign pages get 403."""
    handle = serve(chat_app(origins=["http://notebook.example:8888"]))
    headers = {} if origin is None else {"Origin": origin.format(port=handle.port)}
    assert handshake_head(handle.port, handshake_request(handle.port, **headers))[0] == status


@pytest.mark.parametrize("kind", ["echo", "chat"])
def test_a_missing_host_cannot_sneak_an_origin_past_the_check(serve, kind: str) -> None:
    """No Host header is a 400, so "Origin: null" cannot match an empty same-host value."""
    handle = serve(SERVERS[kind]())
    request = handshake_request(handle.port, Host=None, Origin="null")
    assert http_exchange(handle.port, request)[0] == 400


def test_the_raw_server_checks_no_origin(serve) -> None:
    """The from-scratch echo server holds no data and accepts any page's Origin (documented)."""
    handle = serve(SERVERS["raw"]())
    request = handshake_request(handle.port, Origin="http://evil.example")
    assert handshake_head(handle.port, request)[0] == 101


@pytest.mark.parametrize("kind", ["echo", "raw"])
def test_one_mib_is_accepted_and_one_byte_more_closes_with_1009(serve, kind: str) -> None:
    """The 1 MiB default limit is inclusive; past it the connection closes with 1009."""
    handle = serve(SERVERS[kind]())
    with connect(handle.url, max_size=None, open_timeout=TIMEOUT) as ws:
        ws.send(b"\x00" * (1 << 20))
        assert len(ws.recv(timeout=TIMEOUT)) == 1 << 20
        ws.send(b"\x00" * ((1 << 20) + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_user_text_is_never_html_in_the_panel_or_the_inspector(serve) -> None:
    """Hostile names, messages, error texts, headers and close reasons render as text only."""
    room = serve(chat_app())
    tap = Inspector(target=room)
    tapped = serve(tap)
    panel = ChatPanel(room, name="Teacher")
    try:
        panel.wait_state("OPEN", timeout=TIMEOUT)
        with RawClient.connect(tapped.port) as evil:
            evil.join(HOSTILE_NAME)
            evil.send_json(type="message", text=HOSTILE_TEXT)
            evil.send_json(type="message", text="x", to="<b>nobody</b>")
            assert evil.recv_event()["code"] == "unknown_user"
        panel.wait_for(lambda m: m.text == HOSTILE_TEXT, timeout=TIMEOUT)
        panel.say("psst", to="<i>ghost</i>")  # the room answers unknown_user, quoting the name
        panel.wait_for(lambda m: m.kind == "error" and "ghost" in m.text, timeout=TIMEOUT)
        with connect(
            tapped.url, additional_headers={"X-Note": HOSTILE_TEXT}, open_timeout=TIMEOUT
        ) as ws:
            ws.send(HOSTILE_TEXT)
            assert ws.recv(timeout=TIMEOUT)  # bad_json, quoting nothing harmful
            ws.close(4000, "<i>bye</i>")
        tap.wait_for(lambda r: "bye" in str(getattr(r, "preview", "")), timeout=TIMEOUT)
        view = tap.view()
        view.refresh()
        shown = {
            "panel header": panel._header.value,
            "panel log": panel._log.value,
            "inspector": view.html,
        }
        view.close()
    finally:
        panel.disconnect()
        panel.close()
    assert "&lt;img src=x onerror=1&gt;" in shown["panel log"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown["panel log"]
    assert "&lt;i&gt;ghost&lt;/i&gt;" in shown["panel log"]
    assert "X-Note" in shown["inspector"] and "&lt;i&gt;bye&lt;/i&gt;" in shown["inspector"]
    for where, html in shown.items():
        for tag in TAGS:
            assert tag not in html, (where, tag)
