"""The way out to Redis: one ordered, bounded queue of script calls, sent pipelined.

RFC 6455 says nothing about it; the chat's rule does: a slow Redis must never
block a connection's loop. Every room event a process makes is :meth:`Outbox.put`
here (it never waits) and one task sends them in the order they came, up to
:data:`BATCH` per round trip (a pipeline, not a transaction: each script is
atomic on its own). An event waits at most ``timeout`` seconds, the queue holds
at most ``limit``; past either, its ``done`` gets a
:class:`~labkit.errors.BackplaneError` at once, and the room tells the sender
``unavailable``. The order matters: a member's join is sent before its leave.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from labkit.chat.redis_lua import Script
from labkit.errors import BackplaneError
from labkit.i18n import _

__all__ = ["BATCH", "Outbox"]

BATCH = 256
"""Script calls per pipelined round trip."""

log = logging.getLogger("labkit.chat.redis")


@dataclass(slots=True)
class _Op:
    script: Script
    argv: list[str]
    deadline: float
    done: Callable[[Any], None]  # gets the script's result, or a BackplaneError


class Outbox:
    """Script calls waiting for Redis, in order.

    Args:
        namespace: the first argument of every script (the keys' prefix).
        limit: calls that may wait at once.
        timeout: seconds a call may wait before it fails.
        trouble: called with the error when Redis fails a round trip.

    Attributes:
        client: the Redis client to send with (set before :meth:`run`).
        available: whether to take calls at all (the backplane keeps it up to date).
    """

    def __init__(
        self, namespace: str, limit: int, timeout: float, trouble: Callable[[BaseException], None]
    ) -> None:
        self.namespace = namespace
        self.limit = limit
        self.timeout = timeout
        self.client: Redis | None = None
        self.available = False
        self._trouble = trouble
        self._queue: deque[_Op] = deque()
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, script: Script, argv: list[str], done: Callable[[Any], None]) -> None:
        """Queue ``script(namespace, *argv)``; ``done`` gets its result (never raises)."""
        if not self.available or len(self._queue) >= self.limit:
            done(BackplaneError(_("Redis is unreachable, or the outbox is full")))
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        self._queue.append(_Op(script, [self.namespace, *argv], deadline, done))
        self._drained.clear()
        self._wake.set()

    def call(self, script: Script, argv: list[str]) -> asyncio.Future[Any]:
        """Like :meth:`put`, as a future that raises BackplaneError on failure."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(result: Any) -> None:
            if future.done():
                return
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

        self.put(script, argv, done)
        return future

    async def flush(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until every queued call was sent."""
        if not self._queue:
            return
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
        except TimeoutError:
            log.warning(_("%d events still unsent to Redis at stop"), len(self._queue))

    async def run(self) -> None:
        """Send queued calls until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                now, batch = loop.time(), []
                while self._queue and len(batch) < BATCH:
                    op = self._queue.popleft()
                    if op.deadline < now or not self.available:
                        _settle(op, BackplaneError(_("Redis did not take it in time")))
                    else:
                        batch.append(op)
                if batch:
                    await self._send(batch)
            self._drained.set()

    async def _send(self, batch: list[_Op]) -> None:
        assert self.client is not None
        pipe = self.client.pipeline(transaction=False)
        for op in batch:
            pipe.evalsha(op.script.sha, 0, *op.argv)
        try:
            results = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            for op in batch:
                _settle(op, BackplaneError(_("the chat is stopping")))
            raise
        except (RedisError, OSError) as exc:
            self._trouble(exc)
            results = [BackplaneError(str(exc))] * len(batch)
        for op, result in zip(batch, results, strict=True):
            if isinstance(result, NoScriptError):
                self._trouble(result)  # Redis restarted between two round trips
            if isinstance(result, Exception) and not isinstance(result, BackplaneError):
                log.warning(_("%s failed in Redis: %s"), op.script.name, result)
                result = BackplaneError(str(result))
            _settle(op, result)


def _settle(op: _Op, result: Any) -> None:
    try:
        op.done(result)
    except Exception:  # a delivery must never stop the writer
        log.exception(_("handling the result of %s failed"), op.script.name)
