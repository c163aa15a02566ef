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
  notebook's panels) are accepted. These rules are :mod:`labkit.protocol.policy`'s.
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
import inspect
import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers, MultipleValuesError
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .errors import HandshakeError, HandshakeRefused
from .fanout import Fanout
from .i18n import N_, _
from .internals import FastConnection
from .logs import LINE_LIMIT, ConnectionLog, check_limit
from .protocol.handshake import check_version
from .protocol.policy import OriginRule, RequestPolicy, allowed_origins
from .protocol.policy import host_name as host_name_of
from .responses import HttpResponse, phrase, remote_address
from .router import Middleware, Next, Route, Router, check_hook, check_middleware

__all__ = [
    "MAX_BUFFER",
    "MAX_SIZE",
    "App",
    "Context",
    "HttpResponse",
    "Middleware",
    "Next",
    "Route",
]

Hook = Callable[["Context"], Awaitable[None] | None]
PageResult = "HttpResponse | str | bytes"
HttpHandler = Callable[[Request], "PageResult | Awaitable[PageResult]"]

#: Default largest message, in bytes (bigger ones close with 1009).
MAX_SIZE = 1 << 20
#: Default bytes one slow reader may have queued before broadcast() drops it.
MAX_BUFFER = 1 << 20


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
        public_hosts: names under which a browser reaches this loopback
            server through a proxy (JupyterHub's jupyter-server-proxy keeps the
            browser's Host). Requests under them must start with the secret
            path ``/{app.secret}/``; local names need none. The notebook's
            front end tells the kit its name by itself
            (:func:`labkit.hosts.allow_public_hosts`), and so does
            ``LABKIT_PUBLIC_HOSTS``.
    """

    #: What clients should speak: plain ``"text"`` messages, or a named protocol
    #: such as the chat room's ``"chat"`` (:class:`~labkit.widgets.ChatPanel` reads it).
    wire_protocol = "text"

    def __init__(
        self,
        name: str = "app",
        *,
        max_size: int = MAX_SIZE,
        origins: OriginRule = "same-host",
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float = 10.0,
        close_timeout: float = 5.0,
        max_buffer: int = MAX_BUFFER,
        max_queue: int = 16,
        compression: str | None = None,
        log_limit: int | None = LINE_LIMIT,
        public_hosts: Iterable[str] = (),
    ) -> None:
        self.name = name
        #: The secret first segment of this server's URLs under a public Host
        #: (through a proxy); a replacement started by labkit.start keeps it.
        self.secret = secrets.token_urlsafe(12)
        self._public_hosts = frozenset(public_hosts)
        self.max_size = max_size
        self.origins: frozenset[str] | None = allowed_origins(origins)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self.max_buffer = max_buffer
        self.max_queue = max_queue
        self.compression = compression
        self.log_limit = check_limit(log_limit)
        self.logger = logging.getLogger(f"labkit.app.{name}")
        self._router = Router()
        self._hooks: list[Hook] = []
        self._pages: dict[str, HttpHandler] = {}
        self._open: dict[ServerConnection, Context] = {}
        self._ids = itertools.count(1)
        self._server: Server | None = None
        self._fanout = Fanout(max_buffer)
        self._policy = RequestPolicy(self.origins)

    # --- building the app ---------------------------------------------------

    def use(self, middleware: Middleware) -> Middleware:
        """Append a middleware (``async def mw(ctx, next)``); usable as a decorator."""
        check_middleware(middleware)
        self._router.add(middleware)
        return middleware

    def route(self, pattern: str) -> Callable[[Middleware], Middleware]:
        """Decorate a middleware that runs only for paths matching ``pattern``.

        Once an app has routes, a handshake for a path that matches none of
        them is refused with 404 before the handshake completes.
        """
        route = Route(pattern)

        def register(middleware: Middleware) -> Middleware:
            check_middleware(middleware)
            self._router.add(middleware, route)
            return middleware

        return register

    def before_handshake(self, hook: Hook) -> Hook:
        """Add a hook that runs before the handshake completes.

        The hook gets the :class:`Context` (its websocket is not open yet)
        and refuses the connection by raising
        :class:`~labkit.errors.HandshakeRefused` with an HTTP status. What it
        puts in ``ctx.state`` is still there for the middleware.
        """
        check_hook(hook)
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
        # The Host and Origin rules of labkit.protocol.policy, for this bind address.
        self._policy = RequestPolicy.for_server(host, self.origins).with_public_hosts(
            self._public_hosts
        )
        self._server = await serve(
            self._handle,
            host,
            port,
            process_request=self._process_request,
            create_connection=FastConnection,
            compression="deflate" if self.compression == "deflate" else None,
            max_size=self.max_size,
            max_queue=self.max_queue,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            open_timeout=self.open_timeout,
            close_timeout=self.close_timeout,
            server_header="labkit",
            logger=self._wire_logger(),
        )
        return self._server

    def _wire_logger(self) -> logging.Logger:
        """websockets' own logger for this app; its "connection open/closed" lines at
        INFO read like failures to a teacher watching a room, so they start at WARNING
        (``logging.getLogger("labkit.app.NAME.wire").setLevel(logging.INFO)`` brings them back).
        """
        wire = self.logger.getChild("wire")
        if wire.level == logging.NOTSET:
            wire.setLevel(logging.WARNING)
        return wire

    def allow_public_hosts(self, hosts: Iterable[str]) -> None:
        """Also answer to ``hosts`` (under the secret path); safe from any thread."""
        self._public_hosts |= frozenset(hosts)
        self._policy = self._policy.with_public_hosts(self._public_hosts)

    @property
    def secret_path(self) -> str:
        """``/SECRET/``: the prefix of this server's URLs under a public name."""
        return f"/{self.secret}/"

    def _unprefixed(self, host: str, path: str) -> str:
        """``path`` without the secret prefix; refuse a public Host that lacks it (403)."""
        prefix = f"/{self.secret}"
        if path == prefix or path.startswith(prefix + "/"):
            return path[len(prefix) :] or "/"
        if self._policy.is_public(host):
            raise HandshakeError(
                N_(
                    "{host} reaches this server through a proxy: use the link "
                    "the notebook shows, which carries the server's secret path"
                ),
                header="Host",
                status=403,
                host=host_name_of(host),
            )
        return path

    def _refuse(self, status: int, text: str, **headers: str) -> Response:
        response = HttpResponse(status, text.rstrip("\n") + "\n").to_response()
        for key, value in headers.items():
            response.headers[key.replace("_", "-")] = value
        return response

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        """Answer plain HTTP, check Host, version, Origin and route, then run the hooks.

        The checks are :mod:`labkit.protocol`'s (section 4.2.1 and 10.2); the
        :class:`~labkit.errors.HandshakeError` a check raises carries the
        status to answer with.
        """
        try:
            return await self._check_request(connection, request)
        except MultipleValuesError as exc:  # e.g. two Origin headers: ambiguous, so no
            return self._refuse(400, f"Duplicate header: {exc}.")
        except HandshakeError as refused:
            if refused.status == 403:
                self.logger.info(_("refused: %s"), refused)
            extra = {"Sec_WebSocket_Version": "13"} if refused.status == 426 else {}
            # The body goes on the wire: English, whatever the kit speaks (the log line is not).
            return self._refuse(refused.status, f"{refused.english}.", **extra)

    async def _check_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        host = self._policy.check_host(request.headers.get("Host"))
        split = urlsplit(request.path)
        path = self._unprefixed(host, split.path or "/")
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            page = self._pages.get(path)
            if page is not None and request.method == "GET":
                return await self._page(page, request)
            if not self._router.accepts(path):
                return self._refuse(404, f"Not found: {path}")
            return None  # websockets answers 426 Upgrade Required (or 405)
        version = request.headers.get("Sec-WebSocket-Version")
        if version is not None:  # a missing one is websockets' 400
            check_version(version)
        self._policy.check_origin(request.headers.get("Origin"), host)
        if not self._router.accepts(path):
            return self._refuse(404, f"No WebSocket route for {path}")
        ctx = Context(
            websocket=connection,
            path=path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=request.headers,
            app=self,
            id=next(self._ids),
            remote=remote_address(connection),
        )
        for hook in self._hooks:
            try:
                result = hook(ctx)
                if inspect.isawaitable(result):
                    await result
            except HandshakeRefused as refused:
                ctx.log.info(_("handshake refused: %s"), refused)
                ctx.log.flush()  # the connection ends here: its count of held-back lines
                return self._refuse(refused.status, refused.reason or phrase(refused.status))
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
            # The path only: a query may carry Jupyter's ?token= (never logged).
            self.logger.exception(_("HTTP handler for %s failed"), urlsplit(request.path).path)
            return self._refuse(500, "Internal server error (see the server log).")
        if isinstance(result, HttpResponse):
            return result.to_response()
        if isinstance(result, str):
            return HttpResponse(200, result, "text/html; charset=utf-8").to_response()
        return HttpResponse(200, bytes(result), "application/octet-stream").to_response()

    async def _handle(self, connection: ServerConnection) -> None:
        """Run the middleware chain for one connection."""
        ctx = getattr(connection, "labkit_context", None)
        if ctx is None:  # pragma: no cover - _process_request always sets it
            raise RuntimeError("connection without a context")
        self._open[connection] = ctx
        try:
            await self._router.dispatch(ctx)
        except ConnectionClosed:
            pass  # the client went away; that ends its chain normally
        except Exception:
            ctx.log.exception(_("middleware failed; closing the connection with 1011"))
            await connection.close(1011, "internal server error")
        finally:
            del self._open[connection]
            ctx.log.flush()  # the count of lines held back, if any

    # --- sending to many -----------------------------------------------------

    def broadcast(
        self,
        message: str | bytes,
        *,
        to: Iterable[Context] | None = None,
        exclude: Context | Iterable[Context] | None = None,
    ) -> int:
        """Send ``message`` to many clients at once; return how many got it.

        The frame is built once and each receiver's frames of one event-loop
        turn leave in one write (:class:`~labkit.fanout.Fanout`). A receiver
        with more than ``max_buffer`` bytes still unsent is too slow: it is
        disconnected rather than let the server's memory grow.

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
        targets = self._open.values() if to is None else to
        return self._fanout.send(loop, message, targets, exclude)


async def _call(fn: Callable[..., int], *args: Any, **kwargs: Any) -> int:
    return fn(*args, **kwargs)


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
