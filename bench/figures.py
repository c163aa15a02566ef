"""What the suite makes of its runs: the memory figure, and which run it keeps.

The load generators (``bench/loadgen.mjs`` and :mod:`labkit.loadtest`) print
the fields of :class:`~labkit.loadtest.EchoResult`,
:class:`~labkit.loadtest.FanoutResult` and :class:`~labkit.loadtest.JoinResult`;
the memory per connection is measured here, from the server's side, so its
type lives here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from labkit.loadtest import JoinResult

__all__ = ["MemoryResult", "median_result"]

R = TypeVar("R")


@dataclass(frozen=True)
class MemoryResult:
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

    def to_json(self) -> dict[str, Any]:
        """The result as a plain dict (for the results file)."""
        return dataclasses.asdict(self)


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
