"""Background servers for notebooks: one kit-owned event loop in a daemon thread.

Theory of operation
-------------------
A Jupyter kernel runs each cell on its main thread, and ipykernel already runs an
asyncio loop there. A server started *on that loop* would stop answering while a
cell blocks (``time.sleep(5)``, a long computation), and ``asyncio.run`` cannot
be used at all from a cell. So the kit owns one more event loop, in a daemon
thread, and every server started with :func:`start` lives on it:

* a cell that starts a server returns at once;
* a blocked cell does not freeze the servers;
* one loop for all servers means a chat server and its clients share it without
  any locking, and there is one thread to clean up, not one per server.

Servers are kept by *name*. Starting a server under a name that is already
running (which is what re-running a notebook cell does) stops the old one first,
so a re-run never fails with "address already in use". The same goes for a
fixed port held by one of our own servers. A port held by *another* program
raises :class:`~labkit.errors.PortInUseError`, which says so.

:meth:`ServerHandle.stop` returns only when the listening socket is closed and
every connection has been sent a close frame with code 1001 "going away"
(RFC 6455, section 7.4.1) and its task has finished. At interpreter exit (which
includes a kernel restart) every server is stopped and the loop is closed.

Anything can be served if it follows the :class:`Servable` protocol; the
Koa-style :class:`~labkit.app.App`, the from-scratch raw echo server and the
wire inspector all do.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import errno
import html
import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Coroutine, Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

from .classroom import WILDCARDS, JoinLinks
from .errors import KitLoopError, PortInUseError, ServerError
from .hosts import on_new_hosts, public_hosts
from .i18n import _
from .journal import POLL
from .logs import install, recent
from .places import Place, recall, remember
from .protocol.policy import is_loopback

__all__ = [
    "Listening",
    "Servable",
    "ServerHandle",
    "kit_loop",
    "on_kit_loop",
    "public_hosts",
    "refuse_on_kit_loop",
    "run_sync",
    "running",
    "start",
    "stop_all",
    "wait_future",
]

log = logging.getLogger("labkit.runner")

T = TypeVar("T")

#: Seconds :meth:`ServerHandle.stop` waits for connections to finish closing.
STOP_TIMEOUT = 15.0
#: Seconds :func:`start` waits for a server to bind.
START_TIMEOUT = 30.0


@runtime_checkable
class Listening(Protocol):
    """A server that is accepting connections (``websockets`` ``Server`` is one)."""

    @property
    def sockets(self) -> Iterable[socket.socket]:
        """The bound listening sockets."""
        ...

    def close(self) -> None:
        """Stop accepting and close every open connection with 1001 (idempotent)."""
        ...

    async def wait_closed(self) -> None:
        """Return once the sockets are closed and every connection task ended."""
        ...


@runtime_checkable
class Servable(Protocol):
    """Something :func:`start` can run: an App, the raw echo server, the inspector."""

    name: str

    async def open(self, host: str, port: int) -> Listening:
        """Bind ``host:port`` (0 = any free port) on the running loop and serve."""
        ...


# --- the kit's loop -----------------------------------------------------------

_lock = threading.RLock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_handles: dict[str, ServerHandle] = {}


def _new_loop() -> asyncio.AbstractEventLoop:
    """Create the kit's loop: uvloop when asked for with ``LABKIT_LOOP=uvloop``."""
    if os.environ.get("LABKIT_LOOP", "asyncio") == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning(_("LABKIT_LOOP=uvloop but uvloop is not installed; using asyncio"))
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def kit_loop() -> asyncio.AbstractEventLoop:
    """Return the kit's event loop, starting its daemon thread on first use."""
    global _loop, _thread
    loop, thread = _loop, _thread
    if loop is not None and thread is not None and thread.is_alive():
        # No lock on this path: the kit's own thread calls it (a panel, a client
        # created in a callback) while start() may hold the lock waiting for it.
        return loop
    with _lock:
        if _loop is not None and _thread is not None and _thread.is_alive():
            return _loop
        loop = _new_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name="labkit-loop", daemon=True)
        thread.start()
        ready.wait()
        _loop, _thread = loop, thread
        return loop


def on_kit_loop() -> bool:
    """Tell whether the caller runs on the kit's loop thread."""
    return _thread is not None and threading.current_thread() is _thread


def refuse_on_kit_loop(why: str) -> None:
    """The one guard of every blocking call: refuse it on the kit's own loop thread.

    A blocking wait there (inside a middleware or a client callback) would stop
    the very loop that has to deliver what it waits for, and hang forever.

    Raises:
        KitLoopError: with ``why``, when called from the kit's loop thread.
    """
    if on_kit_loop():
        raise KitLoopError(why)


def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the kit's loop from any other thread and return its result.

    Raises:
        KitLoopError: when called from the kit's own loop thread, where waiting
            for the result would wait for ourselves forever.
        TimeoutError: when ``timeout`` seconds pass first (the coroutine is cancelled).
    """
    if on_kit_loop():
        coro.close()
    refuse_on_kit_loop(
        _(
            "this blocking call cannot run on the kit's own event loop "
            "(inside a middleware or a client callback); use the async form instead"
        )
    )
    future = asyncio.run_coroutine_threadsafe(coro, kit_loop())
    try:
        return wait_future(future, timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(_("gave up after {timeout} s").format(timeout=timeout)) from None
    except BaseException:  # KeyboardInterrupt (Kernel → Interrupt): stop the work too
        future.cancel()
        raise


def wait_future(future: concurrent.futures.Future[T], timeout: float | None = None) -> T:
    """``future.result(timeout)``, waking every :data:`~labkit.journal.POLL` seconds.

    A SIGINT that the kernel delivers to another thread runs Python's handler
    only when the main thread is back in Python: short waits in a loop let
    Kernel → Interrupt land within a fraction of a second.

    Raises:
        concurrent.futures.TimeoutError: not done within ``timeout`` seconds.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = POLL if deadline is None else min(POLL, deadline - time.monotonic())
        try:
            return future.result(max(left, 0))
        except concurrent.futures.TimeoutError:
            if deadline is not None and time.monotonic() >= deadline:
                raise


# --- handles ------------------------------------------------------------------


def _url_host(host: str) -> str:
    """Format ``host`` for a URL: IPv6 literals need brackets (RFC 3986, 3.2.2)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


class ServerHandle:
    """A server running in the background on the kit's loop.

    Attributes:
        name: the name it is kept under (re-using it replaces this server).
        host: the host it was bound to.
        port: the port it listens on (the real one, also when started with 0).
        app: the served object (an :class:`~labkit.app.App` or another Servable).
    """

    def __init__(self, name: str, host: str, port: int, app: Servable, listening: Listening):
        self.name = name
        self.host = host
        self.port = port
        self.app = app
        self._listening: Listening | None = listening

    @property
    def url(self) -> str:
        """``ws://host:port/``, the address WebSocket clients connect to."""
        return f"ws://{_url_host(self.host)}:{self.port}/"

    @property
    def http_url(self) -> str:
        """``http://host:port/``, the same port for plain HTTP (pages)."""
        return f"http://{_url_host(self.host)}:{self.port}/"

    @property
    def running(self) -> bool:
        """True until :meth:`stop` has finished."""
        return self._listening is not None

    def page(self, *, embed: bool = True, height: str = "420px", query: str = "") -> Any:
        """This server's page, embedded, with a link that works from the learner's browser.

        On a laptop that is ``http://127.0.0.1:PORT/``; on JupyterHub, Binder
        or a remote Jupyter it goes through jupyter-server-proxy
        (``{base_url}proxy/PORT/SECRET/``). See :class:`labkit.widgets.link.PageLink`.
        """
        from .widgets.link import PageLink

        return PageLink(self, embed=embed, height=height, query=query)

    def logs(self, last: int = 50) -> list[str]:
        """The last log lines of this server (from the kit's in-memory log)."""
        logger = getattr(self.app, "logger", None)
        prefix = logger.name if isinstance(logger, logging.Logger) else "labkit"
        return recent(prefix, last)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the server; return when its port is free and its connections closed.

        Every open connection gets a close frame with 1001 "going away"
        (RFC 6455, section 7.4.1). Calling it again does nothing.
        """
        refuse_on_kit_loop(
            _(
                "stop() waits for the server to close, which cannot happen on the kit's "
                "own event loop; call it from a cell, or await the server's close instead"
            )
        )
        with _lock:
            listening, self._listening = self._listening, None
            if _handles.get(self.name) is self:
                del _handles[self.name]
                remember(self.name, Place(self.host, self.port, getattr(self.app, "secret", None)))
        if listening is None:
            return
        run_sync(_close(listening), timeout=timeout)
        log.info(_("stopped %s (%s)"), self.name, self.url)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def shared(self) -> bool:
        """Is it bound to every interface, so that others on the network can join?"""
        return self.host in WILDCARDS

    def join_links(self, path: str = "/") -> JoinLinks:
        """The links others on the network open: one per address of this machine, with QR codes.

        Only a server bound to all interfaces (``host="0.0.0.0"``) has links
        for others; one on ``127.0.0.1`` has none.
        """
        if not self.shared and is_loopback(self.host):
            return JoinLinks(())
        return JoinLinks.for_server(self.port, path, self.host)

    def _repr_html_(self) -> str:
        head = f"<p><code>{html.escape(repr(self))}</code></p>"
        if not (self.shared and self.running):
            return head
        return head + self.join_links()._repr_html_()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ServerHandle {self.name!r} {self.url} {state}>"


async def _close(listening: Listening) -> None:
    listening.close()
    await listening.wait_closed()


async def _open(app: Servable, host: str, port: int) -> Listening:
    return await app.open(host, port)


def _listening_port(listening: Listening) -> int:
    for sock in listening.sockets:
        return int(sock.getsockname()[1])
    raise ServerError(_("the server has no listening socket"))


def start(
    app: Servable, host: str = "127.0.0.1", port: int = 0, name: str | None = None
) -> ServerHandle:
    """Start ``app`` in the background and return its :class:`ServerHandle`.

    Args:
        app: an :class:`~labkit.app.App` (``labkit.echo_app()``, ``labkit.chat_app()``)
            or any other :class:`Servable`.
        host: the interface to bind. ``127.0.0.1`` (the default) is reachable
            from this machine only; ``0.0.0.0`` lets anyone on the network in,
            and logs a warning saying so.
        port: the TCP port; 0 lets the system pick a free one.
        name: the name to keep the server under, by default ``app.name``. A
            server already running under that name is stopped first, so
            re-running a notebook cell replaces its server. With ``port=0``
            the replacement takes over the old server's port, so its URL
            stays the same and connected clients can follow it; a server
            started again after a stop takes its port back if it is free.

    Raises:
        PortInUseError: the port is held by a program that is not one of ours.
        TypeError: ``app`` is not something that can be served.
    """
    if not isinstance(app, Servable):
        raise TypeError(
            _("labkit.start() needs an app such as labkit.echo_app(), got {type}").format(
                type=type(app).__name__
            )
        )
    name = name or app.name
    install()  # the kit's log book: set up on the first start, not on import
    with _lock:
        replaced = _replace(name, host, port)  # stopping it remembered its place
        # A replacement, or a restart after a stop (labkit.places), keeps its URL so
        # that clients follow it (a panel by itself, the chat page with its backoff).
        place = recall(name, host) if replaced is not None or not port else None
        _carry_over(app, place)
        keep = place.port if place is not None and not port else 0
        try:
            listening = run_sync(_open(app, host, keep or port), timeout=START_TIMEOUT)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            if not keep:
                raise PortInUseError(host, port) from exc
            # Taken by another program in between: any free port will do.
            log.warning(_("port %d was taken meanwhile; %s moves to a new port"), keep, name)
            listening = run_sync(_open(app, host, 0), timeout=START_TIMEOUT)
        handle = ServerHandle(name, host, _listening_port(listening), app, listening)
        _handles[name] = handle
    log.info(_("started %s on %s"), name, handle.url)
    if handle.shared:
        log.warning(
            _(
                "%s listens on all interfaces (%s): anyone who can reach this machine "
                "can connect. Use host='127.0.0.1' unless you mean to share it."
            ),
            name,
            host or "*",
        )
        for link in handle.join_links().links:
            log.info(_("%s: others join at %s"), name, link)
    return handle


def _tell_running_servers(names: frozenset[str]) -> None:
    """New public names (labkit.hosts): every running server answers to them too."""
    with _lock:
        handles = list(_handles.values())
    for handle in handles:
        allow = getattr(handle.app, "allow_public_hosts", None)
        if allow is not None:
            allow(names)


on_new_hosts(_tell_running_servers)


def _carry_over(app: Servable, place: Place | None) -> None:
    """Give a new server the public names, and its namesake's secret, before it opens."""
    allow = getattr(app, "allow_public_hosts", None)
    if allow is not None:
        allow(public_hosts())
    if place is not None and place.secret is not None and hasattr(app, "secret"):
        app.secret = place.secret  # the whole URL survives a re-run cell, secret included


def _replace(name: str, host: str, port: int) -> ServerHandle | None:
    """Stop our own server with this name, or on this fixed port.

    Returns:
        The stopped server of this name on the same host, whose port the
        replacement takes over; ``None`` if there was none.
    """
    doomed = [
        h
        for h in _handles.values()
        if h.name == name or (port and h.port == port and _same_bind(h.host, host))
    ]
    for handle in doomed:
        log.info(_("replacing %s (%s)"), handle.name, handle.url)
        handle.stop()
    return next((h for h in doomed if h.name == name and h.host == host), None)


def _same_bind(a: str, b: str) -> bool:
    """Would binding ``a`` and ``b`` on one port collide? Wildcards collide with all."""
    wild = {"", "0.0.0.0", "::"}
    return a == b or a in wild or b in wild


def running() -> list[ServerHandle]:
    """The servers that are running now, oldest first."""
    with _lock:
        return list(_handles.values())


def stop_all() -> None:
    """Stop every running server (each gets :meth:`ServerHandle.stop`)."""
    for handle in running():
        handle.stop()


def _shutdown() -> None:
    """At interpreter exit: stop the servers, then the loop and its thread."""
    global _loop, _thread
    try:
        stop_all()
    finally:
        with _lock:
            loop, thread, _loop, _thread = _loop, _thread, None, None
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            if not loop.is_running():
                loop.close()


atexit.register(_shutdown)
