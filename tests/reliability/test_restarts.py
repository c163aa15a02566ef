"""Stopping and restarting servers from a notebook while clients are connected.

``ServerHandle.stop()`` sends every client a close frame with 1001 "going
away" (RFC 6455, section 7.4.1) *after* whatever the server already wrote, so
nothing already sent is lost; re-running a start cell replaces the server
under the same name and leaks nothing.
"""

from __future__ import annotations

import contextlib
import json
import threading

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import labkit
from labkit.protocol import Frame, Opcode
from tests.reliability.helpers import SERVERS, TIMEOUT, RawClient, still_serves
from tests.support import kit_tasks, new_threads, open_fds

BURST = 2000


@pytest.mark.parametrize("kind", ["echo", "chat"])
def test_a_burst_sent_right_before_stop_arrives_whole_before_1001(serve, kind: str) -> None:
    """2000 broadcasts, then stop(): every client reads all 2000, in order, then close 1001."""
    handle = serve(SERVERS[kind]())
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(handle.url, max_queue=None)) for _ in range(3)]
        if kind == "chat":
            for n, ws in enumerate(clients):
                ws.send(json.dumps({"type": "join", "name": f"u{n}"}))
                assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "welcome"
        else:  # the echo app has no "joined" notion: wait until it knows all three
            for ws in clients:
                ws.send("hello")
                assert ws.recv(timeout=TIMEOUT) == "hello"
        receivers = list(handle.app.connections)
        for n in range(BURST):
            handle.app.broadcast(f"burst {n}", to=receivers)
        handle.stop()
        for ws in clients:
            got = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    message = ws.recv(timeout=TIMEOUT)
                    if not message.startswith("{"):  # skip chat join/leave notices
                        got.append(message)
            assert got == [f"burst {n}" for n in range(BURST)]
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


def test_raw_server_stop_mid_stream_loses_no_echo_already_written(serve) -> None:
    """Stopping the raw server mid-stream: an in-order prefix of echoes, then 1001, then EOF."""
    handle = serve(SERVERS["raw"]())
    with RawClient.connect(handle.port) as client:
        client.sock.sendall(
            b"".join(Frame.text(f"m{n}").serialize(mask=True) for n in range(BURST))
        )
        echoes = [client.recv().payload.decode() for _ in range(BURST // 10)]
        stopper = threading.Thread(target=handle.stop)
        stopper.start()
        while (frame := client.recv()).opcode is Opcode.TEXT:
            echoes.append(frame.payload.decode())
        assert frame.opcode is Opcode.CLOSE and frame.payload[:2] == b"\x03\xe9"  # 1001
        client.close_frame(1001)
        client.expect_eof()
        client.close()
        stopper.join(TIMEOUT)
        assert not stopper.is_alive()
    assert echoes == [f"m{n}" for n in range(len(echoes))]
    assert len(echoes) >= BURST // 10


@pytest.mark.parametrize("kind", sorted(SERVERS))
def test_rerunning_a_start_cell_50_times_works_and_leaks_nothing(kind: str) -> None:
    """50 starts under one name: each serves, each replaces the last (1001 to its client)."""
    name = f"rel-rerun-{kind}"
    labkit.start(SERVERS[kind](), name=name).stop()  # warm-up: imports, the kit loop
    threads, tasks, fds = set(threading.enumerate()), kit_tasks(), open_fds()
    with contextlib.ExitStack() as stack:
        previous = None
        for n in range(50):
            handle = labkit.start(SERVERS[kind](), name=name)
            if previous is not None:
                with pytest.raises(ConnectionClosed) as closed:
                    previous.recv(timeout=TIMEOUT)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
            assert [h for h in labkit.running() if h.name == name] == [handle]
            still_serves(kind, handle, name=f"user{n}")
            previous = stack.enter_context(connect(handle.url, open_timeout=TIMEOUT))
        handle.stop()
    assert new_threads(threads) == []
    assert kit_tasks() == tasks
    assert open_fds() <= fds  # earlier tests' sockets may be collected meanwhile
