"""Tests for labkit.runner: background servers on the kit's own loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import textwrap
import threading

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import labkit
from labkit import runner
from labkit.errors import KitLoopError, PortInUseError
from tests.support import kit_tasks, new_threads, open_fds, port_is_free


def test_start_returns_a_handle_with_urls():
    """start() binds port 0 to a real free port and reports ws:// and http:// URLs."""
    with labkit.start(labkit.echo_app(), name="runner-urls") as server:
        assert server.port > 0
        assert server.url == f"ws://127.0.0.1:{server.port}/"
        assert server.http_url == f"http://127.0.0.1:{server.port}/"
        assert server.name == "runner-urls"
        assert server in labkit.running()
        with connect(server.url) as ws:
            ws.send("ping")
            assert ws.recv(timeout=5) == "ping"
    assert not server.running
    assert server not in labkit.running()


def test_servers_keep_serving_while_the_calling_thread_blocks():
    """A cell that blocks its thread does not freeze servers on the kit's loop."""
    server = labkit.start(labkit.echo_app(), name="runner-block")
    answered = threading.Event()
    replies: list[str] = []

    def client() -> None:
        with connect(server.url) as ws:
            ws.send("still here?")
            replies.append(ws.recv(timeout=5))
        answered.set()

    threading.Thread(target=client).start()
    # The "cell" blocks this thread until the reply arrives from the server.
    assert answered.wait(10)
    assert replies == ["still here?"]
    server.stop()


def test_stop_sends_1001_and_frees_the_port():
    """stop() returns only after every client got close 1001 and the port is free."""
    server = labkit.start(labkit.echo_app(), name="runner-stop")
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(server.url)) for _ in range(3)]
        server.stop()
        assert port_is_free(server.port)
        for ws in clients:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001
    server.stop()  # idempotent


def test_starting_the_same_name_replaces_the_old_server():
    """Re-running a start cell replaces its server instead of failing."""
    first = labkit.start(labkit.echo_app(), name="runner-rerun")
    second = labkit.start(labkit.echo_app(), name="runner-rerun")
    assert not first.running and second.running
    assert [h for h in labkit.running() if h.name == "runner-rerun"] == [second]
    second.stop()


def test_a_replacement_keeps_the_url_and_clients_can_reconnect_to_it():
    """Re-running a start cell keeps the server's URL: the same port, free again for it."""
    first = labkit.start(labkit.echo_app(), name="runner-same-url")
    with connect(first.url) as ws:
        second = labkit.start(labkit.echo_app(), name="runner-same-url")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert (second.url, second.http_url) == (first.url, first.http_url)
    with connect(first.url) as again:  # the old URL reaches the new server
        again.send("back")
        assert again.recv(timeout=5) == "back"
    second.stop()


def test_the_same_fixed_port_replaces_our_own_server():
    """A fixed port held by one of our servers is taken over, not refused."""
    first = labkit.start(labkit.echo_app(), name="runner-port-a")
    second = labkit.start(labkit.echo_app(), port=first.port, name="runner-port-b")
    assert not first.running
    assert second.port == first.port
    with connect(second.url) as ws:
        ws.send("x")
        assert ws.recv(timeout=5) == "x"
    second.stop()


def test_a_port_held_by_another_program_gives_a_clear_error():
    """A port held by someone else raises PortInUseError that says what to do."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(PortInUseError) as error:
            labkit.start(labkit.echo_app(), port=port, name="runner-squat")
    assert isinstance(error.value, OSError)
    assert f"port {port}" in str(error.value) and "port=0" in str(error.value)
    assert "runner-squat" not in [h.name for h in labkit.running()]


def test_thirty_cycles_leak_no_thread_task_or_socket():
    """30 start/connect/stop cycles leave threads, kit tasks and fds where they were."""
    labkit.start(labkit.echo_app(), name="runner-warmup").stop()
    threads, tasks, fds = set(threading.enumerate()), kit_tasks(), open_fds()
    ports = []
    for _ in range(30):
        server = labkit.start(labkit.echo_app(), name="runner-cycle")
        with connect(server.url) as ws:
            ws.send("hi")
            assert ws.recv(timeout=5) == "hi"
        ports.append(server.port)
        server.stop()
    assert new_threads(threads) == []
    assert kit_tasks() == tasks
    assert open_fds() == fds
    assert all(port_is_free(p) for p in ports)


def test_stop_all_stops_everything():
    """stop_all() leaves no server running."""
    for i in range(3):
        labkit.start(labkit.echo_app(), name=f"runner-all-{i}")
    labkit.stop_all()
    assert labkit.running() == []


async def _refusal_on_the_kit_loop() -> str:
    """What run_sync() raises when called from the kit's own loop (or "no error")."""
    probe = asyncio.sleep(0)
    try:
        runner.run_sync(probe)
    except KitLoopError as exc:
        return str(exc)
    finally:
        probe.close()
    return "no error"


def test_run_sync_refuses_to_wait_on_its_own_loop():
    """A blocking helper called from the kit's loop raises instead of deadlocking."""
    assert "kit's own event loop" in runner.run_sync(_refusal_on_the_kit_loop(), timeout=5)


def test_start_refuses_things_that_cannot_be_served():
    """start() explains what it needs when given something else."""
    with pytest.raises(TypeError, match="echo_app"):
        labkit.start("echo")  # type: ignore[arg-type]


def test_interpreter_exit_closes_clients_with_1001(tmp_path):
    """A kernel that exits (or restarts) stops its servers: clients get 1001."""
    script = tmp_path / "kernel.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, labkit
            server = labkit.start(labkit.echo_app())
            print(server.port, flush=True)
            sys.stdin.readline()   # wait until the test says "exit"
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(proc.stdout.readline())
        with connect(f"ws://127.0.0.1:{port}/") as ws, pytest.raises(ConnectionClosed) as closed:
            proc.stdin.write("exit\n")
            proc.stdin.flush()
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()


def test_stop_from_the_kit_loop_raises_and_leaves_the_server_running():
    """stop() inside a coroutine on the kit's loop refuses, keeping the handle usable."""
    server = labkit.start(labkit.echo_app(), name="runner-stop-inside")

    async def inner() -> str:
        try:
            server.stop()
        except KitLoopError as exc:
            return str(exc)
        return "no error"

    assert "own event loop" in runner.run_sync(inner(), timeout=5)
    assert server.running and server in labkit.running()
    server.stop()
    assert not server.running


def test_a_busy_port_and_the_log_speak_chinese(chinese):
    """In Chinese: PortInUseError (the port, the way out) and the started/stopped lines."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(PortInUseError) as error:
            labkit.start(labkit.echo_app(), port=port, name="runner-squat-zh")
    message = str(error.value)
    assert f"端口 {port}" in message and "port=0" in message
    assert "already in use" not in message
    server = labkit.start(labkit.echo_app(), name="runner-zh")
    server.stop()
    lines = labkit.logs.recent("labkit.runner", 0)
    assert any(f"已启动 runner-zh，地址 {server.url}" in line for line in lines)
    assert any(f"已停止 runner-zh（{server.url}）" in line for line in lines)


def test_the_kit_loop_guard_speaks_chinese(chinese):
    """run_sync() on the kit's own loop refuses in Chinese."""
    assert "labkit 自己的事件循环" in runner.run_sync(_refusal_on_the_kit_loop(), timeout=5)
