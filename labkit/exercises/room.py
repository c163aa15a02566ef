"""A tiny chat room that runs on the learner's three functions, for the live check.

It speaks the kit's chat protocol, reduced to what lesson 3 needs. Every message
is a text frame holding one JSON object (RFC 6455, section 5.6)::

    client -> server   {"type": "join", "name": N}
                       {"type": "message", "text": T}
    server -> joiner   {"type": "welcome", "name": N, "users": [...]}
                       {"type": "error", "code": "name_taken" | "bad_request", "message": ...}
    server -> others   {"type": "join", "name": N, "count": C}
                       {"type": "message", "from": N, "text": T, "ts": UNIX_SECONDS}
                       {"type": "leave", "name": N, "count": C}

The room keeps no logic of its own: who is in the room is the list the
learner's ``on_join`` / ``on_leave`` keep, who gets a message is what the
learner's ``recipients`` says, and the ``count`` it announces is the length of
that list. So a mistake in any of the three shows on the wire.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ..app import App, Context, Next
from .live import Probe, exercise_app

__all__ = ["Room"]


class Room:
    """The room's state and its app.

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

    def _announce(self, sender: str, event: dict[str, Any]) -> None:
        """Send ``event`` to whoever the learner's ``recipients`` names."""
        names = self.probe.call(self.recipients, sender, list(self.users))
        targets = [self._sockets[name] for name in names if name in self._sockets]
        self.app.broadcast(json.dumps(event), to=targets)

    async def _serve(self, ctx: Context, next: Next) -> None:
        name: str | None = None
        try:
            async for raw in ctx.websocket:
                try:
                    request = json.loads(raw) if isinstance(raw, str) else None
                except ValueError:
                    request = None
                kind = request.get("type") if isinstance(request, dict) else None
                if kind == "join" and name is None and isinstance(request, dict):
                    wanted = request.get("name")
                    if not isinstance(wanted, str) or not wanted:
                        await _error(ctx, "bad_request", "a join needs a name")
                    elif not self.probe.call(self.on_join, self.users, wanted):
                        await _error(ctx, "name_taken", f"the name {wanted!r} is taken")
                    else:
                        name = wanted
                        self._sockets[name] = ctx
                        await ctx.send(
                            json.dumps({"type": "welcome", "name": name, "users": self.users})
                        )
                        event = {"type": "join", "name": name, "count": len(self.users)}
                        self._announce(name, event)
                elif kind == "message" and name is not None and isinstance(request, dict):
                    text = str(request.get("text", ""))
                    event = {"type": "message", "from": name, "text": text, "ts": time.time()}
                    self._announce(name, event)
                else:
                    await _error(ctx, "bad_request", "send a join first, then messages")
        finally:
            if name is not None:
                # Forget the socket first: a learner's recipients() that still names
                # the leaver must not send to a closed connection.
                self._sockets.pop(name, None)
                self.probe.call(self.on_leave, self.users, name)
                self._announce(name, {"type": "leave", "name": name, "count": len(self.users)})
        await next()


async def _error(ctx: Context, code: str, message: str) -> None:
    await ctx.send(json.dumps({"type": "error", "code": code, "message": message}))
