"""The tutorial's first server: log each connection and echo every message back.

The Koa2 original (koa-websocket) logs "WebSocket 连接已建立" (connection
established) and "接收到消息:" (message received), then sends the message back.
Here text comes back as text and binary as binary (RFC 6455, section 5.6).
The log shows each message as Python writes it (``'hi'``, ``b'\\x00'``), cut
after 80 characters, and at most 20 of them a second per connection (see
:class:`labkit.logs.ConnectionLog`).
"""

from __future__ import annotations

from .app import App, Context, Next
from .i18n import _

__all__ = ["echo_app"]


def echo_app(name: str = "echo", **options: object) -> App:
    """Build the echo app; ``options`` go to :class:`~labkit.app.App`."""
    app = App(name, **options)  # type: ignore[arg-type]

    @app.use
    async def echo(ctx: Context, next: Next) -> None:
        ctx.log.info(_("connection established"))
        async for message in ctx.websocket:
            ctx.log.info(_("received message: %r"), message)  # (long ones are cut)
            await ctx.websocket.send(message)
        await next()

    return app
