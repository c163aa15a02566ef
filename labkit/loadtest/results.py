"""What a load test measures: small typed results that print readably and rebuild from JSON.

The Node load generator of ``make bench`` prints the same fields, so a result
rebuilds from either (:meth:`FanoutResult.from_json`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["EchoResult", "FanoutResult", "JoinResult", "quantile"]

R = TypeVar("R")


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
