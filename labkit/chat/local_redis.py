"""A throwaway ``redis-server`` in the background of a notebook, for lesson 5.

::

    from labkit.chat.local_redis import start_redis

    redis = start_redis()                        # a real redis-server on a free port
    chat = labkit.start(labkit.chat_app(redis=redis.url), name="chat-a")
    redis.kill()                                 # SIGKILL: Redis is gone, and empty
    redis.restart()                              # the same port again, so the same URL
    labkit.stop_all()                            # stops the chat servers *and* Redis

Theory of operation: :class:`RedisServer` is a
:class:`~labkit.runner.Servable`, so :func:`labkit.start` keeps it by name
like any server of the kit. That gives it the kit's rules for free: starting
it again under the same name (re-running a cell) stops the old one first and
takes over its port, so its URL stays the same; :func:`labkit.stop_all` and
the end of the kernel stop it. Its :meth:`~RedisServer.open` runs
``redis-server`` on ``127.0.0.1`` with no persistence (``--save ''
--appendonly no``) in a temporary folder, and returns once Redis answers
``PING``.

:meth:`~RedisServer.kill` and :meth:`~RedisServer.restart` act on the
process only, not on the kit's registration: the handle stays in
:func:`labkit.running` while Redis is down, so that a restart comes back on
the same port and :func:`labkit.stop_all` still finds it. A Redis that was
killed comes back *empty* (nothing was saved): what the chat's backplane does
then is in :mod:`labkit.chat.redis`.

Without ``redis-server`` (``binary``, by default ``$LABKIT_REDIS_SERVER`` or
``redis-server`` on ``PATH``), :class:`~labkit.errors.RedisNotFoundError`
says how to install it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.errors import RedisNotFoundError, ServerError
from labkit.i18n import _

if TYPE_CHECKING:
    from labkit.runner import ServerHandle

__all__ = ["BINARY_ENV", "RedisServer", "find_redis_server", "start_redis"]

log = logging.getLogger("labkit.redis-server")

#: The environment variable that names the ``redis-server`` to run.
BINARY_ENV = "LABKIT_REDIS_SERVER"

#: Seconds ``redis-server`` has to answer ``PING`` after it was started.
READY_TIMEOUT = 10.0
#: Seconds it has to exit after SIGTERM before it gets SIGKILL.
STOP_TIMEOUT = 5.0


def find_redis_server(binary: str | None = None) -> str:
    """The path of the ``redis-server`` to run.

    Args:
        binary: a program name (looked up on ``PATH``) or a path; by default
            ``$LABKIT_REDIS_SERVER``, else ``redis-server``.

    Raises:
        RedisNotFoundError: there is no such program; the message says how to
            install one.
    """
    wanted = binary or os.environ.get(BINARY_ENV) or "redis-server"
    found = shutil.which(wanted)
    if found is None:
        raise RedisNotFoundError(wanted)
    return found


class _Address:
    """What :func:`labkit.start` reads from a listening socket: its address."""

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)

    def getsockname(self) -> tuple[str, int]:
        return self._address


class _Running:
    """The :class:`~labkit.runner.Listening` of a :class:`RedisServer`: closing it stops Redis."""

    def __init__(self, server: RedisServer) -> None:
        self._server = server

    @property
    def sockets(self) -> Iterable[Any]:
        return (_Address(self._server.host, self._server.port),)

    def close(self) -> None:
        self._server._terminate()

    async def wait_closed(self) -> None:
        await asyncio.to_thread(self._server._reap)
        self._server._cleanup()


class RedisServer:
    """A ``redis-server`` process that :func:`labkit.start` can run, kill and start again.

    Args:
        name: the name it is kept under by the kit (re-using it replaces it).
        binary: the ``redis-server`` to run (see :func:`find_redis_server`).

    Attributes:
        name: as given.
        binary: the resolved path of ``redis-server``.
        host: ``127.0.0.1`` once started (Redis is never shared on the network here).
        port: its TCP port (0 until started).
        handle: the kit's :class:`~labkit.runner.ServerHandle`, once started
            with :func:`start_redis`.

    Raises:
        RedisNotFoundError: there is no ``redis-server`` to run.
    """

    def __init__(self, name: str = "redis", *, binary: str | None = None) -> None:
        self.name = name
        self.binary = find_redis_server(binary)
        self.host = "127.0.0.1"
        self.port = 0
        self.handle: ServerHandle | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    # --- what a learner uses ----------------------------------------------------

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``: pass it to ``chat_app(redis=...)`` or ``--redis``."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def alive(self) -> bool:
        """Is the ``redis-server`` process running right now?"""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id of ``redis-server`` while it runs."""
        return self._proc.pid if self.alive and self._proc is not None else None

    def kill(self) -> None:
        """SIGKILL ``redis-server``: no goodbye, nothing saved; its clients' connections reset.

        The kit keeps the server registered (under :attr:`name`), so that
        :meth:`restart` comes back on the same port and ``stop_all`` still stops it.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(STOP_TIMEOUT)
        log.info(_("killed redis-server on port %d"), self.port)

    def restart(self, timeout: float = READY_TIMEOUT) -> RedisServer:
        """Start ``redis-server`` again on the same port (empty); return once it answers.

        Raises:
            ServerError: it is not registered with the kit (stopped, or never started).
        """
        from labkit.runner import run_sync

        if self.handle is None or not self.handle.running:
            raise ServerError(
                _("{name} is stopped: start it with start_redis()").format(name=self.name)
            )
        if self.alive:
            self.kill()
        run_sync(self._launch(self.port, timeout), timeout=timeout + 5)
        log.info(_("restarted redis-server on port %d"), self.port)
        return self

    def stop(self) -> None:
        """Stop Redis (SIGTERM) and let go of its port and folder, as ``stop_all`` does."""
        if self.handle is not None:
            self.handle.stop()
        else:
            self._terminate()
            self._reap()
            self._cleanup()

    def __repr__(self) -> str:
        state = "running" if self.alive else "down" if self._folder else "stopped"
        return f"<RedisServer {self.name!r} {self.url} {state}>"

    # --- the Servable protocol ----------------------------------------------------

    async def open(self, host: str, port: int) -> _Running:
        """Run ``redis-server`` on ``127.0.0.1:port`` (0: a free one); return once it answers.

        Raises:
            OSError: ``EADDRINUSE`` when the port is taken by another program.
            ServerError: it did not start (its log's last lines say why).
        """
        if host not in ("127.0.0.1", "localhost"):
            raise ServerError(_("this Redis only listens on 127.0.0.1 (it has no password)"))
        await self._launch(port or _free_port(), READY_TIMEOUT)
        return _Running(self)

    # --- the process ------------------------------------------------------------------

    async def _launch(self, port: int, timeout: float) -> None:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="labkit-redis-")
        folder = Path(self._folder.name)
        logfile = folder / "redis.log"
        argv = [self.binary, "--port", str(port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(folder)]
        argv += ["--logfile", str(logfile), "--protected-mode", "no"]
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        self.port, self._proc = port, proc
        deadline = time.monotonic() + timeout
        while not await _answers_ping(self.host, port):
            if proc.poll() is not None or time.monotonic() > deadline:
                self._proc = None
                with contextlib.suppress(OSError):
                    proc.kill()
                proc.wait()
                tail = _tail(logfile)
                if "Address already in use" in tail:
                    in_use = _("port {port} is already in use").format(port=port)
                    raise OSError(errno.EADDRINUSE, in_use)
                failed = _("redis-server did not start on port {port}: {log}")
                raise ServerError(failed.format(port=port, log=tail))
            await asyncio.sleep(0.02)  # polls a condition (PING), with a deadline

    def _terminate(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def _reap(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _cleanup(self) -> None:
        folder, self._folder = self._folder, None
        if folder is not None:
            folder.cleanup()
        log.info(_("stopped redis-server on port %d"), self.port)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _answers_ping(host: str, port: int) -> bool:
    """Does Redis answer ``PING`` (RESP: ``+PONG``) on ``host:port`` now?"""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        return (await asyncio.wait_for(reader.readline(), 1.0)).startswith(b"+PONG")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _tail(logfile: Path, lines: int = 3) -> str:
    try:
        text = logfile.read_text("utf-8", "replace")
    except OSError:
        return _("(no log)")
    return " | ".join(line.strip() for line in text.splitlines()[-lines:]) or _("(empty log)")


def start_redis(name: str = "redis", *, port: int = 0, binary: str | None = None) -> RedisServer:
    """Start a throwaway ``redis-server`` in the background and return it.

    Run again with the same ``name`` (re-running a cell), it replaces the
    running one, on the same port: the URL stays the same. ``labkit.stop_all()``
    stops it, like every server of the kit.

    Args:
        name: the name the kit keeps it under.
        port: its port; 0 (the default) lets the system pick a free one.
        binary: the ``redis-server`` to run (see :func:`find_redis_server`).

    Raises:
        RedisNotFoundError: there is no ``redis-server``; the message says how
            to install it.
        PortInUseError: ``port`` is held by another program.
    """
    from labkit.runner import start

    server = RedisServer(name, binary=binary)
    server.handle = start(server, port=port, name=name)
    return server
