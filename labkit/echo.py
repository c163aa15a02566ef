"""The tutorial's first server: log each connection and echo every message back.

The Koa2 original (koa-websocket) logs "WebSocket 连接已建立" (connection
established) and "接收到消息:" (message received), then sends the message back.
Here text comes back as text and binary as binary (RFC 6455, section 5.6).
"""

from __future__ import annotations

from .app import App, Context, Next

__all__ = ["echo_app", "preview"]


def preview(message: str | bytes, limit: int = 80) -> str:
    """A short, printable view of a message for logs (binary shown as its size)."""
    if isinstance(message, str):  # the common case first: an echo logs every message
        return repr(message if len(message) <= limit else message[:limit] + "…")
    return f"<{len(message)} bytes of binary>"


def echo_app(name: str = "echo", **options: object) -> App:
    """Build the echo app; ``options`` go to :class:`~labkit.app.App`."""
    app = App(name, **options)  # type: ignore[arg-type]

    @app.use
    async def echo(ctx: Context, next: Next) -> None:
        ctx.log.info("connection established")
        async for message in ctx.websocket:
            ctx.log.info("received message: %s", preview(message))
            await ctx.websocket.send(message)
        await next()

    return app
