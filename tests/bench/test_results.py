"""Tests for labkit.bench.results: quantiles, median runs and JSON round trips."""

from __future__ import annotations

import pytest

from labkit.bench.results import FanoutResult, JoinResult, median_result, quantile


def test_quantile_is_nearest_rank() -> None:
    """The median and p99 of 1..100 are the 50th and 99th values; empty gives None."""
    values = [float(v) for v in range(100, 0, -1)]
    assert quantile(values, 0.5) == 50.0
    assert quantile(values, 0.99) == 99.0
    assert quantile([], 0.5) is None


def _fanout(rate: float) -> FanoutResult:
    return FanoutResult(3, 10, 30, 30, 30 / rate, rate, 1.0, 2.0, 16)


def test_median_result_keeps_the_middle_run_whole() -> None:
    """The median of three fan-out runs is the whole run with the middle rate."""
    runs = [_fanout(300.0), _fanout(100.0), _fanout(200.0)]
    assert median_result(runs) is runs[2]
    with pytest.raises(ValueError):
        median_result([])


def test_join_median_is_by_settle_time() -> None:
    """Join storms are ranked by the time the room took to settle."""
    runs = [JoinResult(10, 0.1, 0.5), JoinResult(10, 0.1, 0.2), JoinResult(10, 0.1, 0.9)]
    assert median_result(runs) is runs[0]


def test_from_json_ignores_extra_fields() -> None:
    """A load generator's JSON (with CPU shares) rebuilds the typed result."""
    data = {**_fanout(100.0).to_json(), "server_cpu": 0.9, "loadgen_cpu": 0.4}
    assert FanoutResult.from_json(data) == _fanout(100.0)
