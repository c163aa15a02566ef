"""Rooms by path on the in-process backplane: ``/`` and ``/rooms/NAME``, over real sockets.

Each room has its own names, history and counts; a room is opened by the
first handshake for it and dropped when its last connection ends; past
``max_rooms`` a handshake is refused with 503 and a text that says how to
raise the limit; a path that names no room is refused with 404.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

import labkit
from labkit.chat import chat_app
from labkit.chat.app import page_html
from labkit.chat.ledger import room_of
from labkit.runner import ServerHandle

from .conftest import unique

TIMEOUT = 5.0


@pytest.fixture
def clients() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=TIMEOUT))


def join(stack: contextlib.ExitStack, url: str, name: str) -> tuple[ClientConnection, dict]:
    ws = stack.enter_context(connect(url, open_timeout=TIMEOUT))
    ws.send(json.dumps({"type": "join", "name": name}))
    return ws, recv(ws)


def refusal(url: str) -> tuple[int, str]:
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=TIMEOUT)
    response = refused.value.response
    return response.status_code, response.body.decode()


def until_dropped(handle: ServerHandle, room_id: str) -> None:
    """Wait (with a deadline) until the server dropped ``room_id``: its connections ended."""
    labkit.runner.run_sync(_dropped(handle, room_id), timeout=TIMEOUT)


async def _dropped(handle: ServerHandle, room_id: str) -> None:
    import asyncio

    while room_id in handle.app.rooms:
        await asyncio.sleep(0.005)  # a poll of the server's own state, on its loop


def test_room_ids_come_from_the_path() -> None:
    """/ is the main room; /rooms/NAME a room (case folded); anything else no room."""
    assert room_of("/") == "/"
    assert room_of("/rooms/Lobby") == room_of("/rooms/lobby") == "/rooms/lobby"
    assert room_of("/rooms/a-b_9") == "/rooms/a-b_9"
    assert room_of("/rooms/" + "x" * 32) is not None
    for path in ("/rooms/", "/rooms/" + "x" * 33, "/rooms/a/b", "/rooms/caf%C3%A9", "/rooms/a.b"):
        assert room_of(path) is None, path
    assert room_of("/room/x") is None and room_of("/chat") is None


def test_rooms_have_their_own_names_counts_and_history(server: ServerHandle, clients) -> None:
    """A name taken in one room is free in another; messages, counts, history stay apart."""
    one, two = f"{server.url}rooms/one", f"{server.url}rooms/two"
    ann1, welcome = join(clients, one, "Ann")
    assert welcome["users"] == ["Ann"]
    ann2, welcome = join(clients, two, "ann")  # free in room two
    assert welcome["type"] == "welcome" and welcome["users"] == ["ann"]
    main, welcome = join(clients, server.url, "ANN")  # and in the main room
    assert welcome["users"] == ["ANN"]
    bob1, welcome = join(clients, one, "Bob")
    assert welcome["users"] == ["Ann", "Bob"]
    assert recv(ann1) == {"type": "join", "name": "Bob", "count": 2}
    ann1.send(json.dumps({"type": "message", "text": "in one"}))
    assert recv(bob1)["text"] == "in one"
    _, welcome = join(clients, f"{server.url}rooms/ONE", "Cy")  # the same room, any case
    assert [m["text"] for m in welcome["history"]] == ["in one"]
    _, welcome = join(clients, two, "Cy")
    assert welcome["history"] == [] and welcome["users"] == ["ann", "Cy"]
    assert server.app.room.users == ["ANN"]
    assert server.app.rooms["/rooms/one"].users == ["Ann", "Bob", "Cy"]
    for ws in (ann2, main):  # nothing of room one leaked before their marker's answer
        ws.send("{marker")
        before = []
        while (event := recv(ws))["type"] != "error":
            before.append(event)
        assert [e["type"] for e in before] == (["join"] if ws is ann2 else [])


def test_an_empty_room_is_dropped_with_its_history_and_the_main_room_stays(clients) -> None:
    """A room nobody is in costs nothing: gone once its last connection ends (history too)."""
    handle = labkit.start(chat_app(open_timeout=0.2), name=unique("test-rooms"))
    try:
        url = f"{handle.url}rooms/brief"
        with connect(url, open_timeout=TIMEOUT) as ws:
            ws.send(json.dumps({"type": "join", "name": "Ann"}))
            assert recv(ws)["type"] == "welcome"
            ws.send(json.dumps({"type": "message", "text": "gone soon"}))
            assert "/rooms/brief" in handle.app.rooms
        until_dropped(handle, "/rooms/brief")
        _, welcome = join(clients, url, "Bob")
        assert welcome["history"] == [] and welcome["users"] == ["Bob"]
        assert "/" in handle.app.rooms
    finally:
        handle.stop()


def test_past_max_rooms_the_handshake_is_refused_with_503_saying_how_to_raise_it(clients) -> None:
    """One room too many gets 503 and a text naming the limit and how to raise it."""
    handle = labkit.start(chat_app(max_rooms=2), name=unique("test-rooms"))
    try:
        join(clients, f"{handle.url}rooms/a", "Ann")
        join(clients, f"{handle.url}rooms/b", "Ann")
        join(clients, handle.url, "Ann")  # the main room never counts
        join(clients, f"{handle.url}rooms/a", "Bob")  # an open room still takes people
        status, text = refusal(f"{handle.url}rooms/c")
        assert status == 503
        assert "max_rooms=2" in text and "chat_app(max_rooms=" in text and "--max-rooms" in text
    finally:
        handle.stop()


@pytest.mark.parametrize(
    "path", ["chat", "rooms/", "rooms/a/b", "rooms/caf%C3%A9", "rooms/" + "x" * 33]
)
def test_a_path_that_names_no_room_is_refused_with_404(server: ServerHandle, path: str) -> None:
    """Only / and /rooms/NAME open a WebSocket; the refusal says what a room path looks like."""
    status, text = refusal(server.url + path)
    assert status == 404 and "/rooms/NAME" in text


def test_the_page_is_served_at_every_room_path(server: ServerHandle) -> None:
    """GET /rooms/NAME serves the same page as GET / (it connects back to its own path)."""
    with urllib.request.urlopen(f"{server.http_url}rooms/lobby", timeout=TIMEOUT) as response:
        assert response.status == 200
        assert response.read().decode() == page_html()
        assert "script-src 'sha256-" in response.headers["Content-Security-Policy"]
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{server.http_url}rooms/no%20such", timeout=TIMEOUT)
    assert missing.value.code == 404
    missing.value.close()


def test_chat_app_keeps_presence_timeout_for_redis() -> None:
    """presence_timeout means nothing without redis=..., so it is refused, not ignored."""
    with pytest.raises(TypeError):
        chat_app(presence_timeout=1.0)
    assert chat_app().plane.name == "in-process"
    assert chat_app(redis="redis://127.0.0.1:1/0").plane.name == "redis"  # nothing connects yet
