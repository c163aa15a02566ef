"""The benchmark suite behind ``make bench`` (``python -m bench``).

Theory of operation
-------------------
Every figure is a *ratio taken side by side*. A scenario starts each server
it compares in a process of its own (:mod:`bench.process`):

* ``kit``: the kit's app (:func:`labkit.echo_app` or :func:`labkit.chat_app`);
* ``bare``: the same job on plain ``websockets`` (:mod:`bench.bare`);
* ``koa``: the tutorial's own Koa2 + koa-websocket server (``bench/koa``),
  when Node and its packages are there;
* ``kit-uvloop``: the kit again, with ``LABKIT_LOOP=uvloop``, when uvloop is
  installed (the ``fast`` extra).
* ``kit-every`` (echo only): the kit's echo with ``log_limit=None``, so it
  writes a log line for every message; the kit's default writes at most 20
  a second per connection (:class:`labkit.logs.ConnectionLog`).

Then it drives them in turns (kit, kit-every, bare, koa, kit-uvloop, then again starting
one further along, ``reps`` times) from ONE load-generator process that is
neither of them. Each server gets an untimed warm-up run first (a fresh
process runs its first seconds slower). Before each run the server that ran
last must be quiet (no CPU used), so nobody pays for another's clean-up.

Each ratio is the median of the turn-by-turn ratios (turn ``i`` of one server
against turn ``i`` of the other, run seconds apart), reported with their
quartiles; the table's figures are each server's median run. The echo, whose
servers differ by a few percent, also runs its pairs concurrently (both
servers at once on one processor, see :func:`concurrent_run`), with a bare
server against its twin as the control. On a shared
host a single run moves by 20% either way, so pairing the turns cancels what
the machine was doing at the time. With two or more processors, the servers
are pinned to one and the load generator to the others (:class:`Placement`),
so the two sides never compete for a core.

The load generator is ``bench/loadgen.mjs`` (the ``ws`` package on Node) when
available: it costs less per delivery than a Python client and reports the
CPU share of both sides during the timed phase (``loadgen_cpu``,
``server_cpu``), which tells whether a figure is the server's limit. Without
Node, :mod:`labkit.loadtest` takes its place, run as its own process.

Scenarios:

* ``echo``: closed-loop round trips per second with 16 connections, p50/p99;
* ``fanout``: one sender, N receivers (10, 100, 1000) in the chat room;
  deliveries per second and p50/p99 time from send to delivery;
* ``join``: 1000 clients connect and join at once; seconds until the room
  settles (every client has its welcome and every join notice);
* ``memory``: server RSS with 1000 idle joined clients minus before, per client;
* ``cluster``: one room over two server processes on Redis, against the
  single-process room (:mod:`bench.cluster`): fan-out, latency across
  processes, join storm.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import websockets

from bench.figures import MemoryResult, median_result
from bench.process import BenchTarget, ServerProcess, start_all
from labkit.errors import LabkitError
from labkit.loadtest import EchoResult, FanoutResult, JoinResult

__all__ = [
    "FULL",
    "QUICK",
    "SCENARIOS",
    "BenchError",
    "LoadGen",
    "Plan",
    "find_loadgen",
    "run_suite",
    "summary_table",
    "write_results",
]

#: This folder, ``bench/`` in the repository (Koa servers, Node load generator, results).
BENCH_DIR = Path(__file__).resolve().parent
KOA_DIR = BENCH_DIR / "koa"
RESULTS_DIR = BENCH_DIR / "results"

#: The scenarios, in the order a full run takes them.
SCENARIOS = ("echo", "fanout", "join", "memory", "cluster")

Say = Callable[[str], None]


class BenchError(LabkitError):
    """A benchmark run failed: a load generator reported an error or lost messages."""


@dataclass(frozen=True)
class Plan:
    """How big and how long each scenario is.

    Attributes:
        reps: turns per server (the median run is kept).
        echo_reps: turns per server in the echo, whose short runs vary most.
        echo_connections: closed-loop echo clients.
        echo_seconds: measured seconds per echo run.
        echo_concurrent_reps: concurrent echo runs per pair (see :func:`concurrent_run`).
        fanout_receivers: the receiver counts measured.
        fanout_deliveries: deliveries per run (messages = this / receivers).
        fanout_window: messages the sender keeps in flight.
        join_clients: clients in the join storm.
        idle_clients: idle joined clients for the memory figure.
    """

    reps: int = 3
    echo_reps: int = 9
    echo_connections: int = 16
    echo_seconds: float = 2.0
    echo_concurrent_reps: int = 6
    fanout_receivers: tuple[int, ...] = (10, 100, 1000)
    fanout_deliveries: int = 300_000
    fanout_window: int = 32
    join_clients: int = 1000
    idle_clients: int = 1000

    def fanout_messages(self, receivers: int) -> int:
        """Messages per fan-out run: the same work whatever the room size."""
        return max(20, min(20_000, self.fanout_deliveries // receivers))


#: ``make bench``: a few minutes.
FULL = Plan()
#: ``--quick``: small rooms, one turn each, seconds.
QUICK = Plan(
    reps=1,
    echo_reps=1,
    echo_seconds=1.0,
    echo_concurrent_reps=2,
    fanout_receivers=(10, 100),
    fanout_deliveries=20_000,
    join_clients=100,
    idle_clients=100,
)


# --- the load generator ----------------------------------------------------------------


@dataclass(frozen=True)
class LoadGen:
    """The process that plays the clients: ``node bench/loadgen.mjs`` or Python's twin.

    Attributes:
        name: ``"node"`` or ``"python"``.
        argv: the command before ``SCENARIO URL JSON``.
    """

    name: str
    argv: tuple[str, ...]

    def command(self, scenario: str, url: str, options: Mapping[str, Any]) -> list[str]:
        """The full command line for one run."""
        return [*self.argv, scenario, url, json.dumps(dict(options))]

    def run(
        self, scenario: str, url: str, options: Mapping[str, Any], timeout: float = 300.0
    ) -> dict[str, Any]:
        """Run one scenario to its end and return its JSON result."""
        try:
            done = subprocess.run(
                self.command(scenario, url, options),
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"{scenario} against {url} took over {timeout} s") from exc
        return _last_json(done.stdout, done.stderr, f"{scenario} against {url}")

    @contextmanager
    def idle(self, url: str, options: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Hold idle joined clients open while the ``with`` block runs."""
        proc = subprocess.Popen(
            self.command("idle", url, options),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            ready = _last_json(line, "", f"idle clients against {url}")
            yield ready
        finally:
            try:
                proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def _last_json(stdout: str, stderr: str, what: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        data = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise BenchError(f"{what}: no JSON result; stderr: {stderr[-1500:]}") from None
    if "error" in data:
        raise BenchError(f"{what}: {data['error']}")
    return data


def find_loadgen(prefer: str = "node", say: Say = print) -> LoadGen:
    """The Node load generator when it can run (``npm ci`` first if needed), else Python's."""
    if prefer == "node" and _node_ready(say):
        return LoadGen("node", (shutil.which("node") or "node", str(BENCH_DIR / "loadgen.mjs")))
    return LoadGen("python", (sys.executable, "-m", "labkit.loadtest"))


def _node_ready(say: Say) -> bool:
    """Node and bench/koa/node_modules present; run ``npm ci`` once when only npm is."""
    node = shutil.which("node")
    if node is None or not (KOA_DIR / "package.json").is_file():
        say("skipping the Node load generator and the Koa servers: node or bench/koa not found")
        return False
    if (KOA_DIR / "node_modules" / "ws" / "package.json").is_file():
        return True
    npm = shutil.which("npm")
    if npm is None:
        say("skipping the Koa servers: bench/koa/node_modules missing and npm not found")
        return False
    say("installing bench/koa (npm ci)…")
    done = subprocess.run(
        [npm, "ci", "--silent", "--no-audit", "--no-fund"],
        cwd=KOA_DIR,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        say(f"skipping the Koa servers: npm ci failed: {done.stderr.strip()[-300:]}")
        return False
    return True


# --- the servers compared --------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Which processors the servers and the load generator run on.

    On two cores, the scheduler sometimes put a server's loop thread on the
    load generator's core for part of a run; the same server then measured
    anywhere from 0.7x to 1.0x of itself. Pinning each side to its own
    processors takes that out of the ratios.

    Attributes:
        server: the processor(s) every server under test is pinned to.
        loadgen: the processor(s) of the load generator (and of this process).
    """

    server: tuple[int, ...]
    loadgen: tuple[int, ...]


def placement(pin: bool = True) -> Placement | None:
    """One processor for the servers and the others for the load: ``None`` if not possible."""
    if not pin or not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return Placement(server=(cpus[0],), loadgen=tuple(cpus[1:]))


@contextmanager
def _placed(where: Placement | None) -> Iterator[None]:
    """Run this process, and so every load generator it starts, on the load's processors."""
    if where is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, where.loadgen)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _targets(
    scenario: str, koa: bool, uvloop: bool, cpus: tuple[int, ...] = ()
) -> list[BenchTarget]:
    kit_kind, bare_kind, koa_kind = (
        ("kit-echo", "bare-echo", "echo")
        if scenario == "echo"
        else ("kit-chat", "bare-room", "chat")
    )
    targets = [
        BenchTarget.python("kit", kit_kind, cpus),
        BenchTarget.python("bare", bare_kind, cpus),
    ]
    if scenario == "echo":  # the echo again, writing every message's log line
        targets.append(BenchTarget.python("kit-every", "kit-echo-every", cpus))
    if koa:
        node = shutil.which("node") or "node"
        targets.append(BenchTarget("koa", (node, "server.js", koa_kind), cwd=KOA_DIR, cpus=cpus))
    if uvloop and scenario != "memory":
        targets.append(BenchTarget.python("kit-uvloop", kit_kind, cpus, LABKIT_LOOP="uvloop"))
    return targets


def _turns(servers: Sequence[ServerProcess], reps: int) -> Iterator[tuple[int, ServerProcess]]:
    """ABCD, BCDA, CDAB…: every server runs once per turn, starting one further along."""
    for rep in range(reps):
        shift = rep % len(servers)
        for server in [*servers[shift:], *servers[:shift]]:
            yield rep, server


def _measure(
    servers: Sequence[ServerProcess],
    reps: int,
    run: Callable[[ServerProcess, int], dict[str, Any]],
    say: Say,
    what: str,
    warm: Callable[[ServerProcess], object] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {s.target.label: [] for s in servers}
    for server in servers:
        if warm is not None:  # a fresh process runs its first seconds slower
            warm(server)
        server.wait_quiet()
    for rep, server in _turns(servers, reps):
        result = run(server, rep)
        runs[server.target.label].append(result)
        say(f"  {what} {server.target.label:<10} run {rep + 1}/{reps}: {_brief(result)}")
        server.wait_quiet()
    return runs


def _brief(result: Mapping[str, Any]) -> str:
    if "rate" in result:
        text = (
            f"{result['rate']:,.0f}/s p50 {result['p50_ms']:.2f} ms p99 {result['p99_ms']:.2f} ms"
        )
        if result.get("server_cpu") is not None:
            text += f" (cpu server {result['server_cpu']:.0%}, load {result['loadgen_cpu']:.0%})"
        return text
    if "settled_s" in result:
        return f"settled in {result['settled_s']:.2f} s (welcomed {result['welcomed_s']:.2f} s)"
    return json.dumps(result)


def _cpu_options(server: ServerProcess) -> dict[str, Any]:
    return {"server_pid": server.pid, "clock_ticks": os.sysconf("SC_CLK_TCK")}


def _medians(runs: Mapping[str, list[dict[str, Any]]], kind: type) -> dict[str, dict[str, Any]]:
    medians = {}
    for label, results in runs.items():
        if results:
            chosen = median_result([kind.from_json(r) for r in results])
            medians[label] = next(r for r in results if kind.from_json(r) == chosen)
    return medians


#: The ratios reported, as (numerator, denominator) server labels.
_PAIRS = (
    ("kit", "bare"),
    ("kit-every", "bare"),
    ("kit", "koa"),
    ("bare", "koa"),
    ("kit-uvloop", "kit"),
    ("kit-uvloop", "koa"),
)


def _paired_ratios(
    runs: Mapping[str, Sequence[Mapping[str, Any]]], key: str, lower_is_better: bool = False
) -> dict[str, Any]:
    """Each ratio as the median of its per-turn ratios, with their quartiles.

    Turn ``i`` of two servers ran seconds apart, so their ratio cancels what
    the machine was doing at the time (on a shared host that moves a single
    run by 20% either way); the median over the turns then drops outliers.
    For a time (``lower_is_better``) the ratio is inverted, so above 1 still
    means the first server did better.
    """
    ratios: dict[str, float | None] = {}
    quartiles: dict[str, list[float]] = {}
    for a, b in _PAIRS:
        if a not in runs or b not in runs:
            continue
        turns = [
            (y[key] / x[key]) if lower_is_better else (x[key] / y[key])
            for x, y in zip(runs[a], runs[b], strict=False)
            if x.get(key) and y.get(key)
        ]
        name = f"{a}/{b}"
        if not turns:
            ratios[name] = None
            continue
        ratios[name] = statistics.median(turns)
        if len(turns) > 1:
            low, _, high = statistics.quantiles(turns, n=4, method="inclusive")
        else:
            low = high = turns[0]
        quartiles[name] = [low, high]
    return {"ratios": ratios, "ratio_quartiles": quartiles}


#: Echo pairs also run concurrently: (numerator, denominator) labels. The
#: last is the control: two bare servers, whose ratio shows the method's own error.
_CONCURRENT = (
    ("kit", "bare"),
    ("kit-every", "bare"),
    ("kit-uvloop", "kit"),
    ("bare-twin", "bare"),
)


def concurrent_run(
    load: LoadGen,
    a: ServerProcess,
    b: ServerProcess,
    options: Mapping[str, Any],
    a_first: bool = True,
) -> dict[str, Any]:
    """One echo run of ``a`` and ``b`` at the same time; the rate of ``a`` over ``b``.

    Both servers are pinned to the same processor, so they share it while two
    load generators (on the other processors) drive them at once: whatever the
    machine does meanwhile slows both alike, and the ratio of their rates is
    the inverse ratio of their costs per round trip, as long as both stay
    busy (each result's ``server_cpu`` is its share of that processor; about
    half each means neither sat idle). The two load generators start a few
    milliseconds apart; callers alternate ``a_first`` to cancel that.
    """
    results: dict[str, Any] = {}

    def drive(server: ServerProcess) -> None:
        try:
            results[server.target.label] = load.run(
                "echo", server.url, {**options, **_cpu_options(server)}
            )
        except BaseException as exc:  # raised again below, in the suite's thread
            results[server.target.label] = exc

    order = (a, b) if a_first else (b, a)
    threads = [threading.Thread(target=drive, args=(server,)) for server in order]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for outcome in results.values():
        if isinstance(outcome, BaseException):
            raise outcome
    first, second = (results[s.target.label] for s in (a, b))
    if not first.get("rate") or not second.get("rate"):
        raise BenchError(
            f"no round trips in a concurrent run of {a.target.label} and {b.target.label}"
        )
    a.wait_quiet()
    b.wait_quiet()
    return {
        "first": order[0].target.label,
        "ratio": first["rate"] / second["rate"],
        a.target.label: first,
        b.target.label: second,
    }


def _summarise_concurrent(runs: list[dict[str, Any]], a: str, b: str) -> dict[str, Any]:
    ratios = [run["ratio"] for run in runs]
    low, high = (
        statistics.quantiles(ratios, n=4, method="inclusive")[::2]
        if len(ratios) > 1
        else (ratios[0], ratios[0])
    )
    shares = {
        label: statistics.median(run[label].get("server_cpu") or 0.0 for run in runs)
        for label in (a, b)
    }
    # Round trips per second of the server's own CPU time: a server that sat
    # idle part of a run (the cheaper one can, its share then going to the
    # other) is not credited for that. None when the shares were not measured.
    per_cpu = [
        (run[a]["rate"] / run[a]["server_cpu"]) / (run[b]["rate"] / run[b]["server_cpu"])
        for run in runs
        if run[a].get("server_cpu") and run[b].get("server_cpu")
    ]
    return {
        "ratio": statistics.median(ratios),
        "quartiles": [low, high],
        "range": [min(ratios), max(ratios)],
        "server_cpu": shares,
        "per_cpu_ratio": statistics.median(per_cpu) if per_cpu else None,
        "runs": runs,
    }


# --- scenarios ------------------------------------------------------------------------


def scenario_echo(
    plan: Plan, load: LoadGen, targets: list[BenchTarget], say: Say
) -> dict[str, Any]:
    """Closed-loop echo against every target, in turns, then pairs concurrently."""
    bare = next((t for t in targets if t.label == "bare"), None)
    twin = [replace(bare, label="bare-twin")] if bare is not None else []
    servers = start_all([*targets, *twin])
    by_label = {s.target.label: s for s in servers}
    try:
        options = {"connections": plan.echo_connections, "duration": plan.echo_seconds}

        def run(server: ServerProcess, rep: int) -> dict[str, Any]:
            return load.run("echo", server.url, {**options, **_cpu_options(server)})

        def warm(server: ServerProcess) -> None:
            load.run("echo", server.url, {**options, "duration": min(1.0, plan.echo_seconds)})

        solo = [s for s in servers if s.target.label != "bare-twin"]
        runs = _measure(solo, plan.echo_reps, run, say, "echo", warm)
        concurrent: dict[str, Any] = {}
        pairs = [(a, b) for a, b in _CONCURRENT if a in by_label and b in by_label]
        pinned = all(s.target.cpus for s in servers)
        if not plan.echo_concurrent_reps or not pairs:
            pass
        elif not pinned or load.name != "node":
            why = "servers not pinned" if not pinned else "the Python load generator"
            concurrent["skipped"] = f"{why}: concurrent runs need both (see --no-pin, --loadgen)"
            say(f"  echo concurrent runs skipped: {concurrent['skipped']}")
        else:
            warm(by_label["bare-twin"])
            by_label["bare-twin"].wait_quiet()
            done: dict[str, list[dict[str, Any]]] = {f"{a}/{b}": [] for a, b in pairs}
            for rep in range(plan.echo_concurrent_reps):  # pairs interleaved, turn by turn
                for a, b in pairs:
                    run_ = concurrent_run(
                        load, by_label[a], by_label[b], options, a_first=rep % 2 == 0
                    )
                    done[f"{a}/{b}"].append(run_)
                    say(f"  echo concurrent {a}/{b} run {rep + 1}: {run_['ratio']:.3f}")
            for a, b in pairs:
                concurrent[f"{a}/{b}"] = _summarise_concurrent(done[f"{a}/{b}"], a, b)
    finally:
        for server in servers:
            server.stop()
    return {
        "runs": runs,
        "median": _medians(runs, EchoResult),
        **_paired_ratios(runs, "rate"),
        "concurrent": concurrent,
    }


def scenario_fanout(
    plan: Plan, load: LoadGen, targets: list[BenchTarget], say: Say
) -> dict[str, Any]:
    """Chat fan-out at each room size against every target, in turns."""
    servers = start_all(targets)
    by_size: dict[str, Any] = {}
    try:
        for receivers in plan.fanout_receivers:
            options = {
                "receivers": receivers,
                "messages": plan.fanout_messages(receivers),
                "window": plan.fanout_window,
            }

            def run(
                server: ServerProcess, rep: int, options: dict = options, receivers: int = receivers
            ) -> dict[str, Any]:
                tag = f"{receivers}x{rep}"
                result = load.run(
                    "fanout", server.url, {**options, "tag": tag, **_cpu_options(server)}
                )
                if result["received"] != result["deliveries"]:
                    raise BenchError(
                        f"fan-out to {receivers} on {server.target.label} lost messages: "
                        f"{result['received']} of {result['deliveries']}"
                    )
                return result

            def warm(
                server: ServerProcess, options: dict = options, receivers: int = receivers
            ) -> None:
                small = {**options, "receivers": min(receivers, 10), "messages": 50}
                load.run("fanout", server.url, {**small, "tag": f"warm{receivers}"})

            runs = _measure(servers, plan.reps, run, say, f"fanout {receivers:>4}", warm)
            by_size[str(receivers)] = {
                "runs": runs,
                "median": _medians(runs, FanoutResult),
                **_paired_ratios(runs, "rate"),
            }
    finally:
        for server in servers:
            server.stop()
    return {"receivers": by_size}


def scenario_join(
    plan: Plan, load: LoadGen, targets: list[BenchTarget], say: Say
) -> dict[str, Any]:
    """The join storm against every target, in turns."""
    servers = start_all(targets)
    try:

        def run(server: ServerProcess, rep: int) -> dict[str, Any]:
            options = {"clients": plan.join_clients, "tag": f"storm{rep}"}
            return load.run("join", server.url, options)

        def warm(server: ServerProcess) -> None:
            load.run("join", server.url, {"clients": 10, "tag": "warm"})

        runs = _measure(servers, plan.reps, run, say, "join", warm)
    finally:
        for server in servers:
            server.stop()
    return {
        "runs": runs,
        "median": _medians(runs, JoinResult),
        # A time: bare's (or koa's) time over the kit's, so above 1 still means the kit wins.
        **_paired_ratios(runs, "settled_s", lower_is_better=True),
    }


def scenario_memory(
    plan: Plan, load: LoadGen, targets: list[BenchTarget], say: Say
) -> dict[str, Any]:
    """RSS per idle joined connection, each target in a fresh process."""
    figures: dict[str, Any] = {}
    for target in targets:
        with ServerProcess(target) as server:
            # Warm up first: imports and first-use caches are not per-connection memory.
            load.run("join", server.url, {"clients": 10, "tag": "warm"})
            server.wait_quiet()
            baseline = server.rss_bytes()
            with load.idle(server.url, {"clients": plan.idle_clients, "tag": "idle"}):
                server.wait_quiet()
                loaded = server.rss_bytes()
            result = MemoryResult(
                clients=plan.idle_clients,
                baseline_bytes=baseline,
                loaded_bytes=loaded,
                per_connection_bytes=(loaded - baseline) / plan.idle_clients,
            )
        figures[target.label] = result.to_json()
        say(
            f"  memory {target.label:<10} {result.per_connection_bytes / 1024:.1f} KiB per "
            f"idle connection (RSS {baseline / 2**20:.1f} -> {loaded / 2**20:.1f} MiB)"
        )
    return {"median": figures}


def scenario_cluster(
    plan: Plan, load: LoadGen, targets: list[BenchTarget], say: Say
) -> dict[str, Any]:
    """One room over two processes on Redis (:mod:`bench.cluster`, which imports this one)."""
    from bench.cluster import scenario_cluster as run

    return run(plan, load, targets, say)


_RUNNERS = {
    "echo": scenario_echo,
    "fanout": scenario_fanout,
    "join": scenario_join,
    "memory": scenario_memory,
    "cluster": scenario_cluster,
}


# --- the whole suite ---------------------------------------------------------------------


@dataclass
class SuiteOptions:
    """What :func:`run_suite` runs: scenarios, plan and which comparisons."""

    scenarios: tuple[str, ...] = SCENARIOS
    plan: Plan = field(default_factory=Plan)
    koa: bool = True
    uvloop: bool = True
    loadgen: str = "node"
    pin: bool = True


def _machine(load: LoadGen) -> dict[str, Any]:
    node = None
    if load.name == "node":
        node = subprocess.run([load.argv[0], "--version"], capture_output=True, text=True).stdout
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "websockets": websockets.__version__,
        "node": node.strip() if node else None,
        "loadavg_at_start": list(os.getloadavg()),
    }


def run_suite(options: SuiteOptions, say: Say = print) -> dict[str, Any]:
    """Run the chosen scenarios and return everything measured, ready for JSON."""
    load = find_loadgen(options.loadgen, say)
    koa = options.koa and load.name == "node"
    uvloop = options.uvloop and importlib.util.find_spec("uvloop") is not None
    if options.uvloop and not uvloop:
        say("skipping kit-uvloop: uvloop is not installed (pip install -e '.[fast]')")
    where = placement(options.pin)
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": _machine(load),
        "loadgen": load.name,
        "placement": None if where is None else asdict(where),
        "plan": asdict(options.plan),
        "scenarios": {},
    }
    say(
        f"load generator: {load.name}; servers: kit, bare"
        + (", kit-every (echo)" if "echo" in options.scenarios else "")
        + (", koa" if koa else "")
        + (", kit-uvloop" if uvloop else "")
    )
    if where is not None:
        say(f"servers pinned to cpu {where.server}, load generator to {where.loadgen}")
    with _placed(where):
        for name in options.scenarios:
            say(f"{name}:")
            targets = _targets(name, koa, uvloop, where.server if where else ())
            report["scenarios"][name] = _RUNNERS[name](options.plan, load, targets, say)
    report["headline"] = headline(report)
    return report


def headline(report: Mapping[str, Any]) -> dict[str, Any]:
    """The figures the project has targets for, pulled out of a report."""
    scenarios = report.get("scenarios", {})
    out: dict[str, Any] = {}
    if "echo" in scenarios:
        echo = scenarios["echo"]
        concurrent = echo.get("concurrent", {})

        def at_once(pair: str) -> float | None:
            return concurrent.get(pair, {}).get("ratio")

        out["echo kit/bare concurrent (target >= 0.9)"] = at_once("kit/bare")
        out["echo kit/bare concurrent, per server CPU second"] = concurrent.get("kit/bare", {}).get(
            "per_cpu_ratio"
        )
        out["echo kit/bare in turns"] = echo["ratios"].get("kit/bare")
        out["echo kit-every/bare concurrent (every message logged)"] = at_once("kit-every/bare")
        out["echo bare-twin/bare concurrent (the method's error)"] = at_once("bare-twin/bare")
        out["echo kit-uvloop/kit concurrent"] = at_once("kit-uvloop/kit")
    if "fanout" in scenarios:
        sizes = scenarios["fanout"]["receivers"]
        largest = max(sizes, key=int)
        ratios = sizes[largest]["ratios"]
        out[f"fanout {largest} kit/koa (target >= 0.85)"] = ratios.get("kit/koa")
        out[f"fanout {largest} kit/bare"] = ratios.get("kit/bare")
        out[f"fanout {largest} kit-uvloop/kit"] = ratios.get("kit-uvloop/kit")
        out[f"fanout {largest} kit-uvloop/koa"] = ratios.get("kit-uvloop/koa")
    if "join" in scenarios:
        kit = scenarios["join"]["median"].get("kit", {})
        out[f"join {kit.get('clients')} kit settled s (target <= 3)"] = kit.get("settled_s")
    if "memory" in scenarios:
        kit = scenarios["memory"]["median"].get("kit", {})
        out["memory kit KiB per idle connection"] = (
            kit["per_connection_bytes"] / 1024 if kit else None
        )
    if "cluster" in scenarios:
        from bench.cluster import headline as cluster_headline

        out.update(cluster_headline(scenarios["cluster"]))
    return out


def write_results(report: Mapping[str, Any], out_dir: Path = RESULTS_DIR) -> Path:
    """Write ``<timestamp>.json`` and ``latest.json`` in ``out_dir``; return the first."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"{stamp}.json"
    text = json.dumps(report, indent=2, sort_keys=False) + "\n"
    path.write_text(text)
    (out_dir / "latest.json").write_text(text)
    return path


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and unit == "x":
        return f"{value:.2f}x"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
    return str(value)


def summary_table(report: Mapping[str, Any]) -> str:
    """A short plain-text table of the medians and ratios."""
    labels = ["kit", "bare", "koa", "kit-uvloop"]
    if "kit-every" in report.get("scenarios", {}).get("echo", {}).get("median", {}):
        labels.insert(1, "kit-every")
    rows: list[list[str]] = [["scenario", *labels, "kit/bare", "kit/koa", "uvloop/kit"]]

    def add(name: str, block: Mapping[str, Any], key: str, with_ratios: bool = True) -> None:
        medians = block["median"]
        ratios = block.get("ratios", {}) if with_ratios else {}
        rows.append(
            [
                name,
                *(_fmt(medians.get(label, {}).get(key)) for label in labels),
                _fmt(ratios.get("kit/bare"), "x"),
                _fmt(ratios.get("kit/koa"), "x"),
                _fmt(ratios.get("kit-uvloop/kit"), "x"),
            ]
        )

    scenarios = report.get("scenarios", {})
    if "echo" in scenarios:
        add("echo round trips/s", scenarios["echo"], "rate")
        add("  p50 ms", scenarios["echo"], "p50_ms", with_ratios=False)
        add("  p99 ms", scenarios["echo"], "p99_ms", with_ratios=False)
    if "fanout" in scenarios:
        for size, block in scenarios["fanout"]["receivers"].items():
            add(f"fanout {size} deliveries/s", block, "rate")
            add("  p50 ms", block, "p50_ms", with_ratios=False)
            add("  p99 ms", block, "p99_ms", with_ratios=False)
    if "join" in scenarios:
        clients = scenarios["join"]["median"].get("kit", {}).get("clients", "")
        add(f"join {clients} settled s", scenarios["join"], "settled_s")
    if "memory" in scenarios:
        per_kib = {
            label: {"kib": m["per_connection_bytes"] / 1024}
            for label, m in scenarios["memory"]["median"].items()
        }
        add("memory KiB/idle conn", {"median": per_kib}, "kib", with_ratios=False)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    if "cluster" in scenarios:
        from bench.cluster import summary as cluster_summary

        lines += cluster_summary(scenarios["cluster"])
    concurrent = scenarios.get("echo", {}).get("concurrent", {})
    pairs = {pair: c for pair, c in concurrent.items() if pair != "skipped"}
    if pairs:
        lines.append("")
        lines.append("(kit/bare, kit/koa, uvloop/kit: medians of the turn-by-turn ratios)")
        lines.append(
            "echo concurrent (both at once on one processor), median [range]: "
            + ", ".join(
                f"{pair} {_fmt(c['ratio'], 'x')} [{c['range'][0]:.2f}-{c['range'][1]:.2f}]"
                for pair, c in pairs.items()
            )
        )
    return "\n".join(lines)


def with_plan(options: SuiteOptions, **changes: Any) -> SuiteOptions:
    """A copy of ``options`` with some plan fields changed (for tests and --reps)."""
    return replace(options, plan=replace(options.plan, **changes))
