"""Plain HTTP answers on a WebSocket port: pages, and refused handshakes.

RFC 6455, section 4.2.2: a server that does not accept a handshake answers
with an ordinary HTTP status; :meth:`~labkit.app.App.http` routes answer
plain ``GET`` requests on the same port (the chat page and its WebSocket share
one URL).
"""

from __future__ import annotations

import http
from dataclasses import dataclass

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Response

__all__ = ["HttpResponse", "phrase", "remote_address"]


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
