"""What a middleware gets: the connection's :class:`Context`, and plain HTTP answers.

Koa hands each middleware a ``ctx``; so does the kit. A :class:`Context` is
made for every handshake before the hooks run (RFC 6455, section 4.2.2: they
may still refuse it), and lives as long as the connection.
"""

from __future__ import annotations

import http
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Response

from .logs import ConnectionLog

if TYPE_CHECKING:
    from .app import App

__all__ = ["Context", "HttpResponse", "phrase", "remote_address"]


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
        app: the :class:`~labkit.app.App` serving this connection.
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
    """A plain HTTP response for :meth:`~labkit.app.App.http` routes."""

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
        return Response(self.status, phrase(self.status), headers, body)


def phrase(status: int) -> str:
    """The reason phrase of ``status``; hooks may use codes HTTPStatus does not name."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Refused" if status >= 400 else "OK"


def remote_address(connection: ServerConnection) -> tuple[str, int] | None:
    """The client's ``(host, port)``, or ``None`` once the transport is gone."""
    try:
        address = connection.remote_address
    except Exception:  # the transport may already be gone
        return None
    return (str(address[0]), int(address[1])) if address else None
