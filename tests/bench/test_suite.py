"""Tests for bench.suite: a tiny run end to end, with servers in their own processes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.process import BenchTarget, start_all
from bench.suite import (
    BenchError,
    Plan,
    SuiteOptions,
    _paired_ratios,
    concurrent_run,
    find_loadgen,
    placement,
    run_suite,
    summary_table,
    write_results,
)

TINY = Plan(
    reps=1,
    echo_reps=1,
    echo_seconds=0.2,
    echo_concurrent_reps=2,
    fanout_receivers=(3,),
    fanout_deliveries=60,
    join_clients=5,
    idle_clients=5,
)


def test_fanout_scenario_reports_ratios_and_writes_json(tmp_path: Path) -> None:
    """A tiny fan-out against the kit and bare servers yields medians, ratios and JSON files."""
    lines: list[str] = []
    options = SuiteOptions(scenarios=("fanout",), plan=TINY, koa=False, uvloop=False)
    report = run_suite(options, say=lines.append)
    block = report["scenarios"]["fanout"]["receivers"]["3"]
    for label in ("kit", "bare"):
        median = block["median"][label]
        assert median["received"] == median["deliveries"] == 3 * TINY.fanout_messages(3)
        assert median["rate"] > 0
    assert block["ratios"]["kit/bare"] > 0
    assert any("fanout" in line for line in lines)
    path = write_results(report, tmp_path)
    assert json.loads(path.read_text()) == json.loads((tmp_path / "latest.json").read_text())
    assert "fanout 3 deliveries/s" in summary_table(report)


def test_memory_scenario_measures_rss(tmp_path: Path) -> None:
    """The memory scenario reads the kit server's RSS before and with idle clients."""
    options = SuiteOptions(scenarios=("memory",), plan=TINY, koa=False, uvloop=False)
    report = run_suite(options, say=lambda line: None)
    kit = report["scenarios"]["memory"]["median"]["kit"]
    assert kit["clients"] == 5
    assert kit["baseline_bytes"] > 0 and kit["loaded_bytes"] > 0


def test_ratios_are_medians_of_turn_by_turn_ratios() -> None:
    """Turn i of each server is compared with turn i of the other, then the median is kept."""
    runs = {
        "kit": [{"rate": 90.0}, {"rate": 50.0}, {"rate": 100.0}],
        "bare": [{"rate": 100.0}, {"rate": 50.0}, {"rate": 200.0}],
    }
    out = _paired_ratios(runs, "rate")
    assert out["ratios"] == {"kit/bare": 0.9}  # per turn 0.9, 1.0, 0.5
    low, high = out["ratio_quartiles"]["kit/bare"]
    assert 0.5 <= low <= 0.9 <= high <= 1.0  # within the turns, never beyond them
    two = _paired_ratios(
        {"kit": [{"rate": 1.0}, {"rate": 10.0}], "bare": [{"rate": 10.0}] * 2}, "rate"
    )
    low, high = two["ratio_quartiles"]["kit/bare"]
    assert 0.1 <= low <= high <= 1.0
    # A ratio of medians would have said 90 / 100 here too, but not in general:
    assert _paired_ratios({"kit": runs["kit"][:2], "bare": runs["bare"][:2]}, "rate")["ratios"][
        "kit/bare"
    ] == pytest.approx(0.95)


def test_ratios_of_times_are_inverted_so_above_one_means_faster() -> None:
    runs = {"kit": [{"settled_s": 1.0}], "bare": [{"settled_s": 2.0}], "koa": [{"settled_s": 4.0}]}
    ratios = _paired_ratios(runs, "settled_s", lower_is_better=True)["ratios"]
    assert ratios == {"kit/bare": 2.0, "kit/koa": 4.0, "bare/koa": 2.0}


def test_placement_gives_the_servers_one_processor_and_the_load_the_others() -> None:
    assert placement(pin=False) is None
    where = placement()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        assert where is None
    else:
        assert where is not None
        assert where.server == (cpus[0],) and where.loadgen == tuple(cpus[1:])


def test_echo_scenario_warms_up_pins_and_pairs(tmp_path: Path) -> None:
    """The echo runs warmed-up, pinned servers in turns and reports paired ratios."""
    lines: list[str] = []
    options = SuiteOptions(scenarios=("echo",), plan=TINY, koa=False, uvloop=False)
    before = os.sched_getaffinity(0)
    report = run_suite(options, say=lines.append)
    assert os.sched_getaffinity(0) == before  # the suite gave its processors back
    echo = report["scenarios"]["echo"]
    labels = ("kit", "kit-every", "bare")
    assert set(echo["runs"]) == set(labels)  # the twin runs only concurrently
    assert [len(echo["runs"][label]) for label in labels] == [TINY.echo_reps] * 3
    assert echo["ratios"]["kit-every/bare"] > 0
    assert "kit-every" in summary_table(report)
    concurrent = echo["concurrent"]
    if report["placement"] is None or report["loadgen"] != "node":
        assert "skipped" in concurrent
        return
    assert set(concurrent) == {"kit/bare", "kit-every/bare", "bare-twin/bare"}
    for pair, c in concurrent.items():
        a, b = pair.split("/")
        runs = c["runs"]
        assert [run["first"] for run in runs] == [a, b]  # the order alternates
        assert [run["ratio"] for run in runs] == [
            pytest.approx(run[a]["rate"] / run[b]["rate"]) for run in runs
        ]
        assert c["ratio"] == pytest.approx((runs[0]["ratio"] + runs[1]["ratio"]) / 2)
        assert c["range"] == [min(r["ratio"] for r in runs), max(r["ratio"] for r in runs)]
        assert all(0 < share <= 1.05 for share in c["server_cpu"].values())
        assert c["per_cpu_ratio"] > 0
    assert "echo concurrent" in summary_table(report)
    if report["placement"] is not None:
        assert any("pinned" in line for line in lines)


def test_a_concurrent_run_raises_what_a_load_generator_ran_into() -> None:
    """A failed run on either side is an error, never a ratio quietly left out."""
    load = find_loadgen("node", lambda line: None)
    up, down = start_all([BenchTarget.python(label, "bare-echo") for label in ("up", "down")])
    try:
        down.stop()
        for a, b in ((up, down), (down, up)):
            with pytest.raises(BenchError):
                concurrent_run(load, a, b, {"connections": 2, "duration": 0.2})
    finally:
        up.stop()
