"""Koa's onion, with routes: the middleware chain of an :class:`~labkit.app.App`.

Middleware run in the order they were added; each gets ``next`` to call the
rest of the chain, and code after ``await next()`` runs on the way back out
(koa-compose). A middleware added with a route runs only for the paths its
pattern matches; for other paths the chain goes on past it. The chain is kept
once, here: whether a path has any route is asked of the same list the
dispatch walks.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .i18n import _

__all__ = ["Middleware", "Next", "Route", "Routed", "Router", "check_hook", "check_middleware"]


class Routed(Protocol):
    """What the router reads and writes of a connection's context (an App's ``ctx``)."""

    path: str
    params: dict[str, str]


Next = Callable[[], Awaitable[None]]
#: ``async def mw(ctx, next)``; ``ctx`` is the App's :class:`~labkit.app.Context`.
Middleware = Callable[[Any, Next], Awaitable[None]]


def _takes(fn: Any, arity: int) -> bool:
    """Can ``fn`` be called with ``arity`` arguments? (Builtins without a signature can.)"""
    try:
        inspect.signature(fn).bind(*range(arity))
    except TypeError:
        return False
    except ValueError:  # builtins without a signature: let them be
        pass
    return True


def check_middleware(fn: Any) -> None:
    """Fail early, with a hint, on the mistakes learners make most with a middleware."""
    if not callable(fn):
        raise TypeError(
            _("middleware must be a function, got {type}").format(type=type(fn).__name__)
        )
    name = getattr(fn, "__name__", fn)
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(
            _("middleware {name!r} must be defined with `async def {function}(ctx, next):`").format(
                name=name, function=getattr(fn, "__name__", "mw")
            )
        )
    if not _takes(fn, 2):
        raise TypeError(
            _("middleware {name!r} must take 2 argument(s) (ctx, next)").format(name=name)
        )


def check_hook(fn: Any) -> None:
    """The same for a before-handshake hook: a function of one argument, ``ctx``."""
    if not callable(fn):
        raise TypeError(_("hook must be a function, got {type}").format(type=type(fn).__name__))
    if not _takes(fn, 1):
        raise TypeError(
            _("hook {name!r} must take 1 argument(s) (ctx)").format(
                name=getattr(fn, "__name__", fn)
            )
        )


class Route:
    """A path pattern such as ``/rooms/{room}``; each ``{name}`` matches one segment."""

    _PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

    def __init__(self, pattern: str) -> None:
        if not pattern.startswith("/"):
            raise ValueError(
                _("route patterns start with '/': {pattern!r}").format(pattern=pattern)
            )
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
                raise RuntimeError(_("next() called more than once in one middleware"))
            called = True
            await self.dispatch(ctx, after)

        await middleware(ctx, next_)
