"""Tests for labkit.cli: `python -m labkit serve ...` as a user runs it."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from labkit.cli import build_parser

#: A subprocess that speaks Chinese (the suite itself runs in English).
CHINESE = {**os.environ, "LABKIT_LANG": "zh-CN"}


def serve(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline().strip()
    return proc, line


def lines_of(stream) -> queue.Queue[str]:
    """Every line ``stream`` writes, as it comes, from a reader thread ("" at its end)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for_lines(lines: queue.Queue[str], wanted: list[str], timeout: float = 10.0) -> list[str]:
    """Read lines until each of ``wanted`` was part of one; return the lines read."""
    seen: list[str] = []
    missing = list(wanted)
    while missing:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line with {missing} within {timeout} s: {seen}") from None
        assert line, f"the output ended before a line with {missing}: {seen}"
        seen.append(line)
        missing = [text for text in missing if text not in line]
    return seen


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


def _labkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m labkit ARGS`` run to its end, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "labkit", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def _serve_on_a_busy_port(env: dict[str, str] | None = None) -> tuple[int, str, int]:
    """``serve echo`` on a port another program holds: (exit status, stderr, port)."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        proc = _labkit("serve", "echo", "--port", str(port), env=env)
    return proc.returncode, proc.stderr, port


def test_serve_reports_a_busy_port_clearly():
    """A port held by another program exits 1 with a message that says so."""
    status, stderr, port = _serve_on_a_busy_port()
    assert status == 1
    assert f"port {port} on 127.0.0.1 is already in use" in stderr


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
    proc = _labkit("serve", "echo", "--redis", "redis://127.0.0.1:1/0")
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


def test_serve_echo_speaks_chinese_under_labkit_lang():
    """LABKIT_LANG=zh-CN: the tutorial's two log lines in Chinese, as the Koa2 original prints."""
    proc, line = serve("echo", "--port", "0", env=CHINESE)
    try:
        assert line.startswith("正在监听 ws://127.0.0.1:"), line
        url = re.search(r"ws://\S+", line).group()
        errors = lines_of(proc.stderr)
        with connect(url) as ws:
            ws.send("hi")
            assert ws.recv(timeout=5) == "hi"
            seen = wait_for_lines(errors, ["WebSocket 连接已建立", "接收到消息: 'hi'"])
        assert not any("connection established" in line for line in seen)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "已停止" in "".join(wait_for_lines(errors, ["已停止"]))
    finally:
        proc.kill()


def test_help_is_chinese_under_labkit_lang():
    """`serve --help` in Chinese: argparse's own words and every option's help."""
    proc = _labkit("serve", "--help", env=CHINESE)
    assert proc.returncode == 0
    out = proc.stdout
    assert out.startswith("用法：python -m labkit serve")
    for text in ("位置参数", "选项", "显示此帮助信息并退出", "要运行哪个服务器", "TCP 端口"):
        assert text in out, text
    assert "usage:" not in out and "show this help" not in out and "TCP port" not in out
    english = _labkit("serve", "--help")
    assert english.stdout.startswith("usage: python -m labkit serve")
    assert "which server to run" in english.stdout


def test_usage_errors_are_chinese_under_labkit_lang():
    """A wrong server name: argparse's error line, in Chinese, naming the choices."""
    proc = _labkit("serve", "nope", env=CHINESE)
    assert proc.returncode == 2
    assert "python -m labkit serve：错误：参数 kind：无效的选择：'nope'" in proc.stderr


def test_a_busy_port_is_reported_in_chinese_under_labkit_lang():
    """The PortInUseError the CLI prints speaks Chinese too, with the port and the way out."""
    status, stderr, port = _serve_on_a_busy_port(CHINESE)
    assert status == 1
    assert stderr.startswith("错误：")
    assert str(port) in stderr and "端口" in stderr and "port=0" in stderr
    assert "already in use" not in stderr
