"""Reference solutions for lesson 2: echo and middleware on :class:`labkit.App`.

Each is written as the notebook's exercise cell has it (``async def
my_echo(ctx, next):``, no annotations, ``ctx.websocket.send`` as the lesson
teaches), so that ``ex.solution.echo()`` shows code that runs when pasted in
place of that cell's placeholder.
"""

from __future__ import annotations

from labkit.errors import HandshakeRefused

__all__ = ["TOKEN", "count_messages", "echo", "require_token"]

#: The token ``require_token`` accepts (``ws://host:port/?token=open-sesame``).
TOKEN = "open-sesame"


async def echo(ctx, next):
    """Send every message back as it came: text as text, binary as binary."""
    async for message in ctx.websocket:  # one turn per message, until the client leaves
        await ctx.websocket.send(message)  # str -> text frame, bytes -> binary frame
    await next()


async def count_messages(ctx, next):
    """Answer each message with "#<n>: <message>", n counting this connection's messages."""
    ctx.state["count"] = 0  # ctx.state belongs to this connection only
    async for message in ctx.websocket:
        ctx.state["count"] += 1  # the first message is #1
        await ctx.websocket.send(f"#{ctx.state['count']}: {message}")
    await next()


def require_token(ctx):
    """Refuse the handshake with 401 unless the URL carries ?token=TOKEN."""
    if ctx.query.get("token") != TOKEN:  # .get: a missing token is None, not a KeyError
        raise HandshakeRefused(401, "missing or wrong token")
