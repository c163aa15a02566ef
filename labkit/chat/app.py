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

Rooms by path: ``/`` is the main room and ``/rooms/NAME`` a room of its own,
with its own names, history and counts (:func:`~labkit.chat.ledger.room_of`).
A room is opened by the first handshake for it and dropped when its last
connection ends; past ``max_rooms`` a handshake is refused with ``503`` (RFC
6455, section 4.2.2: before the ``101``), and a path that names no room with ``404``.
Where the rooms' shared state lives is the backplane's business
(:mod:`labkit.chat.backplane`): this process (the default), or Redis
(``redis="redis://..."``, :mod:`labkit.chat.redis`), so that several server
processes serve the same rooms.

The same port answers ``GET /`` (and ``GET /rooms/NAME``) with a self-contained
chat page whose WebSocket connects back to the page's own path. The page is
sent with a Content Security Policy that only allows its own inline script
and style, as a second line of defence behind its rule of never parsing user
text as HTML. It speaks English and Chinese: every language's texts come with
it in a JSON data block (:mod:`labkit.chat.page_text`), the request's
``Accept-Language`` picks the default, and a switch on the page changes it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from websockets.asyncio.server import Server
from websockets.http11 import Request

from labkit.app import App, Context, HttpResponse, Next
from labkit.chat.backplane import Backplane, LocalBackplane
from labkit.chat.ledger import MAIN_ROOM, MAX_ROOMS, ROOM_PREFIX, ROOM_RULE, room_of
from labkit.chat.limits import ABUSE_LIMIT, ABUSE_WINDOW, BURST, RATE, TYPING_INTERVAL
from labkit.chat.page_text import choose_language, render
from labkit.chat.protocol import HISTORY, MAX_MESSAGE_SIZE, shown
from labkit.chat.room import Action, Broadcast, Disconnect, Reply, Room, Submit
from labkit.errors import HandshakeRefused

from ..i18n import LANGUAGES, _, get_language

__all__ = ["ChatApp", "chat_app", "page_html"]


def page_html(language: str | None = None) -> str:
    """Return the chat page as it is served, read fresh from the package.

    ``labkit/chat/page.html`` with its data block filled with every language's
    texts (:func:`labkit.chat.page_text.render`); ``language`` is the default
    the page falls back to (``"en"``, ``"zh-CN"``), the kit's current one if ``None``.
    """
    html = resources.files("labkit.chat").joinpath("page.html").read_text("utf-8")
    return render(html, language or get_language())


def _csp(html: str) -> str:
    """A Content Security Policy allowing exactly the page's inline script and style.

    Only a bare ``<script>`` is code, and hashed; the texts' JSON data block
    (``<script id="labkit-text" type="application/json">``) is never run, so
    it needs no hash and may differ from one request to the next.
    """

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
    """An :class:`~labkit.app.App` that serves chat rooms by path.

    Attributes:
        room: the main room's state (``room.users``, ``len(room)``, ``room.history``).
        plane: the :class:`~labkit.chat.backplane.Backplane` that holds the rooms.
    """

    room: Room[Context]
    plane: Backplane
    #: Performs actions that come from the room's log, never waiting for a socket.
    deliver: Callable[[Room[Context], list[Action[Context]]], None]
    #: Tells clients such as :class:`~labkit.widgets.ChatPanel` to speak the room's JSON protocol.
    wire_protocol = "chat"

    @property
    def rooms(self) -> Any:
        """The rooms open in this process, by id (``"/"``, ``"/rooms/lobby"``...)."""
        return self.plane.rooms

    async def open(self, host: str, port: int) -> Any:
        """Start the backplane, then serve; closing the server stops both."""
        await self.plane.start(self.deliver)
        try:
            server = await super().open(host, port)
        except BaseException:
            await self.plane.close()
            raise
        return _Serving(server, self.plane)


class _Serving:
    """The websockets server, whose close also stops the backplane (once connections ended)."""

    def __init__(self, server: Server, plane: Backplane) -> None:
        self._server = server
        self._plane = plane

    @property
    def sockets(self) -> Iterable[Any]:
        return self._server.sockets

    def close(self) -> None:
        self._server.close()

    async def wait_closed(self) -> None:
        await self._server.wait_closed()
        await self._plane.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class _Pages(dict[str, Any]):
    """The App's ``GET`` pages, plus the chat page at every ``/rooms/NAME``.

    :meth:`labkit.app.App.http` routes are exact paths; a room's page is one
    page for any valid room name (and a 404 for a path that names none).
    """

    def __init__(self, pages: dict[str, Any], room_page: Callable[[Request], HttpResponse]):
        super().__init__(pages)
        self._room_page = room_page

    def get(self, path: str, default: Any = None) -> Any:
        page = super().get(path)
        if page is None and path.startswith(ROOM_PREFIX):
            if room_of(path) is None:
                return lambda request: HttpResponse(404, f"Not a chat room: {ROOM_RULE}.\n")
            return self._room_page
        return default if page is None else page


def chat_app(
    *,
    name: str = "chat",
    history: int = HISTORY,
    rate: float | None = RATE,
    burst: float = BURST,
    abuse_limit: int = ABUSE_LIMIT,
    abuse_window: float = ABUSE_WINDOW,
    typing_interval: float = TYPING_INTERVAL,
    max_rooms: int = MAX_ROOMS,
    redis: str | None = None,
    presence_timeout: float | None = None,
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
        max_rooms: rooms under ``/rooms/`` open at once (the main room aside);
            one more is refused with 503 (counted over every process with ``redis``).
        redis: ``redis://host:port/db``: keep the rooms in Redis, so that every
            process started with the same URL serves the same rooms (needs
            ``pip install 'labkit[redis]'``); ``None``: in this process only.
        presence_timeout: with ``redis``, seconds within which the users of a
            process that died without a goodbye leave the others' lists
            (default 15, down to about 1).
        **options: passed to :class:`~labkit.app.App`. Only ``max_size`` has a
            default of the chat's own: :data:`~labkit.chat.protocol.MAX_MESSAGE_SIZE`
            (64 KiB, not App's 1 MiB); bigger messages close with 1009.

    Returns:
        The app, with its main :class:`~labkit.chat.room.Room` as ``app.room``
        and every open room in ``app.rooms``.
    """
    options.setdefault("max_size", MAX_MESSAGE_SIZE)
    app = ChatApp(name, **options)

    def log_presence(kind: str, name: str, count: int) -> None:
        # What a teacher watches: names and counts, not page loads.
        if kind == "joined":
            app.logger.info(_("%s joined the room (%d in the room)"), name, count)
        else:
            app.logger.info(_("%s left the room (%d in the room)"), name, count)

    def make_room(shared: bool, owner: str) -> Room[Context]:
        room = Room(
            history=history,
            rate=rate,
            burst=burst,
            abuse_limit=abuse_limit,
            abuse_window=abuse_window,
            typing_interval=typing_interval,
            shared=shared,
            owner=owner,
        )
        room.on_presence = log_presence
        return room

    make_room(False, "")  # a bad rate or burst fails here, not on connect
    # A room opened for a handshake is kept this long, until its middleware runs.
    hold = app.open_timeout + 1.0
    plane: Backplane
    if redis is None:
        if presence_timeout is not None:
            raise TypeError("presence_timeout only applies with redis=...")
        plane = LocalBackplane(make_room, max_rooms=max_rooms, hold=hold)
    else:
        plane = _redis_backplane(redis, make_room, max_rooms, hold, history, presence_timeout)
    app.plane, app.room = plane, plane.main
    # One page per default language; the policy's hashes are the same for each.
    pages: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    for language in LANGUAGES:
        html = page_html(language)
        pages[language] = (
            html,
            (
                ("Content-Security-Policy", _csp(html)),
                ("Referrer-Policy", "no-referrer"),
                ("Vary", "Accept-Language"),
            ),
        )

    def page(request: Request) -> HttpResponse:
        html, headers = pages[choose_language(request.headers.get("Accept-Language"))]
        return HttpResponse(200, html, "text/html; charset=utf-8", headers)

    app.http("/")(page)
    # App routes pages by exact path; rooms need one page for many paths.
    app._pages = _Pages(app._pages, page)

    @app.before_handshake
    async def admit(ctx: Context) -> None:
        room_id = room_of(ctx.path)
        if room_id is None:
            raise HandshakeRefused(404, f"Not a chat room: {shown(ctx.path)}; {ROOM_RULE}")
        ctx.state[_ROOM] = (room_id, await plane.open(room_id))

    def leave(ctx: Context) -> None:
        """Take ``ctx`` out of its room and tell the others (idempotent)."""
        room_id, room = ctx.state.get(_ROOM, (MAIN_ROOM, plane.main))
        for action in room.disconnect(ctx):
            if isinstance(action, Broadcast):
                app.broadcast(action.text, to=room.connections, exclude=action.exclude)
            elif isinstance(action, Submit):
                plane.submit(room_id, room, ctx, action.event)
        plane.release(room_id)

    closing: set[asyncio.Task[None]] = set()

    def deliver(room: Room[Context], actions: list[Action[Context]]) -> None:
        for action in actions:
            if isinstance(action, Broadcast):
                app.broadcast(action.text, to=room.connections, exclude=action.exclude)
            elif isinstance(action, Reply):
                app.broadcast(action.text, to=(action.conn,))
            elif isinstance(action, Disconnect):
                leave(action.conn)
                ws = action.conn.websocket
                task = asyncio.ensure_future(ws.close(action.code, action.reason))
                closing.add(task)
                task.add_done_callback(closing.discard)

    app.deliver = deliver

    async def perform(
        ctx: Context, room_id: str, room: Room[Context], actions: list[Action[Context]]
    ) -> bool:
        """Do what the room asked; return ``False`` once ``ctx`` must stop reading."""
        for action in actions:
            if isinstance(action, Broadcast):
                app.broadcast(action.text, to=room.connections, exclude=action.exclude)
            elif isinstance(action, Submit):
                # Never waits: the outcome comes back through deliver().
                plane.submit(room_id, room, ctx, action.event)
            elif isinstance(action, Reply):
                if action.conn is ctx:
                    # Awaited: a sender that does not read its answers slows
                    # down its own loop, nobody else's.
                    await ctx.send(action.text)
                else:
                    # Never wait for another user's socket: it may be slow.
                    app.broadcast(action.text, to=(action.conn,))
            elif isinstance(action, Disconnect):
                ctx.log.info(_("closing with %d: %s"), action.code, action.reason)
                # Out of the room first: a flooder's answering close frame sits
                # behind the frames it already sent, which are left unread (TCP
                # pushes back on it), so the close can take close_timeout.
                leave(action.conn)
                await action.conn.websocket.close(action.code, action.reason)
                return False
        return True

    @app.use
    async def chat(ctx: Context, next: Next) -> None:
        room_id, room = ctx.state.get(_ROOM, (MAIN_ROOM, plane.main))
        room.connect(ctx)
        try:
            async for frame in ctx.websocket:
                if not await perform(ctx, room_id, room, room.handle(ctx, frame)):
                    break
        finally:
            # Runs for every ending: close frame, reset socket, ping timeout,
            # server shutdown. Leave notices are broadcasts, never awaited.
            leave(ctx)
        await next()

    return app


#: Where a connection's room is kept in ``ctx.state``: ``(room id, Room)``.
_ROOM = "labkit.chat.room"


def _redis_backplane(
    url: str,
    make_room: Callable[[bool, str], Room[Any]],
    max_rooms: int,
    hold: float,
    history: int,
    presence_timeout: float | None,
) -> Backplane:
    try:
        from labkit.chat.redis import PRESENCE_TIMEOUT, RedisBackplane
    except ImportError as exc:  # the optional extra is not installed
        raise ImportError(
            f"chat_app(redis=...) needs redis-py >= 8: pip install 'labkit[redis]' ({exc})"
        ) from exc
    return RedisBackplane(
        url,
        make_room,
        max_rooms=max_rooms,
        hold=hold,
        history=history,
        presence_timeout=PRESENCE_TIMEOUT if presence_timeout is None else presence_timeout,
    )
