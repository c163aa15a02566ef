"""Tests for labkit.bench.suite: a tiny run end to end, with servers in their own processes."""

from __future__ import annotations

import json
from pathlib import Path

from labkit.bench.suite import Plan, SuiteOptions, run_suite, summary_table, write_results

TINY = Plan(
    reps=1,
    echo_seconds=0.2,
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
