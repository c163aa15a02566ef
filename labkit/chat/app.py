"""The chat room served over WebSockets: lesson 3 of the tutorial, made solid.

The tutorial's Koa2 chat loops over every client to pass a message on::

    app.ws.use(ctx => {
      ctx.websocket.on('message', msg => {
        app.ws.server.clients.forEach(c => { if (c !== ctx.websocket) c.send(msg); });
      });
    });

Here one middleware feeds each incoming message to a :class:`~labkit.chat.room.Room`
(which knows the protocol and who is who, without any I/O) and performs what
the room answers: a reply to one connection, a broadcast framed once for every
joined connection (:meth:`labkit.app.App.broadcast`), or a close. When the
connection ends, however it ends (a close frame, a vanished TCP peer, a missed
pong), the ``finally`` block takes the user out of the room and tells the
others, so no ghost stays in the user list.

A public message is not echoed to its sender; a private one is (with ``"to"``),
so a client can show what it sent to whom. See :mod:`labkit.chat.room` for
the other rules and the flood limits.

The same port answers ``GET /`` with a self-contained chat page whose
WebSocket connects back to ``/``. The page is sent with a Content Security
Policy that only allows its own inline script and style, as a second line of
defence behind its rule of never parsing user text as HTML.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources
from typing import Any

from websockets.http11 import Request

from labkit.app import App, Context, HttpResponse, Next
from labkit.chat.protocol import HISTORY, MAX_MESSAGE_SIZE
from labkit.chat.room import (
    ABUSE_LIMIT,
    ABUSE_WINDOW,
    BURST,
    RATE,
    TYPING_INTERVAL,
    Action,
    Broadcast,
    Disconnect,
    Reply,
    Room,
)

__all__ = ["ChatApp", "chat_app", "page_html"]


def page_html() -> str:
    """Return the chat page (``labkit/chat/page.html``), read fresh from the package."""
    return resources.files("labkit.chat").joinpath("page.html").read_text("utf-8")


def _csp(html: str) -> str:
    """A Content Security Policy allowing exactly the page's inline script and style."""

    def hashes(tag: str) -> str:
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
        return " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'"
            for b in blocks
        )

    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {hashes('script')}",
            f"style-src {hashes('style')}",
            # CSP level 3: 'self' also covers ws:// and wss:// to the page's own host.
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


class ChatApp(App):
    """An :class:`~labkit.app.App` that serves one chat :class:`~labkit.chat.room.Room`.

    Attributes:
        room: the room's state (``room.users``, ``len(room)``, ``room.history``).
    """

    room: Room[Context]
    #: Tells clients such as :class:`~labkit.widgets.ChatPanel` to speak the room's JSON protocol.
    wire_protocol = "chat"


def chat_app(
    *,
    name: str = "chat",
    history: int = HISTORY,
    rate: float | None = RATE,
    burst: float = BURST,
    abuse_limit: int = ABUSE_LIMIT,
    abuse_window: float = ABUSE_WINDOW,
    typing_interval: float = TYPING_INTERVAL,
    **options: Any,
) -> ChatApp:
    """Build the chat server: serve it with ``labkit.start(chat_app())``.

    What the chat adds to an :class:`~labkit.app.App` is listed here; every
    other keyword (``origins``, ``ping_interval``, ``ping_timeout``,
    ``close_timeout``, ``open_timeout``, ``max_queue``, ``max_buffer``,
    ``compression``, ``log_limit``...) goes to :class:`~labkit.app.App`
    unchanged, with its defaults and meaning there. By default ``origins``
    accepts the chat page served by this same server, and keepalive pings
    (RFC 6455, section 5.5.2) notice a client that vanished without a close frame.

    Args:
        name: the name :func:`labkit.start` keeps the server under.
        history: how many recent public messages a newcomer receives.
        rate: frames per second one connection may send on average;
            ``None`` switches flood control off (for a load test).
        burst: frames a quiet connection may send at once.
        abuse_limit: refused frames tolerated within ``abuse_window`` seconds;
            one more closes the connection with 1008 (RFC 6455, section 7.4.1).
        abuse_window: seconds over which refused frames are counted.
        typing_interval: seconds between two typing notices forwarded per user.
        **options: passed to :class:`~labkit.app.App`. Only ``max_size`` has a
            default of the chat's own: :data:`~labkit.chat.protocol.MAX_MESSAGE_SIZE`
            (64 KiB, not App's 1 MiB); bigger messages close with 1009.

    Returns:
        The app, with its :class:`~labkit.chat.room.Room` as ``app.room``.
    """
    options.setdefault("max_size", MAX_MESSAGE_SIZE)
    app = ChatApp(name, **options)
    room: Room[Context] = Room(
        history=history,
        rate=rate,
        burst=burst,
        abuse_limit=abuse_limit,
        abuse_window=abuse_window,
        typing_interval=typing_interval,
    )
    app.room = room
    html = page_html()
    headers = (("Content-Security-Policy", _csp(html)), ("Referrer-Policy", "no-referrer"))

    @app.http("/")
    def page(request: Request) -> HttpResponse:
        return HttpResponse(200, html, "text/html; charset=utf-8", headers)

    def leave(ctx: Context) -> None:
        """Take ``ctx`` out of the room and tell the others (idempotent)."""
        for action in room.disconnect(ctx):
            if isinstance(action, Broadcast):
                app.broadcast(action.text, to=room.connections, exclude=action.exclude)

    async def perform(ctx: Context, actions: list[Action[Context]]) -> bool:
        """Do what the room asked; return ``False`` once ``ctx`` must stop reading."""
        for action in actions:
            if isinstance(action, Broadcast):
                app.broadcast(action.text, to=room.connections, exclude=action.exclude)
            elif isinstance(action, Reply):
                if action.conn is ctx:
                    # Awaited: a sender that does not read its answers slows
                    # down its own loop, nobody else's.
                    await ctx.send(action.text)
                else:
                    # Never wait for another user's socket: it may be slow.
                    app.broadcast(action.text, to=(action.conn,))
            elif isinstance(action, Disconnect):
                ctx.log.info("closing with %d: %s", action.code, action.reason)
                # Out of the room first: a flooder's answering close frame sits
                # behind the frames it already sent, which are left unread (TCP
                # pushes back on it), so the close can take close_timeout.
                leave(action.conn)
                await action.conn.websocket.close(action.code, action.reason)
                return False
        return True

    @app.use
    async def chat(ctx: Context, next: Next) -> None:
        room.connect(ctx)
        try:
            async for frame in ctx.websocket:
                if not await perform(ctx, room.handle(ctx, frame)):
                    break
        finally:
            # Runs for every ending: close frame, reset socket, ping timeout,
            # server shutdown. Leave notices are broadcasts, never awaited.
            leave(ctx)
        await next()

    return app
