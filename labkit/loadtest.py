"""Load-test a server from a notebook: many WebSocket clients on one asyncio loop.

Use it to load-test your own chat room::

    from labkit.loadtest import run_fanout

    server = labkit.start(labkit.chat_app(rate=1e9, burst=1e9))
    result = run_fanout(server.url, receivers=10, messages=50)
    result.rate, result.p50_ms

:func:`run_fanout`, :func:`run_echo` and :func:`run_join_storm` block until
done and return small typed results (:class:`FanoutResult`,
:class:`EchoResult`, :class:`JoinResult`).

The blocking ``run_*`` functions run their clients on a fresh event loop in a
thread of their own, so they work in a Jupyter cell (whose own loop is
already running, where ``asyncio.run`` is refused) and never block the kit's
loop, where your server runs. The ``async`` forms (:func:`echo`,
:func:`fanout`, :func:`join_storm`) run on whichever loop awaits them.

The chat scenarios speak the kit's JSON wire protocol
(:mod:`labkit.chat.protocol`). The chat room limits how fast one user may
send (20 messages per second by default): give the app a higher ``rate`` and
``burst`` to measure the relay rather than the flood control.

The repository's ``make bench`` uses a Node load generator when Node is
available: one Python process cannot keep up with a thousand receivers as
fast as the server sends. Run from the command line, this module prints the
same JSON as the Node one (``python -m labkit.loadtest fanout URL '{...}'``),
which is how ``make bench`` falls back to it. The results print and rebuild
as the same fields from either (:meth:`FanoutResult.from_json`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect

from labkit.chat.protocol import Join, Joined, Said, Say, Welcome, decode_server_event

__all__ = [
    "EchoResult",
    "FanoutResult",
    "JoinResult",
    "echo",
    "fanout",
    "join_storm",
    "main",
    "quantile",
    "run_echo",
    "run_fanout",
    "run_join_storm",
]

R = TypeVar("R")
T = TypeVar("T")


# --- results ---------------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank) of ``values``, or ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return float(ordered[index])


def _figure(value: Any, unit: str = "") -> str:
    """``value`` to 3 significant figures (``81,300``, ``0.520``), then its unit."""
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        decimals = 2 - math.floor(math.log10(abs(value)))
        text = f"{round(value, decimals):,.{max(0, decimals)}f}"
    else:  # counts, None, inf: as they are
        text = repr(value)
    return f"{text} {unit}" if unit and value is not None else text


class _FromJson:
    #: The unit of ``rate``, in the printed form.
    _rate_unit = "per s"

    def __repr__(self) -> str:
        """Each field to 3 significant figures with its unit: ``rate=81,300 deliveries/s``."""
        parts = []
        for name in (f.name for f in dataclasses.fields(self)):  # type: ignore[arg-type]
            suffix = "ms" if name.endswith("_ms") else "s" if name.endswith("_s") else ""
            unit = {"rate": self._rate_unit, "seconds": "s"}.get(name, suffix)
            parts.append(f"{name}={_figure(getattr(self, name), unit)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    @classmethod
    def from_json(cls: type[R], data: Mapping[str, Any]) -> R:
        """Build the result from a load generator's JSON object (extra keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> dict[str, Any]:
        """The result as a plain dict (for the results file)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True, repr=False)
class EchoResult(_FromJson):
    """Closed-loop echo: each connection sends one message, waits for it, repeats.

    Attributes:
        connections: clients running at once.
        round_trips: round trips counted after the warm-up.
        seconds: how long they took.
        rate: round trips per second, all connections together.
        p50_ms: median round-trip time, in milliseconds.
        p99_ms: 99th percentile round-trip time, in milliseconds.
    """

    _rate_unit = "round trips/s"

    connections: int
    round_trips: int
    seconds: float
    rate: float
    p50_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True, repr=False)
class FanoutResult(_FromJson):
    """One sender, many receivers: every message is delivered to every receiver.

    Attributes:
        receivers: clients receiving each message.
        messages: messages timed (after the warm-up).
        deliveries: ``receivers * messages``.
        received: deliveries that actually arrived (equals ``deliveries`` in a good run).
        seconds: time from the first timed message to the last delivery.
        rate: deliveries per second.
        p50_ms: median time from send to delivery, in milliseconds.
        p99_ms: 99th percentile of the same.
        window: messages the sender keeps in flight (not yet at every receiver).
    """

    _rate_unit = "deliveries/s"

    receivers: int
    messages: int
    deliveries: int
    received: int
    seconds: float
    rate: float
    p50_ms: float | None
    p99_ms: float | None
    window: int


@dataclass(frozen=True, repr=False)
class JoinResult(_FromJson):
    """A join storm: many clients connect and join the chat room at once.

    Attributes:
        clients: how many joined.
        welcomed_s: seconds until the last client had its welcome.
        settled_s: seconds until every client knew every other one (through
            its welcome's user list or a join notice), i.e. the room settled.
    """

    clients: int
    welcomed_s: float
    settled_s: float


# --- clients ---------------------------------------------------------------------


#: Seconds any one scenario may take before it gives up.
TIMEOUT = 120.0


def _now_ms() -> float:
    return time.perf_counter() * 1000.0


async def _open(url: str) -> ClientConnection:
    # No pings during a run: a pong must never queue behind a thousand deliveries.
    return await connect(url, compression=None, ping_interval=None, max_queue=None, open_timeout=30)


async def _join(ws: ClientConnection, name: str) -> Welcome:
    """Join as ``name``; return the welcome (other events before it are skipped)."""
    await ws.send(Join(name).encode())
    async for frame in ws:
        event = decode_server_event(frame)
        if isinstance(event, Welcome):
            return event
    raise ConnectionError(f"{name}: the server closed before the welcome")


async def _close_all(sockets: Sequence[ClientConnection]) -> None:
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


# --- echo ----------------------------------------------------------------------


async def echo(
    url: str, connections: int = 16, duration: float = 3.0, size: int = 64, warmup: float = 0.5
) -> EchoResult:
    """Closed-loop echo: each connection sends, waits for its echo, sends again.

    Args:
        url: an echo server's ``ws://`` URL.
        connections: clients running at once.
        duration: seconds measured, after ``warmup`` seconds not measured.
        size: characters per message.
    """
    payload = "x" * size
    sockets = await asyncio.gather(*(_open(url) for _ in range(connections)))
    latencies: list[float] = []
    start = _now_ms()
    measure_from = start + warmup * 1000
    stop_at = measure_from + duration * 1000

    async def loop(ws: ClientConnection) -> None:
        while True:
            sent = _now_ms()
            await ws.send(payload)
            await ws.recv()
            done = _now_ms()
            if sent >= measure_from:
                latencies.append(done - sent)
            if done >= stop_at:
                return

    await asyncio.gather(*(loop(ws) for ws in sockets))
    seconds = (_now_ms() - measure_from) / 1000
    await _close_all(sockets)
    return EchoResult(
        connections=connections,
        round_trips=len(latencies),
        seconds=seconds,
        rate=len(latencies) / seconds,
        p50_ms=quantile(latencies, 0.5),
        p99_ms=quantile(latencies, 0.99),
    )


# --- fan-out ---------------------------------------------------------------------


def _sequence(frame: str | bytes) -> int | None:
    """The sequence number a fan-out message carries as its text, or ``None``."""
    event = decode_server_event(frame)
    if not isinstance(event, Said) or not event.text.isdigit():
        return None
    return int(event.text)


async def fanout(
    url: str,
    receivers: int = 10,
    messages: int = 100,
    *,
    window: int = 16,
    warmup: int | None = None,
    tag: str | None = None,
) -> FanoutResult:
    """One sender publishes ``messages``; the chat room relays each to every receiver.

    Every receiver joins the room first; then the sender joins and sends
    ``{"type": "message", "text": SEQ}``, keeping at most ``window`` messages
    in flight (sent but not yet at every receiver), so the run measures how
    fast the room relays, not how deep its buffers are.

    Args:
        url: a chat server's ``ws://`` URL.
        receivers: clients that receive every message.
        messages: messages measured (after ``warmup`` more that are not).
        window: messages in flight at most.
        warmup: unmeasured messages first (default: up to 20).
        tag: makes this run's user names unique (default: a fresh one).

    Returns:
        A :class:`FanoutResult`; ``received == deliveries`` when nothing was lost.
    """
    tag = tag or f"{os.getpid()}-{time.monotonic_ns() % 10**9}"
    warm = min(20, messages) if warmup is None else warmup
    total = warm + messages
    delivered = [0] * total
    sent_at = [0.0] * total
    latencies: list[float] = []
    state = {"sent": 0, "completed": 0, "from": 0.0}
    finished = asyncio.get_running_loop().create_future()
    can_send = asyncio.Event()

    def on_message(frame: str | bytes) -> None:
        seq = _sequence(frame)
        if seq is None or seq >= total:
            return
        now = _now_ms()
        if seq >= warm:
            latencies.append(now - sent_at[seq])
        delivered[seq] += 1
        if delivered[seq] == receivers:
            state["completed"] += 1
            if state["completed"] == warm:
                state["from"] = now
            if state["completed"] == total and not finished.done():
                finished.set_result(now)
            can_send.set()

    async def receive(ws: ClientConnection) -> None:
        async for frame in ws:
            on_message(frame)

    sockets = list(await asyncio.gather(*(_open(url) for _ in range(receivers))))
    await asyncio.gather(*(_join(ws, f"r{tag}-{i}") for i, ws in enumerate(sockets)))
    readers = [asyncio.create_task(receive(ws)) for ws in sockets]
    sender = await _open(url)
    await _join(sender, f"s{tag}")
    state["from"] = _now_ms()
    try:
        while state["sent"] < total:
            while state["sent"] < total and state["sent"] - state["completed"] < window:
                seq = state["sent"]
                state["sent"] += 1
                sent_at[seq] = _now_ms()
                await sender.send(Say(str(seq)).encode())
            can_send.clear()
            if state["sent"] < total:
                await can_send.wait()
        ended = await finished
    finally:
        await _close_all([sender, *sockets])
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    seconds = (ended - state["from"]) / 1000
    deliveries = receivers * messages
    return FanoutResult(
        receivers=receivers,
        messages=messages,
        deliveries=deliveries,
        received=len(latencies),
        seconds=seconds,
        rate=deliveries / seconds if seconds > 0 else float("inf"),
        p50_ms=quantile(latencies, 0.5),
        p99_ms=quantile(latencies, 0.99),
        window=window,
    )


# --- join storm -------------------------------------------------------------------


async def _storm(url: str, clients: int, tag: str) -> tuple[list[ClientConnection], JoinResult]:
    prefix = f"j{tag}-"
    seen = [0] * clients
    state = {"settled": 0, "welcomed": 0.0}
    settled = asyncio.get_running_loop().create_future()
    start = _now_ms()

    def bump(i: int, by: int) -> None:
        before = seen[i]
        seen[i] += by
        if before < clients <= seen[i]:
            state["settled"] += 1
            if state["settled"] == clients and not settled.done():
                settled.set_result(_now_ms())

    async def client(i: int) -> ClientConnection:
        ws = await _open(url)
        welcome = await _join(ws, f"{prefix}{i}")
        state["welcomed"] = max(state["welcomed"], _now_ms())
        bump(i, sum(1 for name in welcome.users if name.startswith(prefix)))

        async def listen() -> None:
            async for frame in ws:
                event = decode_server_event(frame)
                if isinstance(event, Joined) and event.name.startswith(prefix):
                    bump(i, 1)

        readers.append(asyncio.create_task(listen()))
        return ws

    readers: list[asyncio.Task[None]] = []
    sockets = list(await asyncio.gather(*(client(i) for i in range(clients))))
    done = await settled
    result = JoinResult(
        clients=clients,
        welcomed_s=(state["welcomed"] - start) / 1000,
        settled_s=(done - start) / 1000,
    )
    for task in readers:
        task.cancel()
    return sockets, result


async def join_storm(url: str, clients: int = 100, *, tag: str | None = None) -> JoinResult:
    """Open ``clients`` connections at once, each joins; time until the room settles.

    The room has settled when every client has its welcome and knows every
    other client of the storm, through its welcome's user list or a join
    notice (so the last join notice has reached everyone).
    """
    tag = tag or f"{os.getpid()}-{time.monotonic_ns() % 10**9}"
    sockets, result = await _storm(url, clients, tag)
    await _close_all(sockets)
    return result


# --- blocking forms, for notebooks and scripts --------------------------------------


def _in_thread(make: Callable[[], Coroutine[Any, Any, T]], timeout: float) -> T:
    """Run a coroutine on a new loop in a new thread and return its result.

    A thread of its own works whatever the caller is: a plain script, a
    Jupyter cell (its loop is running), or a callback on the kit's loop.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(asyncio.wait_for(make(), timeout))
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="labkit-loadtest", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def run_echo(
    url: str, connections: int = 16, duration: float = 3.0, size: int = 64, timeout: float = TIMEOUT
) -> EchoResult:
    """Blocking :func:`echo`, safe to call from a notebook cell."""
    return _in_thread(lambda: echo(url, connections, duration, size), timeout)


def run_fanout(
    url: str,
    receivers: int = 10,
    messages: int = 100,
    *,
    window: int = 16,
    timeout: float = TIMEOUT,
) -> FanoutResult:
    """Blocking :func:`fanout`, safe to call from a notebook cell."""
    return _in_thread(lambda: fanout(url, receivers, messages, window=window), timeout)


def run_join_storm(url: str, clients: int = 100, timeout: float = TIMEOUT) -> JoinResult:
    """Blocking :func:`join_storm`, safe to call from a notebook cell."""
    return _in_thread(lambda: join_storm(url, clients), timeout)


# --- command line: the same contract as bench/loadgen.mjs ------------------------------


async def _idle(url: str, clients: int, tag: str) -> dict[str, Any]:
    sockets, result = await _storm(url, clients, tag)
    print(json.dumps({"ready": True, **result.to_json()}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await _close_all(sockets)
    return {"closed": len(sockets)}


def _scenario(name: str, url: str, options: dict[str, Any]) -> Awaitable[Any]:
    tag = str(options.get("tag") or os.getpid())
    if name == "echo":
        return echo(
            url,
            options.get("connections", 16),
            options.get("duration", 3.0),
            options.get("size", 64),
            options.get("warmup", 0.5),
        )
    if name == "fanout":
        return fanout(
            url,
            options.get("receivers", 100),
            options.get("messages", 200),
            window=options.get("window", 16),
            warmup=options.get("warmup"),
            tag=tag,
        )
    if name == "join":
        return join_storm(url, options.get("clients", 1000), tag=tag)
    if name == "idle":
        return _idle(url, options.get("clients", 1000), tag)
    raise SystemExit(f"unknown scenario {name!r}: use echo, fanout, join or idle")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m labkit.loadtest SCENARIO URL [JSON options]``: print one JSON result."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print("usage: python -m labkit.loadtest echo|fanout|join|idle URL [JSON]", file=sys.stderr)
        return 2
    options = json.loads(args[2]) if len(args) > 2 else {}
    timeout = float(options.get("timeout", TIMEOUT))

    async def run() -> Any:
        return await asyncio.wait_for(_scenario(args[0], args[1], options), timeout)

    try:
        result = asyncio.run(run())
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps(result if isinstance(result, dict) else result.to_json()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
