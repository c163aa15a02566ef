"""Start, watch and stop the server under test in a process of its own.

A :class:`ServerProcess` runs one command that prints ``listening on URL``
when ready (in whatever language: the line ends with the URL), such as
``python -m bench.serve KIND`` or ``node bench/koa/server.js KIND``, and
reads the kernel's accounting of that process from ``/proc``: its resident
memory (for memory per connection) and its CPU time (to wait until it is
quiet before the next measurement, so that one server's leftover work never
lands in another's figures).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labkit.errors import ServerError

__all__ = ["BenchTarget", "ServerProcess", "pin", "start_all"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

#: The repository's root, the folder that holds this ``bench`` package: where
#: ``python -m bench.serve`` is run from, whatever the caller's directory.
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BenchTarget:
    """A server to measure: how to start it and what to call it in the results.

    Attributes:
        label: its name in the results (``kit``, ``bare``, ``koa``, ``kit-uvloop``).
        argv: the command; it must print ``listening on ws://...`` when ready.
        env: variables added to the environment (``LABKIT_LOOP=uvloop``).
        cwd: the working directory, if it matters.
        cpus: the processors it is pinned to once it serves (empty: not pinned).
    """

    label: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    cpus: tuple[int, ...] = ()

    @classmethod
    def python(cls, label: str, kind: str, cpus: tuple[int, ...] = (), **env: str) -> BenchTarget:
        """A server of :mod:`bench.serve` run by this interpreter, from the repository's root."""
        argv = (sys.executable, "-m", "bench.serve", kind)
        return cls(label, argv, env, cwd=ROOT, cpus=cpus)


def pin(pid: int, cpus: Collection[int]) -> None:
    """Keep every thread of process ``pid`` on ``cpus`` (Linux).

    Each thread is pinned, not only the main one: the kit serves from a
    thread of its own, and Node runs helper threads. A thread that ends
    meanwhile is skipped.
    """
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(tid), cpus)


class ServerProcess:
    """One running server process; use it as a context manager.

    Attributes:
        target: what was started.
        url: the ``ws://`` URL it printed.
        pid: its process id.
    """

    def __init__(self, target: BenchTarget, start_timeout: float = 30.0) -> None:
        self.target = target
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        env = {**os.environ, **target.env}
        self._proc = subprocess.Popen(
            list(target.argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=target.cwd,
            env=env,
            text=True,
        )
        self.pid = self._proc.pid
        self.url = self._read_url(start_timeout)
        if target.cpus:  # once it is serving: its threads exist by now
            try:
                pin(self.pid, target.cpus)
            except OSError as exc:  # gone already, or processors we may not use
                self.stop(keep_log=True)
                why = self.stderr_tail()
                self._log.close()
                raise ServerError(
                    f"{target.label} could not be pinned to cpu {target.cpus}: {exc}; {why}"
                ) from exc

    def _read_url(self, timeout: float) -> str:
        found: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert self._proc.stdout is not None
            for line in self._proc.stdout:
                # The URL ends the ready line in every language the kit speaks
                # ("listening on ws://…", "正在监听 ws://…").
                words = line.split()
                if words and words[-1].startswith(("ws://", "wss://")):
                    found.append(words[-1])
                    ready.set()
            ready.set()  # end of output: the process is gone

        threading.Thread(target=read, name=f"read-{self.target.label}", daemon=True).start()
        if not ready.wait(timeout) or not found:
            self.stop(keep_log=True)  # its stderr says why
            why = self.stderr_tail()
            self._log.close()
            raise ServerError(
                f"{self.target.label} ({' '.join(self.target.argv)}) did not start: {why}"
            )
        return found[0]

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of what the server wrote to stderr (for error messages)."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-limit:]

    def _stat(self) -> list[str]:
        text = Path(f"/proc/{self.pid}/stat").read_text()
        return text[text.rindex(")") + 2 :].split()

    def rss_bytes(self) -> int:
        """Resident memory of the server process (Linux ``/proc``)."""
        return int(self._stat()[21]) * _PAGE

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        fields = self._stat()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def wait_quiet(self, idle: float = 0.2, timeout: float = 30.0) -> None:
        """Return once the server used (almost) no CPU for ``idle`` seconds.

        After a run, a server may still be sending leave notices or closing
        sockets; the next measurement must not pay for that.
        """
        if not Path(f"/proc/{self.pid}/stat").exists():
            return
        deadline = time.monotonic() + timeout
        last = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(idle)  # sampling period of the CPU counter, not a synchronisation
            now = self.cpu_seconds()
            if now - last < 0.02:
                return
            last = now

    def stop(self, timeout: float = 10.0, keep_log: bool = False) -> None:
        """Close its stdin (the polite stop), then terminate it if it lingers.

        Its stderr log is closed too, unless ``keep_log`` (to read why it failed).
        """
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.close()
            except OSError:
                pass
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.terminate()
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
        if not keep_log:
            self._log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_all(targets: Sequence[BenchTarget]) -> list[ServerProcess]:
    """Start every target; stop the ones already started if one fails."""
    started: list[ServerProcess] = []
    try:
        for target in targets:
            started.append(ServerProcess(target))
    except BaseException:
        for server in started:
            server.stop()
        raise
    return started
