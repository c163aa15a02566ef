"""The load-test scenarios: many WebSocket clients on the loop that awaits them.

:func:`echo` for an echo server, :func:`fanout` and :func:`join_storm` for
the chat room. Each failure becomes one :class:`~labkit.errors.LoadTestError`
that says what happened: nothing listening, the handshake refused (RFC 6455,
section 4.2.2), the server gone mid-run, or the room refusing messages.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, ParamSpec, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from labkit.chat.protocol import (
    ErrorCode,
    ErrorNotice,
    Join,
    Joined,
    Said,
    Say,
    Welcome,
    decode_server_event,
)
from labkit.errors import LoadTestError
from labkit.i18n import _
from labkit.loadtest.results import EchoResult, FanoutResult, JoinResult, quantile

__all__ = ["TIMEOUT", "echo", "fanout", "join_storm"]

P = ParamSpec("P")
T = TypeVar("T")

#: Seconds any one scenario may take before it gives up.
TIMEOUT = 120.0


def _now_ms() -> float:
    return time.perf_counter() * 1000.0


def _gone(url: str, code: int | None) -> LoadTestError:
    """A load-test connection closed mid-run with ``code`` (RFC 6455, section 7.4.1)."""
    code = 1006 if code is None else code
    if code in (1001, 1006):
        text = _("a load-test connection to {url} closed with {code}: the server went away")
    else:
        text = _("a load-test connection to {url} closed with {code}: the server closed it")
    return LoadTestError(text.format(url=url, code=code))


def _explained(url: str, exc: BaseException) -> LoadTestError | None:
    """The one line that says why a run against ``url`` failed, or ``None`` if unknown."""
    if isinstance(exc, LoadTestError):
        return exc
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        body = exc.response.body.decode("utf-8", "replace").strip()[:200]
        text = _("{url} refused the WebSocket handshake: {status} {body}")
        return LoadTestError(text.format(url=url, status=status, body=body).rstrip())
    if isinstance(exc, InvalidHandshake):
        return LoadTestError(
            _("{url} is not a WebSocket server: {error}").format(url=url, error=exc)
        )
    if isinstance(exc, ConnectionClosed):
        return _gone(url, exc.rcvd.code if exc.rcvd is not None else None)
    if isinstance(exc, ConnectionRefusedError):
        return LoadTestError(
            _("nothing is listening at {url}: is the server running?").format(url=url)
        )
    if isinstance(exc, OSError):
        return LoadTestError(
            _("cannot reach {url}: {error}").format(url=url, error=exc.strerror or exc)
        )
    return None


async def _open(url: str) -> ClientConnection:
    # No pings during a run: a pong must never queue behind a thousand deliveries.
    return await connect(url, compression=None, ping_interval=None, max_queue=None, open_timeout=30)


def _plain(scenario: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn a scenario's known failures (refused, gone, nothing listening) into one line."""

    @functools.wraps(scenario)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await scenario(*args, **kwargs)
        except (OSError, InvalidHandshake, ConnectionClosed) as exc:
            url = str(args[0]) if args else str(kwargs.get("url", "the server"))
            explained = _explained(url, exc)
            if explained is None:
                raise
            raise explained from None

    return run


def _refusal(notice: ErrorNotice) -> LoadTestError:
    """The error for a room that answered the load test with an error event."""
    if notice.code == ErrorCode.RATE_LIMITED:
        return LoadTestError(
            _(
                "the room refused the load test's messages (rate_limited: {message}). "
                "Its flood control is measured, not the relay: start the room with "
                "labkit.chat_app(rate=None) for a load test"
            ).format(message=notice.message)
        )
    return LoadTestError(
        _("the room refused the load test: {code}: {message}").format(
            code=notice.code, message=notice.message
        )
    )


async def _join(ws: ClientConnection, name: str) -> Welcome:
    """Join as ``name``; return the welcome (other events before it are skipped)."""
    await ws.send(Join(name).encode())
    async for frame in ws:
        event = decode_server_event(frame)
        if isinstance(event, Welcome):
            return event
        if isinstance(event, ErrorNotice):
            raise _refusal(event)
    raise LoadTestError(
        _("{name}: the server closed the connection before its welcome").format(name=name)
    )


async def _close_all(sockets: Sequence[ClientConnection]) -> None:
    """Close every connection; when the run was cancelled (interrupted), drop them at once.

    A graceful close waits for the server's close frame (RFC 6455, section
    7.1.2), which queues behind every broadcast still in flight: seconds, in
    a fan-out. An interrupted learner should not wait for that.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        for ws in sockets:
            ws.transport.abort()
        return
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


# --- echo ----------------------------------------------------------------------


@_plain
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


@_plain
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
    # Only the messages in flight (at most ``window``) are tracked, so memory
    # stays flat however many messages a run sends.
    delivered: dict[int, int] = {}
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    state = {"sent": 0, "completed": 0, "from": 0.0}
    finished = asyncio.get_running_loop().create_future()
    can_send = asyncio.Event()

    def on_message(frame: str | bytes) -> None:
        seq = _sequence(frame)
        if seq is None or seq not in delivered:
            return
        now = _now_ms()
        if seq >= warm:
            latencies.append(now - sent_at[seq])
        delivered[seq] += 1
        if delivered[seq] == receivers:
            del delivered[seq], sent_at[seq]
            state["completed"] += 1
            if state["completed"] == warm:
                state["from"] = now
            if state["completed"] == total and not finished.done():
                finished.set_result(now)
            can_send.set()

    def fail(error: LoadTestError) -> None:
        if not finished.done():
            finished.set_exception(error)
        can_send.set()

    async def receive(ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                on_message(frame)
        except ConnectionClosed as exc:
            fail(_explained(url, exc) or LoadTestError(str(exc)))
        else:  # a clean close (1000 or 1001) ends the loop quietly: say which
            fail(_gone(url, ws.close_code))

    async def watch(ws: ClientConnection) -> None:
        """The sender hears nothing in a good run; an error event means a refusal."""
        try:
            async for frame in ws:
                event = decode_server_event(frame)
                if isinstance(event, ErrorNotice):
                    fail(_refusal(event))
        except ConnectionClosed as exc:
            fail(_explained(url, exc) or LoadTestError(str(exc)))

    sockets = list(await asyncio.gather(*(_open(url) for _ in range(receivers))))
    await asyncio.gather(*(_join(ws, f"r{tag}-{i}") for i, ws in enumerate(sockets)))
    readers = [asyncio.create_task(receive(ws)) for ws in sockets]
    sender = await _open(url)
    await _join(sender, f"s{tag}")
    readers.append(asyncio.create_task(watch(sender)))
    state["from"] = _now_ms()
    try:
        while state["sent"] < total and not finished.done():
            while state["sent"] < total and state["sent"] - state["completed"] < window:
                seq = state["sent"]
                state["sent"] += 1
                sent_at[seq] = _now_ms()
                delivered[seq] = 0
                await sender.send(Say(str(seq)).encode())
            can_send.clear()
            if state["sent"] < total and not finished.done():
                await can_send.wait()
        ended = await finished
    finally:
        if finished.done() and not finished.cancelled():
            finished.exception()  # retrieved: a send that failed first tells the story

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


@_plain
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
