"""Tests for labkit.places: a server started again after a stop takes its URL back."""

from __future__ import annotations

import socket
import uuid

import labkit
from labkit.places import Place, recall, remember


def unique_name(prefix: str) -> str:
    """A server name no other test uses (places are remembered for the whole process)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_recall_finds_a_place_by_name_and_host_only() -> None:
    """A place is remembered per name, and only offered back on the same interface."""
    name = unique_name("places")
    remember(name, Place("127.0.0.1", 4567, "/s/"))
    assert recall(name, "127.0.0.1") == Place("127.0.0.1", 4567, "/s/")
    assert recall(name, "0.0.0.0") is None
    assert recall(unique_name("never-started"), "127.0.0.1") is None


def test_a_stopped_server_started_again_keeps_its_url_and_secret() -> None:
    """stop(), then the same cell again: same port, same secret path, and it answers."""
    name = unique_name("places-chat")
    first = labkit.start(labkit.chat_app(), name=name)
    url, secret = first.url, first.app.secret
    first.stop()
    second = labkit.start(labkit.chat_app(), name=name)
    try:
        assert (second.url, second.app.secret) == (url, secret)
        ws = labkit.WebSocket(second.url).wait_open()
        ws.close()
    finally:
        second.stop()


def test_a_port_taken_meanwhile_gives_way_to_a_free_one() -> None:
    """Another program on the old port: the server starts anyway, elsewhere, without error."""
    name = unique_name("places-taken")
    first = labkit.start(labkit.echo_app(), name=name)
    port = first.port
    first.stop()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        second = labkit.start(labkit.echo_app(), name=name)
        try:
            assert second.port != port
            labkit.WebSocket(second.url).wait_open().close()
        finally:
            second.stop()
