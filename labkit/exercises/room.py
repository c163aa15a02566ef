"""A tiny chat room that runs on the learner's three functions, for the live check.

It speaks the kit's chat protocol (:mod:`labkit.chat.protocol`, whose docstring
shows the JSON), reduced to what lesson 3 needs. It reads frames with the
protocol's ``parse`` and sends the protocol's events::

    client -> server   Join(name), Say(text)
    server -> joiner   Welcome(name, users) (no history), ErrorNotice(code, message)
    server -> others   Joined(name, count), Said(sender, text, ts), Left(name, count)

Its error codes are the kit room's :class:`~labkit.chat.protocol.ErrorCode`:
``bad_json``, ``bad_name`` (also for a second join), ``too_long``,
``name_taken`` (when ``on_join`` says no), ``not_joined`` (a message before the
join), and ``unknown_type``, also for what the kit's room knows but this one
leaves out: typing notices and private messages.

The room keeps no logic of its own: who is in the room is the list the
learner's ``on_join`` / ``on_leave`` keep, who gets a message is what the
learner's ``recipients`` says, and the ``count`` it announces is the length of
that list. So a mistake in any of the three shows on the wire.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..app import App, Context, Next
from ..chat.protocol import (
    ChatError,
    ErrorCode,
    Join,
    Joined,
    Left,
    Said,
    Say,
    ServerEvent,
    Welcome,
    parse,
)
from .live import Probe, exercise_app

__all__ = ["PracticeRoom"]


class PracticeRoom:
    """The practice room's state and its app.

    Args:
        probe: records what the learner's functions raise, counts finished connections.
        recipients: ``recipients(sender, members) -> list`` (the learner's).
        on_join: ``on_join(users, name) -> bool`` (the learner's).
        on_leave: ``on_leave(users, name) -> None`` (the learner's).

    Attributes:
        users: the user list, kept by ``on_join`` and ``on_leave`` alone.
        app: the app to start with :func:`labkit.start`.
    """

    def __init__(
        self,
        probe: Probe,
        recipients: Callable[[str, list[str]], Any],
        on_join: Callable[[list[str], str], Any],
        on_leave: Callable[[list[str], str], Any],
    ) -> None:
        self.probe = probe
        self.recipients = recipients
        self.on_join = on_join
        self.on_leave = on_leave
        self.users: list[str] = []
        self._sockets: dict[str, Context] = {}
        self.app: App = exercise_app("chat-room")
        self.app.use(probe.middleware(self._serve))

    def _announce(self, sender: str, event: ServerEvent) -> None:
        """Send ``event`` to whoever the learner's ``recipients`` names."""
        names = self.probe.call(self.recipients, sender, list(self.users))
        targets = [self._sockets[name] for name in names if name in self._sockets]
        self.app.broadcast(event.encode(), to=targets)

    def _join(self, ctx: Context, name: str | None, join: Join) -> str:
        """Let the learner's ``on_join`` decide; return the name ``ctx`` now has."""
        if name is not None:
            raise ChatError(ErrorCode.BAD_NAME, f"already joined as {name}")
        if not self.probe.call(self.on_join, self.users, join.name):
            raise ChatError(ErrorCode.NAME_TAKEN, f"the name {join.name!r} is taken")
        self._sockets[join.name] = ctx
        return join.name

    async def _serve(self, ctx: Context, next: Next) -> None:
        name: str | None = None
        try:
            async for frame in ctx.websocket:
                try:
                    request = parse(frame)
                    if isinstance(request, Join):
                        name = self._join(ctx, name, request)
                        await ctx.send(Welcome(name, tuple(self.users)).encode())
                        self._announce(name, Joined(name, len(self.users)))
                    elif name is None:
                        raise ChatError(ErrorCode.NOT_JOINED, "send a join first, then messages")
                    elif isinstance(request, Say) and request.to is None:
                        self._announce(name, Said(name, request.text, time.time()))
                    else:
                        raise ChatError(
                            ErrorCode.UNKNOWN_TYPE,
                            "this practice room speaks join and public messages only",
                        )
                except ChatError as refused:
                    await ctx.send(refused.encode())
        finally:
            if name is not None:
                # Forget the socket first: a learner's recipients() that still names
                # the leaver must not send to a closed connection.
                self._sockets.pop(name, None)
                self.probe.call(self.on_leave, self.users, name)
                self._announce(name, Left(name, len(self.users)))
        await next()
