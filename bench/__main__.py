"""``python -m bench``: run the benchmark suite and write its results.

Run from the repository's root. Examples::

    python -m bench                      # everything (a few minutes)
    python -m bench --quick              # small rooms, one turn: about a minute
    python -m bench --scenario fanout    # one scenario
"""

from __future__ import annotations

import argparse
import resource
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.suite import (
    FULL,
    QUICK,
    RESULTS_DIR,
    SCENARIOS,
    BenchError,
    SuiteOptions,
    run_suite,
    summary_table,
    with_plan,
    write_results,
)

__all__ = ["main"]


def _raise_file_limit() -> None:
    """A thousand clients plus a thousand server sockets need more than 1024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small rooms, one turn (seconds)")
    parser.add_argument(
        "--scenario", action="append", choices=SCENARIOS, help="run only this one (repeatable)"
    )
    parser.add_argument("--reps", type=int, help="turns per server (default 3, echo 9; quick 1)")
    parser.add_argument("--no-koa", action="store_true", help="leave the Node Koa servers out")
    parser.add_argument("--no-uvloop", action="store_true", help="leave the uvloop run out")
    parser.add_argument(
        "--no-pin", action="store_true", help="let the scheduler place servers and load freely"
    )
    parser.add_argument(
        "--loadgen", choices=("node", "python"), default="node", help="the client process"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    args = parser.parse_args(argv)
    _raise_file_limit()
    options = SuiteOptions(
        scenarios=tuple(args.scenario or SCENARIOS),
        plan=QUICK if args.quick else FULL,
        koa=not args.no_koa,
        uvloop=not args.no_uvloop,
        loadgen=args.loadgen,
        pin=not args.no_pin,
    )
    if args.reps:
        options = with_plan(options, reps=args.reps, echo_reps=args.reps)
    try:
        report = run_suite(options)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    path = write_results(report, args.out)
    print()
    print(summary_table(report))
    print()
    for name, value in report["headline"].items():
        shown = "-" if value is None else f"{value:.2f}"
        print(f"{name}: {shown}")
    print(f"\nresults: {path} (and latest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
