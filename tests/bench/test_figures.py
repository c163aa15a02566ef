"""Tests for bench.figures: which run of several the suite keeps."""

from __future__ import annotations

import pytest

from bench.figures import median_result
from labkit.loadtest import FanoutResult, JoinResult


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
