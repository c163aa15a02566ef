"""Clients that vanish: no close frame, no pong, or a close frame and then silence.

However a connection ends, the server must notice within a known time, free
its task and take the user out of the room with a leave notice, so no ghost
stays in the user list (RFC 6455, sections 5.5.2 and 7.1.1).
"""

from __future__ import annotations

import socket
import time

import pytest

import labkit
from labkit import runner
from labkit.chat import chat_app
from labkit.protocol import Opcode
from tests.reliability.helpers import RawClient, raw_frame
from tests.support import kit_tasks, open_fds

CYCLES = 1500
WAVE = 50  # connections open at once during the cycles


def users(app) -> list[str]:
    """The room's user list, read on the kit's loop where it changes."""
    return runner.run_sync(_read_users(app))


async def _read_users(app) -> list[str]:
    return list(app.room.users)


@pytest.mark.parametrize("kind", ["echo", "chat"])
def test_a_peer_that_answers_no_ping_is_dropped_within_interval_plus_timeout(
    serve, figures, kind: str
) -> None:
    """With ping_interval=0.2 and ping_timeout=0.2, a client deaf to pings is cut within ~0.4 s."""
    interval = timeout = 0.2
    make = chat_app if kind == "chat" else labkit.echo_app
    handle = serve(make(ping_interval=interval, ping_timeout=timeout))
    with RawClient.connect(handle.port) as deaf:
        if kind == "chat":
            deaf.join("Deaf")
        started = time.monotonic()
        pings = 0
        while (frame := deaf.recv()).opcode is Opcode.PING:  # read, but never answer
            pings += 1
        elapsed = time.monotonic() - started
    assert frame.opcode is Opcode.CLOSE
    assert int.from_bytes(frame.payload[:2], "big") == 1011  # "keepalive ping timeout"
    assert pings == 1
    assert interval + timeout * 0.9 <= elapsed < interval + timeout + 0.5
    figures(
        f"ping_{kind}",
        {"interval": interval, "timeout": timeout, "dropped_after": round(elapsed, 3)},
    )


def test_a_frozen_chat_user_leaves_with_a_notice_in_time(serve, figures) -> None:
    """A client that reads nothing is gone within ping_interval + ping_timeout + close_timeout.

    After the missed pong the server sends a 1011 close frame and, as after any
    close frame, gives the peer close_timeout to hang up before cutting TCP.
    """
    handle = serve(chat_app(ping_interval=0.2, ping_timeout=0.2, close_timeout=0.2))
    with RawClient.connect(handle.port) as ann, RawClient.connect(handle.port) as frozen:
        ann.join("Ann")
        frozen.join("Frozen")  # from here on it reads nothing, so it answers no ping
        assert ann.recv_event()["name"] == "Frozen"
        started = time.monotonic()
        assert ann.recv_event() == {"type": "leave", "name": "Frozen", "count": 1}
        elapsed = time.monotonic() - started
        assert 0.6 * 0.9 <= elapsed < 0.6 + 0.5
        assert users(handle.app) == ["Ann"]
    figures(
        "ping_frozen_chat_user", {"interval+timeout+close": 0.6, "left_after": round(elapsed, 3)}
    )


@pytest.mark.parametrize("ending", ["close frame", "protocol error"])
def test_a_client_that_never_hangs_up_after_closing_is_dropped(serve, ending: str) -> None:
    """After the close frames, a client that keeps TCP open is cut at close_timeout, not never."""
    close_timeout = 0.3
    handle = serve(chat_app(close_timeout=close_timeout))
    with RawClient.connect(handle.port) as ann, RawClient.connect(handle.port) as lingering:
        ann.join("Ann")
        lingering.join("Lingering")
        assert ann.recv_event()["name"] == "Lingering"
        started = time.monotonic()
        if ending == "close frame":
            lingering.close_frame()
        else:
            lingering.sock.sendall(raw_frame(0x83))  # reserved opcode: 1002
        assert lingering.expect_close()[0] == (1000 if ending == "close frame" else 1002)
        # The client keeps its socket open and says nothing more.
        assert ann.recv_event() == {"type": "leave", "name": "Lingering", "count": 1}
        elapsed = time.monotonic() - started
        assert close_timeout * 0.9 <= elapsed < close_timeout + 1
        assert users(handle.app) == ["Ann"]


def _vanish(client: RawClient, how: int) -> None:
    if how == 0:  # a proper closing handshake
        client.close_frame()
        client.expect_close()
        client.close()
    elif how == 1:  # a close frame, then gone before the answer
        client.close_frame()
        client.reset()
    elif how == 2:  # a crash or a pulled cable: TCP reset, no close frame
        client.reset()
    else:  # the process exits without a close frame: TCP FIN only
        client.sock.shutdown(socket.SHUT_WR)
        client.close()


@pytest.mark.load
def test_1500_join_and_vanish_cycles_leave_no_ghost_and_no_task(figures) -> None:
    """1500 users join and vanish (half with no close frame); the room ends empty, no task leaks."""
    labkit.start(chat_app(), name="rel-vanish-warmup").stop()
    tasks, fds = kit_tasks(), open_fds()
    handle = labkit.start(chat_app(), name="rel-vanish")
    started = time.monotonic()
    try:
        observer = RawClient.connect(handle.port)
        observer.join("Observer")
        for wave in range(CYCLES // WAVE):
            clients = [RawClient.connect(handle.port) for _ in range(WAVE)]
            for i, client in enumerate(clients):
                client.send_json(type="join", name=f"v{wave}-{i}")
            for client in clients:
                assert client.recv_event()["type"] == "welcome"
            for i, client in enumerate(clients):
                _vanish(client, i % 4)
        joined = left = 0
        last: dict = {}
        while left < CYCLES:  # every leave notice, within TIMEOUT each
            last = observer.recv_event()
            joined += last["type"] == "join"
            left += last["type"] == "leave"
        elapsed = time.monotonic() - started
        assert (joined, last["count"]) == (CYCLES, 1)
        assert users(handle.app) == ["Observer"]
        observer.close_frame()
        observer.expect_close()
        observer.close()
    finally:
        handle.stop()
    assert users(handle.app) == []
    assert not handle.app.connections
    assert kit_tasks() == tasks
    assert open_fds() <= fds  # earlier tests' sockets may be collected meanwhile
    figures(
        "vanish_cycles",
        {"cycles": CYCLES, "without_close_frame": CYCLES // 2, "seconds": round(elapsed, 2)},
    )


def test_welcome_history_survives_vanishing_senders(serve) -> None:
    """Messages of a user who then vanished stay in the history; the user does not."""
    handle = serve(chat_app())
    with RawClient.connect(handle.port) as ghost:
        ghost.join("Ghost")
        ghost.send_json(type="message", text="I was here")
        ghost.send_json(type="message", text="ping", to="Ghost")  # answered: the first is done
        assert ghost.recv_event()["text"] == "ping"
        ghost.reset()
    with RawClient.connect(handle.port) as ann:
        # The leave may still be in flight: join until the name list no longer has Ghost.
        welcome = ann.join("Ann")
        assert [m["text"] for m in welcome["history"]] == ["I was here"]
        if "Ghost" in welcome["users"]:
            assert ann.recv_event() == {"type": "leave", "name": "Ghost", "count": 1}
        ann.send_json(type="message", text="who is here?", to="Ghost")
        assert ann.recv_event()["code"] == "unknown_user"
