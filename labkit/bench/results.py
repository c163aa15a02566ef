"""What one benchmark run measures, as small typed values.

Both load generators (the Node one in ``bench/loadgen.mjs`` and the Python one
in :mod:`labkit.bench.load`) print or return the same fields, so a result can
be rebuilt from either with :meth:`from_json`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "EchoResult",
    "FanoutResult",
    "JoinResult",
    "MemoryResult",
    "median_result",
    "quantile",
]

R = TypeVar("R")


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank) of ``values``, or ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return float(ordered[index])


class _FromJson:
    @classmethod
    def from_json(cls: type[R], data: Mapping[str, Any]) -> R:
        """Build the result from a load generator's JSON object (extra keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_json(self) -> dict[str, Any]:
        """The result as a plain dict (for the results file)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
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

    connections: int
    round_trips: int
    seconds: float
    rate: float
    p50_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
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

    receivers: int
    messages: int
    deliveries: int
    received: int
    seconds: float
    rate: float
    p50_ms: float | None
    p99_ms: float | None
    window: int


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class MemoryResult(_FromJson):
    """Server memory held by idle, joined connections.

    Attributes:
        clients: idle connections held open.
        baseline_bytes: server RSS before they connected.
        loaded_bytes: server RSS with all of them joined.
        per_connection_bytes: ``(loaded - baseline) / clients``.
    """

    clients: int
    baseline_bytes: int
    loaded_bytes: int
    per_connection_bytes: float


def median_result(results: Iterable[R]) -> R:
    """The run whose main figure is the median (middle run, lower middle when even).

    Keeping a whole run, rather than the median of each field apart, keeps its
    figures consistent with each other.
    """
    runs = list(results)
    if not runs:
        raise ValueError("no runs")

    def key(result: Any) -> float:
        if isinstance(result, JoinResult):
            return result.settled_s
        if isinstance(result, MemoryResult):
            return result.per_connection_bytes
        return float(result.rate)

    ordered = sorted(runs, key=key)
    return ordered[(len(ordered) - 1) // 2]
