"""Koa's onion, with routes: the middleware chain of an :class:`~labkit.app.App`.

Middleware run in the order they were added; each gets ``next`` to call the
rest of the chain, and code after ``await next()`` runs on the way back out
(koa-compose). A middleware added with a route runs only for the paths its
pattern matches; for other paths the chain goes on past it. The chain is kept
once, here: whether a path has any route is asked of the same list the
dispatch walks.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

__all__ = ["Middleware", "Next", "Route", "Routed", "Router"]


class Routed(Protocol):
    """What the router reads and writes of a connection's context (an App's ``ctx``)."""

    path: str
    params: dict[str, str]


Next = Callable[[], Awaitable[None]]
#: ``async def mw(ctx, next)``; ``ctx`` is the App's :class:`~labkit.app.Context`.
Middleware = Callable[[Any, Next], Awaitable[None]]


class Route:
    """A path pattern such as ``/rooms/{room}``; each ``{name}`` matches one segment."""

    _PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

    def __init__(self, pattern: str) -> None:
        if not pattern.startswith("/"):
            raise ValueError(f"route patterns start with '/': {pattern!r}")
        self.pattern = pattern
        regex, last = "", 0
        for match in self._PARAM.finditer(pattern):
            regex += re.escape(pattern[last : match.start()]) + f"(?P<{match.group(1)}>[^/]+)"
            last = match.end()
        regex += re.escape(pattern[last:])
        self._regex = re.compile(f"^{regex}/?$")

    def match(self, path: str) -> dict[str, str] | None:
        """Return the captured parameters, or ``None`` when ``path`` does not match."""
        found = self._regex.match(path)
        return None if found is None else found.groupdict()

    def __repr__(self) -> str:
        return f"Route({self.pattern!r})"


class Router:
    """The chain of middleware, each with the route it is limited to (or none)."""

    def __init__(self) -> None:
        self._chain: list[tuple[Route | None, Middleware]] = []

    def add(self, middleware: Middleware, route: Route | None = None) -> None:
        """Append ``middleware``; with ``route``, it runs only for matching paths."""
        self._chain.append((route, middleware))

    @property
    def routes(self) -> list[Route]:
        """The routes, in the order they were added."""
        return [route for route, _ in self._chain if route is not None]

    def accepts(self, path: str) -> bool:
        """May a WebSocket open at ``path``? Any path, until a route is added."""
        routes = self.routes
        return not routes or any(route.match(path) is not None for route in routes)

    async def dispatch(self, ctx: Routed, index: int = 0) -> None:
        """koa-compose: call the ``index``-th middleware with a ``next`` for the rest."""
        chain = self._chain
        while index < len(chain):
            route, middleware = chain[index]
            if route is None:
                break
            params = route.match(ctx.path)
            if params is not None:
                ctx.params.update(params)
                break
            index += 1  # not this path: on to the next one, as if it called next()
        else:
            return
        called = False
        after = index + 1

        async def next_() -> None:
            nonlocal called
            if called:
                raise RuntimeError("next() called more than once in one middleware")
            called = True
            await self.dispatch(ctx, after)

        await middleware(ctx, next_)
