"""Tests for bench.process: a real server process, started, measured, pinned, stopped."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from bench.process import BenchTarget, ServerProcess, pin
from labkit.errors import ServerError


def allowed_cpus(pid: int) -> set[str]:
    """The ``Cpus_allowed_list`` of every thread of ``pid``."""
    found = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                found.add(line.split(":", 1)[1].strip())
    return found


async def echo_once(url: str) -> str:
    async with connect(url, compression=None) as ws:
        await ws.send("ping")
        return str(await ws.recv())


def test_server_process_serves_reports_its_figures_and_stops_politely() -> None:
    with ServerProcess(BenchTarget.python("kit", "kit-echo")) as server:
        assert server.url.startswith("ws://127.0.0.1:")
        assert asyncio.run(echo_once(server.url)) == "ping"
        assert server.rss_bytes() > 10 * 2**20  # an interpreter with the kit loaded
        assert server.cpu_seconds() > 0
        server.wait_quiet(idle=0.05)
    assert server._proc.returncode == 0  # stdin closed: it stopped on its own


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two processors")
def test_a_target_with_cpus_has_every_thread_pinned() -> None:
    cpu = min(os.sched_getaffinity(0))
    with ServerProcess(BenchTarget.python("kit", "kit-echo", cpus=(cpu,))) as server:
        assert allowed_cpus(server.pid) == {str(cpu)}  # the kit's loop thread too
        assert asyncio.run(echo_once(server.url)) == "ping"


def test_pin_keeps_a_process_to_the_given_cpus() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    with ServerProcess(BenchTarget.python("bare", "bare-echo")) as server:
        pin(server.pid, cpus[:1])
        assert allowed_cpus(server.pid) == {str(cpus[0])}


def test_a_server_that_never_says_listening_is_a_clear_error() -> None:
    target = BenchTarget("mute", (sys.executable, "-c", "import sys; sys.exit('cannot bind')"))
    with pytest.raises(ServerError, match=r"mute .* did not start: cannot bind"):
        ServerProcess(target, start_timeout=20)


def test_a_server_that_cannot_be_pinned_is_stopped_with_a_clear_error() -> None:
    with pytest.raises(ServerError, match=r"could not be pinned to cpu \(4096,\)") as caught:
        ServerProcess(BenchTarget.python("kit", "kit-echo", cpus=(4096,)))
    assert isinstance(caught.value.__cause__, OSError)
    assert not [pid for pid in children_of(os.getpid()) if "bench.serve" in cmdline(pid)]


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid and stat.split()[2] != "Z":
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
