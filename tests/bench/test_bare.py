"""Tests for bench.bare: the plain websockets references do the same jobs."""

from __future__ import annotations

from websockets.asyncio.server import Server

from bench.bare import bare_echo, bare_room
from labkit.loadtest import run_echo, run_fanout, run_join_storm
from labkit.runner import run_sync


async def _stop(server: Server) -> None:
    server.close()
    await server.wait_closed()


def _url(server: Server) -> str:
    return f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}/"


def test_bare_room_speaks_the_chat_protocol() -> None:
    """The bare room relays a fan-out and settles a join storm like the kit's room."""
    server = run_sync(bare_room(), timeout=10)
    try:
        fan = run_fanout(_url(server), receivers=3, messages=5)
        assert fan.received == fan.deliveries == 15
        assert run_join_storm(_url(server), clients=5).settled_s > 0
    finally:
        run_sync(_stop(server), timeout=10)


def test_bare_echo_echoes() -> None:
    """The bare echo answers closed-loop round trips."""
    server = run_sync(bare_echo(), timeout=10)
    try:
        assert run_echo(_url(server), connections=1, duration=0.1).round_trips > 0
    finally:
        run_sync(_stop(server), timeout=10)
