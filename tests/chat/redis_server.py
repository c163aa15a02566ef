"""A throwaway ``redis-server`` and chat server processes on it, for the Redis backplane tests.

:class:`RedisServer` runs ``redis-server`` on 127.0.0.1 on a free port, with no
persistence (``--save '' --appendonly no``) in a temporary folder, and can be
killed (SIGKILL) and started again on the same port: a Redis that comes back
*empty*, the hardest case for the backplane. :class:`ChatProcess` is one
``python -m labkit serve chat --redis URL --port 0`` process, whose
``listening on`` line gives its URL.

Without ``redis-server`` (or redis-py) the tests that need them are skipped
with one line naming what is missing, except when ``CI=true``, where that is
a failure: a green run must mean the backplane ran.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

__all__ = ["ChatProcess", "RedisServer", "need_redis"]

_HINT = "apt-get install redis-server"


def need_redis() -> str:
    """The path of ``redis-server``, or a skip (a failure when ``CI=true``) naming what lacks."""
    binary = shutil.which("redis-server")
    reason = None
    if binary is None:
        reason = f"redis-server not found on PATH ({_HINT})"
    else:
        try:
            import redis  # noqa: F401
        except ImportError:
            reason = "redis-py not installed (pip install -e '.[redis]')"
    if reason is None:
        assert binary is not None
        return binary
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_line(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """The first stdout line of ``proc`` holding ``marker``; fail at the deadline."""
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not found and marker in line:
                found.append(line.strip())
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout) or not found:
        raise RuntimeError(f"{proc.args!r} printed no {marker!r} within {timeout} s")
    return found[0]


class RedisServer:
    """One ``redis-server`` for a test module: start, SIGKILL, start again on the same port."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = _free_port()
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start on :attr:`port` and return once it accepts connections."""
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.folder), "--logfile", ""]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        _wait_for_line(self.proc, "Ready to accept connections", timeout)
        return self

    def kill(self) -> None:
        """SIGKILL: no goodbye, nothing saved; its clients see their connections reset."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class ChatProcess:
    """``python -m labkit serve chat --redis URL --port 0`` in a process of its own."""

    def __init__(self, redis_url: str, *extra: str, timeout: float = 30.0) -> None:
        argv = [sys.executable, "-m", "labkit", "serve", "chat", "--redis", redis_url]
        argv += ["--port", "0", "-q", *extra]
        self._log = open(os.devnull, "w")  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self._log, text=True, stdin=subprocess.DEVNULL
        )
        line = _wait_for_line(self.proc, "listening on ", timeout)
        self.url = line.removeprefix("listening on ")

    def room(self, name: str) -> str:
        """The WebSocket URL of room ``name`` (``/rooms/NAME``) on this process."""
        return f"{self.url}rooms/{name}"

    def kill(self) -> None:
        """SIGKILL: the process dies without a word to Redis or its clients."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, the polite stop: clients get 1001, Redis a goodbye."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def wait_until(check, timeout: float, what: str, every: float = 0.02):  # type: ignore[no-untyped-def]
    """Return ``check()`` once it is truthy; fail with ``what`` at the deadline.

    Polls a condition (a count, a state), it does not sleep to let things happen.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(every)
