"""A Koa-style app on ``websockets``: onion middleware, routes, a pre-handshake hook.

The tutorial this kit grows from writes, in Koa2 with koa-websocket::

    const app = websockify(new Koa());
    app.ws.use((ctx, next) => {
      console.log('WebSocket 连接已建立');            // connection established
      ctx.websocket.on('message', msg => ctx.websocket.send(msg));
      return next();
    });

The same app here::

    app = labkit.App()

    @app.use
    async def echo(ctx, next):
        ctx.log.info("connection established")
        async for message in ctx.websocket:
            await ctx.websocket.send(message)

Differences worth knowing:

* Middleware are ``async def mw(ctx, next)`` and compose like Koa's onion: code
  after ``await next()`` runs on the way back out. When the chain returns, the
  connection is closed normally (1000).
* :meth:`App.before_handshake` hooks run *before* the ``101 Switching
  Protocols`` answer (RFC 6455, section 4.2.2) and may refuse the connection
  with any HTTP status. koa-websocket runs its middleware after the handshake,
  so it cannot do this.
* Browser handshakes from a foreign ``Origin`` (RFC 6455, section 10.2) are
  refused with 403 by default; clients that send no Origin (scripts, the
  notebook's panels) are accepted.
* An ``Sec-WebSocket-Version`` other than 13 gets ``426 Upgrade Required`` with
  ``Sec-WebSocket-Version: 13``, as RFC 6455, section 4.4 asks.
* An exception in a middleware is logged with its traceback and closes that
  connection with 1011 (RFC 6455, section 7.4.1); the server keeps serving.
* Plain HTTP ``GET`` requests on the same port are answered by :meth:`App.http`
  routes, so a chat page and its WebSocket share one URL.
* permessage-deflate is off by default: a 1000-client broadcast ran about ten
  times slower with it on.
"""

from __future__ import annotations

import asyncio
import http
import inspect
import ipaddress
import itertools
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers, MultipleValuesError
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

from .errors import HandshakeRefused
from .logs import LINE_LIMIT, ConnectionLog, check_limit

__all__ = [
    "App",
    "Context",
    "HttpResponse",
    "Middleware",
    "Next",
    "Route",
]

Next = Callable[[], Awaitable[None]]
Middleware = Callable[["Context", Next], Awaitable[None]]
Hook = Callable[["Context"], Awaitable[None] | None]
PageResult = "HttpResponse | str | bytes"
HttpHandler = Callable[[Request], "PageResult | Awaitable[PageResult]"]

#: Default largest message, in bytes (bigger ones close with 1009).
MAX_SIZE = 1 << 20
#: Default bytes one slow reader may have queued before broadcast() drops it.
MAX_BUFFER = 1 << 20
#: Bytes asked of the socket per read (asyncio's own default too).
READ_SIZE = 1 << 18

_read_buffers = threading.local()


def _read_buffer() -> memoryview:
    """The reusable read buffer of the calling thread (one per event loop thread)."""
    try:
        return _read_buffers.view  # type: ignore[no-any-return]
    except AttributeError:
        _read_buffers.view = memoryview(bytearray(READ_SIZE))
        return _read_buffers.view  # type: ignore[no-any-return]


@dataclass
class Context:
    """Everything a middleware knows about one connection, like Koa's ``ctx``.

    Attributes:
        websocket: the ``websockets`` connection (``send``, ``recv``, ``async for``).
        path: the request path without the query string, e.g. ``/rooms/lobby``.
        query: the query string parsed into a dict (first value wins).
        headers: the handshake request headers.
        params: values captured by a route pattern, e.g. ``{"room": "lobby"}``.
        state: a dict for your own per-connection data (Koa's ``ctx.state``).
        app: the :class:`App` serving this connection.
        id: a small number, unique per app, for logs.
        remote: the client's ``(host, port)``.
        log: a logger that prefixes lines with the connection id and holds
            back a flood of INFO and DEBUG lines (:class:`~labkit.logs.ConnectionLog`).
    """

    websocket: ServerConnection
    path: str
    query: dict[str, str]
    headers: Headers
    app: App
    id: int
    remote: tuple[str, int] | None = None
    params: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    log: ConnectionLog = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.log = ConnectionLog(self.app.logger, self.id, self.app.log_limit)

    async def send(self, message: str | bytes) -> None:
        """Send one message to this client (text for ``str``, binary for ``bytes``)."""
        await self.websocket.send(message)

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


@dataclass(frozen=True)
class HttpResponse:
    """A plain HTTP response for :meth:`App.http` routes."""

    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    def to_response(self) -> Response:
        body = self.body.encode() if isinstance(self.body, str) else bytes(self.body)
        headers = Headers()
        headers["Content-Type"] = self.content_type
        headers["Content-Length"] = str(len(body))
        headers["Cache-Control"] = "no-store"
        headers["X-Content-Type-Options"] = "nosniff"
        for key, value in self.headers:
            headers[key] = value
        return Response(self.status, _phrase(self.status), headers, body)


class Route:
    """A path pattern such as ``/rooms/{room}``; each ``{name}`` matches one segment."""

    _PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

    def __init__(self, pattern: str) -> None:
        if not pattern.startswith("/"):
            raise ValueError(f"route patterns start with '/': {pattern!r}")
        self.pattern = pattern
        regex, last = "", 0
        for match in self._PARAM.finditer(pattern):
            regex += re.escape(pattern[last : match.start()]) + f"(?P<{match.group(1)}>[^/]+)"
            last = match.end()
        regex += re.escape(pattern[last:])
        self._regex = re.compile(f"^{regex}/?$")

    def match(self, path: str) -> dict[str, str] | None:
        """Return the captured parameters, or ``None`` when ``path`` does not match."""
        found = self._regex.match(path)
        return None if found is None else found.groupdict()

    def __repr__(self) -> str:
        return f"Route({self.pattern!r})"


def _check_middleware(fn: Any, what: str, arity: int) -> None:
    """Fail early, with a hint, on the mistakes learners make most."""
    if not callable(fn):
        raise TypeError(f"{what} must be a function, got {type(fn).__name__}")
    if not inspect.iscoroutinefunction(fn) and what == "middleware":
        raise TypeError(
            f"middleware {getattr(fn, '__name__', fn)!r} must be defined with "
            f"`async def {getattr(fn, '__name__', 'mw')}(ctx, next):`"
        )
    try:
        inspect.signature(fn).bind(*range(arity))
    except TypeError:
        raise TypeError(
            f"{what} {getattr(fn, '__name__', fn)!r} must take {arity} argument(s)"
            + (" (ctx, next)" if arity == 2 else " (ctx)")
        ) from None
    except ValueError:  # builtins without a signature: let them be
        pass


_send_data = ServerConnection.send_data
_data_received = ServerConnection.data_received


class _Connection(ServerConnection, asyncio.BufferedProtocol):
    """websockets' server connection, with a deadline on every closing handshake.

    RFC 6455, section 7.1.1: once the close frames are exchanged (or the server
    failed the connection, section 7.1.7), the server waits for the client to
    close TCP. websockets 17 only enforces ``close_timeout`` when the server
    starts the close itself; after a close frame or a protocol error *from the
    client*, a client that never hangs up kept the connection, its handler and
    its chat user forever. Here the transport is aborted at the deadline.

    On asyncio's loop it reads into one reusable buffer per thread (a buffered
    protocol) instead of a fresh 256 KiB buffer per read. It queues broadcast
    frames so that each client gets one write per loop turn (see
    :meth:`App.broadcast`).
    """

    _close_timer: asyncio.TimerHandle | None = None
    #: Broadcast frames waiting for this loop turn's single write (see App.broadcast).
    _corked: list[bytes] | None = None
    _corked_size = 0

    def cork(self, frame: bytes) -> bool:
        """Queue a broadcast frame; return True when it is the first one this turn."""
        if self._corked is None:
            self._corked = [frame]
            self._corked_size = len(frame)
            # Until uncork(), everything websockets writes (a reply, a ping, a
            # close frame) must flush the queue first, so the order is kept.
            # websockets writes through self.send_data(), so this connection's
            # send_data is swapped for the flushing one while frames wait: the
            # common case, nothing queued, pays nothing on each send.
            self.send_data = self._flush_then_send  # type: ignore[method-assign]
            return True
        self._corked.append(frame)
        self._corked_size += len(frame)
        return False

    @property
    def unsent(self) -> int:
        """Bytes waiting for this client: corked frames plus the transport's buffer."""
        return self._corked_size + self.transport.get_write_buffer_size()

    def uncork(self) -> None:
        """Write the queued broadcast frames in one system call."""
        frames, self._corked, self._corked_size = self._corked, None, 0
        self.__dict__.pop("send_data", None)  # back to the class's send_data
        if frames and not self.transport.is_closing():
            self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))

    def _flush_then_send(self) -> None:
        self.uncork()
        _send_data(self)

    # asyncio.BufferedProtocol: a plain protocol gets a new bytes object of up to
    # 256 KiB per read, which glibc serves with mmap() and munmap() whenever the
    # process has not yet raised its mmap threshold. Reading into one buffer per
    # thread and copying out only what arrived costs the same whatever the
    # allocator's history. (uvloop treats any asyncio.Protocol as a plain one,
    # websockets' connection is one, so there data_received below is used.)

    _view: memoryview

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._view = _read_buffer()  # this thread's: the connection lives on its loop
        super().connection_made(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        _data_received(self, bytes(self._view[:nbytes]))
        if self._close_timer is None and self.close_deadline is not None:
            self._arm_close_timer()

    def data_received(self, data: bytes) -> None:  # loops that do not buffer (uvloop)
        _data_received(self, data)
        if self._close_timer is None and self.close_deadline is not None:
            self._arm_close_timer()

    def _arm_close_timer(self) -> None:
        assert self.close_deadline is not None
        self._close_timer = self.loop.call_at(self.close_deadline, self._close_overdue)

    def _close_overdue(self) -> None:
        if not self.connection_lost_waiter.done():
            self.logger.info("no TCP close within close_timeout; dropping the connection")
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
        self._corked, self._corked_size = None, 0
        self.__dict__.pop("send_data", None)
        super().connection_lost(exc)


class App:
    """A WebSocket app: middleware, routes, pre-handshake hooks and HTTP pages.

    Args:
        name: the default name :func:`labkit.start` keeps the server under.
        max_size: the largest message accepted, in bytes; a bigger one closes
            the connection with 1009 (RFC 6455, section 7.4.1).
        origins: ``"same-host"`` (default) accepts a browser ``Origin`` only
            when it names the host the browser connected to; a list adds more
            allowed origins (``"null"`` included, if you must); ``None``
            turns the check off. A missing ``Origin`` is always accepted:
            only browsers send one (RFC 6455, section 10.2).
        ping_interval: seconds between keepalive pings (``None``: no pings).
        ping_timeout: seconds to wait for the pong before closing with 1011.
        open_timeout: seconds a client has to finish the opening handshake.
        close_timeout: seconds to wait for the closing handshake.
        max_buffer: bytes that may wait unsent for one client before
            :meth:`broadcast` disconnects it as too slow.
        max_queue: incoming messages buffered per connection before reading
            from the socket pauses (back-pressure on the sender).
        compression: ``None`` (default) or ``"deflate"``.
        log_limit: INFO and DEBUG lines each connection's ``ctx.log`` writes
            per second (default 20); the rest are counted, and the count is
            logged. ``None`` logs every line.
    """

    #: What clients should speak: plain ``"text"`` messages, or a named protocol
    #: such as the chat room's ``"chat"`` (:class:`~labkit.widgets.ChatPanel` reads it).
    wire_protocol = "text"

    def __init__(
        self,
        name: str = "app",
        *,
        max_size: int = MAX_SIZE,
        origins: str | Iterable[str] | None = "same-host",
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float = 10.0,
        close_timeout: float = 5.0,
        max_buffer: int = MAX_BUFFER,
        max_queue: int = 16,
        compression: str | None = None,
        log_limit: int | None = LINE_LIMIT,
    ) -> None:
        self.name = name
        self.max_size = max_size
        self.origins: frozenset[str] | None = (
            None
            if origins is None
            else frozenset()
            if origins == "same-host"
            else frozenset(o.lower() for o in origins)
        )
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.max_buffer = max_buffer
        self.max_queue = max_queue
        self.compression = compression
        self.log_limit = check_limit(log_limit)
        self.logger = logging.getLogger(f"labkit.app.{name}")
        self._middleware: list[Middleware] = []
        self._routes: list[Route] = []
        self._hooks: list[Hook] = []
        self._pages: dict[str, HttpHandler] = {}
        self._open: dict[ServerConnection, Context] = {}
        self._ids = itertools.count(1)
        self._server: Server | None = None
        self._dirty: list[_Connection] = []
        self._loopback = True
        self._local_names = _LOCAL_NAMES
        self._flush_pending = False

    # --- building the app ---------------------------------------------------

    def use(self, middleware: Middleware) -> Middleware:
        """Append a middleware (``async def mw(ctx, next)``); usable as a decorator."""
        _check_middleware(middleware, "middleware", 2)
        self._middleware.append(middleware)
        return middleware

    def route(self, pattern: str) -> Callable[[Middleware], Middleware]:
        """Decorate a middleware that runs only for paths matching ``pattern``.

        Once an app has routes, a handshake for a path that matches none of
        them is refused with 404 before the handshake completes.
        """
        route = Route(pattern)

        def register(middleware: Middleware) -> Middleware:
            _check_middleware(middleware, "middleware", 2)

            async def routed(ctx: Context, next: Next) -> None:
                params = route.match(ctx.path)
                if params is None:
                    await next()
                    return
                ctx.params.update(params)
                await middleware(ctx, next)

            routed.__name__ = getattr(middleware, "__name__", "route")
            self._routes.append(route)
            self._middleware.append(routed)
            return middleware

        return register

    def before_handshake(self, hook: Hook) -> Hook:
        """Add a hook that runs before the handshake completes.

        The hook gets the :class:`Context` (its websocket is not open yet)
        and refuses the connection by raising
        :class:`~labkit.errors.HandshakeRefused` with an HTTP status. What it
        puts in ``ctx.state`` is still there for the middleware.
        """
        _check_middleware(hook, "hook", 1)
        self._hooks.append(hook)
        return hook

    def http(self, path: str) -> Callable[[HttpHandler], HttpHandler]:
        """Decorate a handler for plain HTTP ``GET path`` on the same port."""

        def register(handler: HttpHandler) -> HttpHandler:
            self._pages[path] = handler
            return handler

        return register

    # --- serving -------------------------------------------------------------

    @property
    def connections(self) -> frozenset[Context]:
        """The contexts of every open connection."""
        return frozenset(self._open.values())

    async def open(self, host: str, port: int) -> Server:
        """Bind and serve on the running loop (the :class:`~labkit.runner.Servable` face)."""
        self._loopback = _is_loopback(host)
        self._local_names = _LOCAL_NAMES | {host.strip("[]").lower()}
        self._server = await serve(
            self._handle,
            host,
            port,
            process_request=self._process_request,
            create_connection=_Connection,
            compression="deflate" if self.compression == "deflate" else None,
            max_size=self.max_size,
            max_queue=self.max_queue,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            open_timeout=self.open_timeout,
            close_timeout=self.close_timeout,
            server_header="labkit",
            logger=self.logger.getChild("wire"),
        )
        return self._server

    def _refuse(self, status: int, text: str, **headers: str) -> Response:
        response = HttpResponse(status, text.rstrip("\n") + "\n").to_response()
        for key, value in headers.items():
            response.headers[key.replace("_", "-")] = value
        return response

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Answer plain HTTP, check Host, version, Origin and route, then run the hooks."""
        try:
            return await self._check_request(connection, request)
        except MultipleValuesError as exc:  # e.g. two Origin headers: ambiguous, so no
            return self._refuse(400, f"Duplicate header: {exc}.")

    async def _check_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        host = request.headers.get("Host", "").strip()
        if not host:
            # RFC 6455, section 4.2.1 and RFC 9112, section 3.2: no Host is a 400.
            # Without one, the same-host Origin check would compare against "".
            return self._refuse(400, "Missing Host header.")
        if self._loopback and _host_name(host) not in self._local_names:
            # DNS rebinding: a page on evil.example re-points its name at
            # 127.0.0.1 and is then "same host" to itself. A server only this
            # machine can reach answers only to this machine's own names.
            self.logger.info("refused Host %r on a loopback server", host)
            return self._refuse(403, f"Host {host} is not this server's name.")
        split = urlsplit(request.path)
        path = split.path or "/"
        upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
        if not upgrade:
            page = self._pages.get(path)
            if page is not None and request.method == "GET":
                return await self._page(page, request)
            if self._routes and not any(r.match(path) is not None for r in self._routes):
                return self._refuse(404, f"Not found: {path}")
            return None  # websockets answers 426 Upgrade Required (or 405)
        version = request.headers.get("Sec-WebSocket-Version")
        if version is not None and version.strip() != "13":
            return self._refuse(
                426,
                f"Unsupported Sec-WebSocket-Version {version!r}: this server speaks 13.",
                Sec_WebSocket_Version="13",
            )
        refusal = self._check_origin(request)
        if refusal is not None:
            return refusal
        if self._routes and not any(r.match(path) is not None for r in self._routes):
            return self._refuse(404, f"No WebSocket route for {path}")
        ctx = Context(
            websocket=connection,
            path=path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=request.headers,
            app=self,
            id=next(self._ids),
            remote=_remote(connection),
        )
        for hook in self._hooks:
            try:
                result = hook(ctx)
                if inspect.isawaitable(result):
                    await result
            except HandshakeRefused as refused:
                ctx.log.info("handshake refused: %s", refused)
                ctx.log.flush()  # the connection ends here: its count of held-back lines
                reason = refused.reason or _phrase(refused.status)
                return self._refuse(refused.status, reason)
            except BaseException:
                ctx.log.flush()  # a crashed hook: websockets answers 500
                raise
        connection.labkit_context = ctx  # type: ignore[attr-defined]
        return None

    async def _page(self, page: HttpHandler, request: Request) -> Response:
        try:
            result = page(request)
            if inspect.isawaitable(result):
                result = await result
        except Exception:
            self.logger.exception("HTTP handler for %s failed", request.path)
            return self._refuse(500, "Internal server error (see the server log).")
        if isinstance(result, HttpResponse):
            return result.to_response()
        if isinstance(result, str):
            return HttpResponse(200, result, "text/html; charset=utf-8").to_response()
        return HttpResponse(200, bytes(result), "application/octet-stream").to_response()

    def _check_origin(self, request: Request) -> Response | None:
        """RFC 6455, section 10.2: only browsers send Origin; refuse foreign ones."""
        if self.origins is None:
            return None
        origin = request.headers.get("Origin")
        if origin is None:
            return None
        if origin.lower() in self.origins:
            return None
        host = request.headers.get("Host", "")
        if _origin_host(origin) == _normal_host(host, _scheme(origin)):
            return None
        self.logger.info("refused Origin %r for Host %r", origin, host)
        return self._refuse(403, f"Origin {origin} is not allowed to connect to this server.")

    async def _handle(self, connection: ServerConnection) -> None:
        """Run the middleware chain for one connection."""
        ctx = getattr(connection, "labkit_context", None)
        if ctx is None:  # pragma: no cover - _process_request always sets it
            raise RuntimeError("connection without a context")
        self._open[connection] = ctx
        try:
            await self._dispatch(ctx, 0)
        except ConnectionClosed:
            pass  # the client went away; that ends its chain normally
        except Exception:
            ctx.log.exception("middleware failed; closing the connection with 1011")
            await connection.close(1011, "internal server error")
        finally:
            del self._open[connection]
            ctx.log.flush()  # the count of lines held back, if any

    async def _dispatch(self, ctx: Context, index: int) -> None:
        """Koa's compose: call middleware ``index`` with a ``next`` for the rest."""
        if index >= len(self._middleware):
            return
        called = False

        async def next_() -> None:
            nonlocal called
            if called:
                raise RuntimeError("next() called more than once in one middleware")
            called = True
            await self._dispatch(ctx, index + 1)

        await self._middleware[index](ctx, next_)

    # --- sending to many -----------------------------------------------------

    def broadcast(
        self,
        message: str | bytes,
        *,
        to: Iterable[Context] | None = None,
        exclude: Context | Iterable[Context] | None = None,
    ) -> int:
        """Send ``message`` to many clients at once; return how many got it.

        The frame is built once (RFC 6455, section 5.2: a server's frames are
        unmasked, so every receiver gets the same bytes) and queued for each
        receiver without waiting. Frames queued for one client during one turn
        of the event loop leave in a single write at the end of the turn: in a
        busy room (a join storm, a fast sender) that turns hundreds of system
        calls per client into one. Anything else the connection sends flushes
        its queue first, so the order of frames is kept.

        A receiver with more than ``max_buffer`` bytes still unsent is too
        slow: it is disconnected rather than let the server's memory grow.

        Call it from a middleware, or from any other thread (a notebook cell).
        """
        if self._server is None:
            return 0
        loop = self._server.get_loop()
        if not _running_on(loop):
            future = asyncio.run_coroutine_threadsafe(
                _call(self.broadcast, message, to=to, exclude=exclude), loop
            )
            return future.result(timeout=30)
        one: Context | None = exclude if isinstance(exclude, Context) else None
        skip: frozenset[Context] = (
            frozenset(exclude) if exclude is not None and one is None else frozenset()  # type: ignore[arg-type]
        )
        targets = self._open.values() if to is None else to
        opcode = Opcode.TEXT if isinstance(message, str) else Opcode.BINARY
        data = message.encode() if isinstance(message, str) else bytes(message)
        wire = Frame(opcode, data).serialize(mask=False)
        limit = self.max_buffer
        dirty = self._dirty
        sent = 0
        for ctx in targets:
            if ctx is one or (skip and ctx in skip):
                continue
            conn = ctx.websocket
            if conn.protocol.state is not State.OPEN or conn.send_in_progress is not None:
                continue
            if conn.transport.is_closing():
                # Cut off by an earlier broadcast; asyncio has not told websockets
                # yet. A write would be dropped, and logged as an error each time.
                continue
            if conn.unsent > limit:
                ctx.log.warning(
                    "disconnecting a slow reader: over %d bytes waiting to be sent", limit
                )
                conn.transport.abort()
                continue
            if conn.protocol.extensions:  # compression negotiated: frame per connection
                if opcode == Opcode.TEXT:
                    conn.protocol.send_text(data)
                else:
                    conn.protocol.send_binary(data)
                conn.send_data()
                sent += 1
                continue
            if conn.cork(wire):
                dirty.append(conn)
            sent += 1
        if dirty and not self._flush_pending:
            self._flush_pending = True
            loop.call_soon(self._uncork_all)
        return sent

    def _uncork_all(self) -> None:
        """End of a loop turn: every client's queued broadcast frames, one write each."""
        dirty, self._dirty = self._dirty, []
        self._flush_pending = False
        for conn in dirty:
            conn.uncork()


async def _call(fn: Callable[..., int], *args: Any, **kwargs: Any) -> int:
    return fn(*args, **kwargs)


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _phrase(status: int) -> str:
    """The reason phrase of ``status``; hooks may use codes HTTPStatus does not name."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Refused" if status >= 400 else "OK"


def _remote(connection: ServerConnection) -> tuple[str, int] | None:
    try:
        address = connection.remote_address
    except Exception:  # the transport may already be gone
        return None
    return (str(address[0]), int(address[1])) if address else None


_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


#: The names a Host header may carry on a server bound to loopback.
_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def _is_loopback(host: str) -> bool:
    """Is ``host`` reachable from this machine only (a loopback address, or localhost)?"""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """The name part of a ``Host`` header value: ``[::1]:80`` gives ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _scheme(origin: str) -> str:
    return urlsplit(origin).scheme.lower()


def _normal_host(host: str, scheme: str) -> str:
    """``Host`` as ``host:port`` in lower case, with the scheme's default port."""
    host = host.strip().lower()
    if not host:
        return ""
    if host.endswith("]") or ":" not in host.rsplit("]", 1)[-1]:
        host = f"{host}:{_DEFAULT_PORTS.get(scheme, '80')}"
    return host


def _origin_host(origin: str) -> str:
    """The ``host:port`` an Origin names (RFC 6454), or ``""`` for ``null``."""
    split = urlsplit(origin.strip())
    if not split.scheme or not split.netloc:
        return ""
    return _normal_host(split.netloc, split.scheme.lower())
