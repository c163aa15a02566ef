"""Reference solutions for lesson 2: echo and middleware on :class:`labkit.App`."""

from __future__ import annotations

from labkit.app import Context, Next
from labkit.errors import HandshakeRefused

__all__ = ["TOKEN", "count_messages", "echo", "require_token"]

#: The token ``require_token`` accepts (``ws://host:port/?token=open-sesame``).
TOKEN = "open-sesame"


async def echo(ctx: Context, next: Next) -> None:
    """Send every message back as it came: text as text, binary as binary."""
    async for message in ctx.websocket:  # one turn per message, until the client leaves
        await ctx.websocket.send(message)  # str -> text frame, bytes -> binary frame
    await next()


async def count_messages(ctx: Context, next: Next) -> None:
    """Answer each message with "#<n>: <message>", n counting this connection's messages."""
    ctx.state["count"] = 0  # ctx.state belongs to this connection only
    async for message in ctx.websocket:
        ctx.state["count"] += 1  # the first message is #1
        await ctx.send(f"#{ctx.state['count']}: {message}")
    await next()


def require_token(ctx: Context) -> None:
    """Refuse the handshake with 401 unless the URL carries ?token=TOKEN."""
    if ctx.query.get("token") != TOKEN:  # .get: a missing token is None, not a KeyError
        raise HandshakeRefused(401, "missing or wrong token")
