"""Tests for labkit.cli: `python -m labkit serve ...` as a user runs it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from labkit.cli import build_parser


def serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    return proc, line


def test_serve_echo_prints_the_url_and_stops_cleanly_on_ctrl_c():
    """`serve echo --port 0` prints its URL once ready; Ctrl-C closes clients with 1001."""
    proc, line = serve("echo", "--port", "0")
    try:
        assert line.startswith("listening on ws://127.0.0.1:")
        url = line.removeprefix("listening on ")
        with connect(url) as ws:
            ws.send("cli")
            assert ws.recv(timeout=5) == "cli"
            proc.send_signal(signal.SIGINT)
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
        assert closed.value.rcvd.code == 1001
        assert proc.wait(timeout=10) == 0
        err = proc.stderr.read()
        assert "connection established" in err and "stopped" in err
    finally:
        proc.kill()


def test_serve_reports_a_busy_port_clearly():
    """A port held by another program exits 1 with a message that says so."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "labkit", "serve", "echo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr


def test_binding_all_interfaces_warns():
    """--host 0.0.0.0 works but warns that the whole network can connect."""
    proc, line = serve("echo", "--host", "0.0.0.0", "--port", "0")
    try:
        assert line.startswith("listening on ws://0.0.0.0:")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "anyone who can reach this machine" in proc.stderr.read()
    finally:
        proc.kill()


def test_parser_knows_every_server_and_defaults_to_loopback():
    """The defaults are safe: 127.0.0.1, port 8765, same-host origins."""
    args = build_parser().parse_args(["serve", "chat"])
    assert (args.kind, args.host, args.port) == ("chat", "127.0.0.1", 8765)
    assert args.origins is None  # None means the same host only
    args = build_parser().parse_args(["serve", "raw-echo", "--origin", "http://a, http://b"])
    assert args.origins == ["http://a", "http://b"]


def test_parser_knows_the_chat_options_and_their_defaults():
    """--redis, --max-rooms and --presence-timeout reach chat_app; none is on by default."""
    args = build_parser().parse_args(["serve", "chat"])
    assert (args.redis, args.max_rooms, args.presence_timeout) == (None, 100, 15.0)
    args = build_parser().parse_args(
        [
            "serve",
            "chat",
            "--redis",
            "redis://h:6379/0",
            "--max-rooms",
            "5",
            "--presence-timeout",
            "2",
        ]
    )
    assert (args.redis, args.max_rooms, args.presence_timeout) == ("redis://h:6379/0", 5, 2.0)


def test_redis_is_an_option_of_the_chat_only():
    """`serve echo --redis URL` is a usage error, not silently ignored."""
    proc = subprocess.run(
        [sys.executable, "-m", "labkit", "serve", "echo", "--redis", "redis://127.0.0.1:1/0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "--redis only applies to `serve chat`" in proc.stderr


def test_a_classroom_room_prints_join_links_with_qr_codes_and_logs_names() -> None:
    """serve chat --host 0.0.0.0: links on real addresses, QR codes, one warning, named joins."""
    from labkit.chat.protocol import Join, Joined, decode_server_event
    from labkit.classroom import join_links

    proc, line = serve("chat", "--host", "0.0.0.0", "--port", "0")
    try:
        assert line.startswith("listening on ws://0.0.0.0:")
        port = int(line.rsplit(":", 1)[1].strip("/"))
        expected = join_links(port)
        shown = [proc.stdout.readline() for _ in range(1 + len(expected))]
        assert shown[0].startswith("Students on this network join at:")
        assert [s.strip() for s in shown[1:]] == expected
        assert all("0.0.0.0" not in link for link in expected)
        drawing = [proc.stdout.readline() for _ in range(4)]
        assert any("█" in row or "▀" in row for row in drawing)  # the QR code itself
        url = f"ws://127.0.0.1:{port}/"
        with connect(url) as ana, connect(url) as ben:
            ana.send(Join("ana").encode())
            ben.send(Join("ben").encode())
            while not isinstance(decode_server_event(ana.recv(timeout=5)), Joined):
                pass
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        err = proc.stderr.read()
        assert err.count("anyone who can reach this machine") == 1
        assert "ana joined the room (1 in the room)" in err
        assert "ben joined the room (2 in the room)" in err
        assert "left the room" in err
        assert "connection open" not in err  # page loads are not news to a teacher
    finally:
        proc.kill()
