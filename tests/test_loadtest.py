"""Tests for labkit.loadtest: the Python clients against real servers, at tiny sizes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import labkit
from labkit.chat.protocol import Join, Said, decode_server_event
from labkit.errors import LoadTestError
from labkit.loadtest import (
    EchoResult,
    FanoutResult,
    JoinResult,
    quantile,
    run_echo,
    run_fanout,
    run_join_storm,
)
from labkit.runner import ServerHandle
from tests.support import wait_handlers_done


@pytest.fixture
def chat_server() -> Iterator[ServerHandle]:
    """A chat room with its flood limits lifted, as a load test needs it."""
    with labkit.start(labkit.chat_app(rate=None), name="loadtest-chat") as handle:
        yield handle


@pytest.fixture
def echo_server() -> Iterator[ServerHandle]:
    """The kit's echo app."""
    with labkit.start(labkit.echo_app(), name="loadtest-echo") as handle:
        yield handle


def test_fanout_delivers_every_message_to_every_receiver(chat_server: ServerHandle) -> None:
    """A 3-receiver fan-out of 10 messages counts 30 deliveries with sane figures."""
    result = run_fanout(chat_server.url, receivers=3, messages=10, window=4)
    assert result.receivers == 3
    assert result.received == result.deliveries == 30
    assert result.rate > 0 and result.seconds > 0
    assert 0 <= result.p50_ms <= result.p99_ms


def test_fanout_leaves_the_room_empty(chat_server: ServerHandle) -> None:
    """After a run every simulated client has left the room (closing is awaited)."""
    run_fanout(chat_server.url, receivers=2, messages=3)
    wait_handlers_done(chat_server.app)  # the server's side of each close
    assert chat_server.app.room.users == []


def test_join_storm_settles(chat_server: ServerHandle) -> None:
    """Eight clients joining at once all get welcomed and the room settles."""
    result = run_join_storm(chat_server.url, clients=8)
    assert result.clients == 8
    assert 0 < result.welcomed_s <= result.settled_s


def test_echo_counts_round_trips(echo_server: ServerHandle) -> None:
    """Two closed-loop echo clients for 0.2 s count round trips and latencies."""
    result = run_echo(echo_server.url, connections=2, duration=0.2, size=8)
    assert result.connections == 2
    assert result.round_trips > 0 and result.rate > 0
    assert 0 < result.p50_ms <= result.p99_ms


def test_blocking_form_works_under_a_running_loop(chat_server: ServerHandle) -> None:
    """Called where a loop already runs (as in a Jupyter cell), run_fanout still works."""

    async def cell() -> int:
        return run_fanout(chat_server.url, receivers=2, messages=2).received

    assert asyncio.run(cell()) == 4


def test_quantile_is_nearest_rank() -> None:
    """The median and p99 of 1..100 are the 50th and 99th values; empty gives None."""
    values = [float(v) for v in range(100, 0, -1)]
    assert quantile(values, 0.5) == 50.0
    assert quantile(values, 0.99) == 99.0
    assert quantile([], 0.5) is None


def _fanout(rate: float) -> FanoutResult:
    return FanoutResult(3, 10, 30, 30, 30 / rate, rate, 1.0, 2.0, 16)


def test_from_json_ignores_extra_fields() -> None:
    """A load generator's JSON (with CPU shares) rebuilds the typed result."""
    data = {**_fanout(100.0).to_json(), "server_cpu": 0.9, "loadgen_cpu": 0.4}
    assert FanoutResult.from_json(data) == _fanout(100.0)


def test_results_print_three_significant_figures_with_units() -> None:
    """A result prints each figure to 3 significant figures with its unit, not 16 decimals."""
    fanout = FanoutResult(5, 20, 100, 100, 0.0012345678, 81345.678901, 0.5200001, 0.75, 16)
    assert repr(fanout) == (
        "FanoutResult(receivers=5, messages=20, deliveries=100, received=100, "
        "seconds=0.00123 s, rate=81,300 deliveries/s, p50_ms=0.520 ms, p99_ms=0.750 ms, "
        "window=16)"
    )
    assert str(fanout) == repr(fanout)
    echo = EchoResult(16, 5000, 3.0012345, 16666.666666, 0.91234567, None)
    assert repr(echo) == (
        "EchoResult(connections=16, round_trips=5000, seconds=3.00 s, "
        "rate=16,700 round trips/s, p50_ms=0.912 ms, p99_ms=None)"
    )
    assert repr(JoinResult(20, 0.1, 1.23456789)) == (
        "JoinResult(clients=20, welcomed_s=0.100 s, settled_s=1.23 s)"
    )


def test_printed_results_keep_odd_values_readable() -> None:
    """Zero, infinity, whole numbers from JSON and missing latencies print as they are."""
    odd = FanoutResult(1, 1, 1, 0, 0.0, float("inf"), None, None, 16)
    assert "seconds=0.0 s, rate=inf deliveries/s, p50_ms=None, p99_ms=None" in repr(odd)
    from_json = FanoutResult.from_json({**_fanout(100.0).to_json(), "rate": 100})
    assert "rate=100 deliveries/s" in repr(from_json)


def test_a_default_room_refuses_a_load_test_clearly_and_quickly() -> None:
    """The default flood limit stops run_fanout at its first refusal, naming the limit and fix."""
    room = labkit.start(labkit.chat_app(), name="loadtest-default-room")
    try:
        with pytest.raises(LoadTestError) as refused:
            run_fanout(room.url, receivers=3, messages=500, timeout=5)
    finally:
        room.stop()
    message = str(refused.value)
    assert "rate_limited" in message and "20 per second" in message
    assert "chat_app(rate=None)" in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_nothing_listening_is_one_clear_line() -> None:
    """A load test against a stopped server says nothing is listening there."""
    room = labkit.start(labkit.chat_app(rate=None), name="loadtest-stopped")
    room.stop()
    with pytest.raises(LoadTestError, match="nothing is listening at ws://"):
        run_fanout(room.url, receivers=2, messages=5)


def test_a_refused_handshake_is_one_clear_line() -> None:
    """A server that refuses the handshake (404: no such route) is named with its status."""
    app = labkit.App("loadtest-routes")

    @app.route("/only-here")
    async def only(ctx, next):
        await next()

    handle = labkit.start(app, name="loadtest-refusing")
    try:
        with pytest.raises(LoadTestError, match="refused the WebSocket handshake: 404"):
            run_echo(handle.url, connections=1, duration=0.1)
    finally:
        handle.stop()


def test_a_server_stopped_mid_run_is_one_clear_line() -> None:
    """Stopping the room under a running fan-out ends it with 'the server went away' (1001)."""
    room = labkit.start(labkit.chat_app(rate=None), name="loadtest-mid-run")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_fanout(room.url, receivers=2, messages=10**6)
        except BaseException as exc:
            errors.append(exc)

    watcher = labkit.WebSocket(room.url).wait_open()
    watcher.send(Join("watcher").encode())
    thread = threading.Thread(target=run)
    thread.start()
    watcher.wait_for(lambda frame: isinstance(decode_server_event(frame), Said), timeout=30)
    room.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], LoadTestError), errors
    assert "closed with 1001: the server went away" in str(errors[0])


def test_nothing_listening_speaks_chinese(chinese) -> None:
    """The one line of a load test against a stopped server, in Chinese."""
    room = labkit.start(labkit.chat_app(rate=None), name="loadtest-stopped-zh")
    room.stop()
    with pytest.raises(LoadTestError) as error:
        run_fanout(room.url, receivers=2, messages=5)
    assert str(error.value) == f"{room.url} 上没有服务在监听：服务器在运行吗？"
