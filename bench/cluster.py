"""The ``cluster`` scenario: one chat room over two server processes on Redis.

Started by :mod:`bench.suite` (``python -m bench --scenario cluster``). It
runs its own ``redis-server`` (no persistence, a free port on 127.0.0.1,
pinned with the servers) and compares, in turns within one run:

* ``kit``: one process, the in-process backplane (the default room);
* ``kit-redis``: one process on the Redis backplane: every event makes the
  hop through Redis and back (the hop's cost);
* ``kit-2p``: two processes on Redis sharing the room (``kit-2p-a`` and
  ``kit-2p-b``): receivers split between them, the sender on the first.

Measured:

* fan-out with :attr:`CLUSTER_RECEIVERS` receivers: deliveries/s and p50/p99
  for ``kit``, ``kit-redis`` and ``kit-2p`` (target: ``kit-redis/kit`` at
  least 0.8);
* delivery latency across processes with :attr:`LATENCY_RECEIVERS` receivers,
  all on the second process and the sender on the first, one message in
  flight at a time, against ``kit`` (target: at most 2 ms added at p50);
* a join storm of ``plan.join_clients`` over two processes, seconds until
  every client knows every other (target: 5 s), next to ``kit``'s.

Without ``redis-server`` or redis-py the scenario is skipped with a line
saying which is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.process import BenchTarget, ServerProcess, pin, start_all
from bench.suite import BenchError, LoadGen, Plan, Say, _cpu_options, _measure, _medians
from labkit.loadtest import FanoutResult, JoinResult

__all__ = [
    "CLUSTER_RECEIVERS",
    "LATENCY_RECEIVERS",
    "headline",
    "redis_server",
    "scenario_cluster",
    "summary",
]

#: Receivers of the cluster fan-out (half on each process for ``kit-2p``).
CLUSTER_RECEIVERS = 1000
#: Receivers of the cross-process latency run (all on the second process).
LATENCY_RECEIVERS = 100


def _missing() -> str | None:
    if shutil.which("redis-server") is None:
        return "redis-server not found (apt-get install redis-server)"
    if importlib.util.find_spec("redis") is None:
        return "redis-py not installed (pip install -e '.[redis]')"
    return None


@contextmanager
def redis_server(cpus: tuple[int, ...] = ()) -> Iterator[str]:
    """A throwaway ``redis-server`` on a free port of 127.0.0.1; yields its URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--dir", folder, "--logfile", ""]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Ready to accept connections" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(10) or proc.poll() is not None:
            raise BenchError("redis-server did not start")
        if cpus:
            pin(proc.pid, cpus)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _room(url: str, room: str) -> str:
    return f"{url}rooms/{room}"


def scenario_cluster(
    plan: Plan, load: LoadGen, targets: list[BenchTarget], say: Say
) -> dict[str, Any]:
    """Fan-out, latency and join storm on Redis, against the single-process room."""
    missing = _missing()
    if missing is not None:
        say(f"  skipping the cluster scenario: {missing}")
        return {"skipped": missing}
    kit = next(t for t in targets if t.label == "kit")
    cpus = kit.cpus
    with redis_server(cpus) as url:
        env = {"LABKIT_BENCH_REDIS": url}
        servers = start_all(
            [
                kit,
                BenchTarget.python("kit-redis", "kit-chat", cpus, **env),
                BenchTarget.python("kit-2p-a", "kit-chat", cpus, **env),
                BenchTarget.python("kit-2p-b", "kit-chat", cpus, **env),
            ]
        )
        try:
            return _measure_cluster(plan, load, {s.target.label: s for s in servers}, say)
        finally:
            for server in servers:
                server.stop()


class _Pair:
    """The two processes of ``kit-2p`` as one target for :func:`bench.suite._measure`."""

    def __init__(self, a: ServerProcess, b: ServerProcess, label: str = "kit-2p") -> None:
        self.a, self.b = a, b
        self.target = BenchTarget(label, ())
        self.pid = a.pid

    def wait_quiet(self) -> None:
        self.a.wait_quiet()
        self.b.wait_quiet()


def _measure_cluster(
    plan: Plan, load: LoadGen, by: dict[str, ServerProcess], say: Say
) -> dict[str, Any]:
    a, b = by["kit-2p-a"], by["kit-2p-b"]
    pair = _Pair(a, b)
    singles = [by["kit"], by["kit-redis"]]
    out: dict[str, Any] = {}

    def fanout(receivers: int, spread: str, tag: str) -> Any:
        # Throughput keeps the suite's window of messages in flight; latency
        # sends one at a time, so that the figure is the hop, not a queue.
        across = spread == "across"
        messages = (
            min(500, plan.fanout_messages(receivers)) if across else plan.fanout_messages(receivers)
        )
        window = 1 if across else plan.fanout_window

        def run(server: Any, rep: int) -> dict[str, Any]:
            options: dict[str, Any] = {
                "receivers": receivers,
                "messages": messages,
                "window": window,
                "tag": f"{tag}{rep}{server.target.label}",
                **_cpu_options(server if not isinstance(server, _Pair) else server.a),
            }
            room = f"{tag}{rep}"
            if isinstance(server, _Pair):
                urls = [_room(a.url, room), _room(b.url, room)]
                if across:  # every receiver on B, the sender on A
                    options |= {"urls": urls[1:], "sender_url": urls[0]}
                else:
                    options["urls"] = urls
                target = urls[0]
            else:
                target = _room(server.url, room)
            result = load.run("fanout", target, options)
            if result["received"] != result["deliveries"]:
                raise BenchError(
                    f"cluster fan-out on {server.target.label} lost messages: "
                    f"{result['received']} of {result['deliveries']}"
                )
            return result

        def warm(server: Any) -> None:
            run_options = {"receivers": 10, "messages": 50, "tag": f"warm{tag}"}
            url = server.a.url if isinstance(server, _Pair) else server.url
            load.run("fanout", _room(url, f"warm{tag}"), run_options)

        runs = _measure([*singles, pair], plan.reps, run, say, f"{tag:<12}", warm)
        return {"runs": runs, "median": _medians(runs, FanoutResult), **_ratios(runs, "rate")}

    receivers = min(CLUSTER_RECEIVERS, max(plan.fanout_receivers))
    out["fanout"] = {"receivers": receivers, **fanout(receivers, "split", "cfanout")}
    latency = min(LATENCY_RECEIVERS, max(plan.fanout_receivers))
    out["latency"] = {"receivers": latency, **fanout(latency, "across", "clatency")}
    medians = out["latency"]["median"]
    if "kit" in medians and "kit-2p" in medians:
        out["latency"]["added_p50_ms"] = medians["kit-2p"]["p50_ms"] - medians["kit"]["p50_ms"]
        out["latency"]["added_p99_ms"] = medians["kit-2p"]["p99_ms"] - medians["kit"]["p99_ms"]

    def storm(server: Any, rep: int) -> dict[str, Any]:
        room = f"cjoin{rep}"
        options: dict[str, Any] = {"clients": plan.join_clients, "tag": f"cj{rep}"}
        if isinstance(server, _Pair):
            options["urls"] = [_room(a.url, room), _room(b.url, room)]
            return load.run("join", options["urls"][0], options)
        return load.run("join", _room(server.url, room), options)

    runs = _measure([by["kit"], pair], plan.reps, storm, say, "cluster join", None)
    out["join"] = {"clients": plan.join_clients, "runs": runs, "median": _medians(runs, JoinResult)}
    return out


def _ratios(runs: dict[str, list[dict[str, Any]]], key: str) -> dict[str, Any]:
    """Turn-by-turn ratios against the single-process room (medians of the turns)."""
    ratios = {}
    for label in ("kit-redis", "kit-2p"):
        turns = [x[key] / y[key] for x, y in zip(runs[label], runs["kit"], strict=False)]
        ratios[f"{label}/kit"] = statistics.median(turns) if turns else None
    return {"ratios": ratios}


def headline(block: dict[str, Any]) -> dict[str, Any]:
    """The cluster figures the project has targets for."""
    if "skipped" in block:
        return {f"cluster (skipped: {block['skipped']})": None}
    fan, lat, join = block["fanout"], block["latency"], block["join"]
    n = fan["receivers"]
    return {
        f"cluster fanout {n} kit-redis/kit (target >= 0.8)": fan["ratios"].get("kit-redis/kit"),
        f"cluster fanout {n} kit-2p/kit": fan["ratios"].get("kit-2p/kit"),
        f"cluster latency {lat['receivers']} added p50 ms (target <= 2)": lat.get("added_p50_ms"),
        f"cluster join {join['clients']} over 2 processes settled s (target <= 5)": join["median"]
        .get("kit-2p", {})
        .get("settled_s"),
    }


def summary(block: dict[str, Any]) -> list[str]:
    """Lines for the summary table: each figure of the cluster scenario."""
    if "skipped" in block:
        return [f"cluster: skipped ({block['skipped']})"]
    lines = ["", "cluster (one room on Redis; kit = one process, in-process backplane):"]
    for name in ("fanout", "latency"):
        part = block[name]
        for label, m in part["median"].items():
            lines.append(
                f"  {name} {part['receivers']:>4} {label:<10} {m['rate']:>10,.0f} deliveries/s"
                f"  p50 {m['p50_ms']:.2f} ms  p99 {m['p99_ms']:.2f} ms"
            )
        lines.append("  " + ", ".join(f"{k} {v:.2f}x" for k, v in part["ratios"].items() if v))
    clients = block["join"]["clients"]
    for label, m in block["join"]["median"].items():
        lines.append(f"  join {clients} {label:<10} settled {m['settled_s']:.2f} s")
    return lines
