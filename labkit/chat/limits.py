"""Flood control of one chat connection, without any I/O: a token bucket and its defaults.

Every incoming frame costs one token of a per-connection :class:`RateLimiter`
(by default :data:`RATE` frames per second, bursts of :data:`BURST`); more than
:data:`ABUSE_LIMIT` refused frames within :data:`ABUSE_WINDOW` seconds close the
connection with 1008 (RFC 6455, section 7.4.1). These are per-connection
decisions: with rooms shared across processes (:mod:`labkit.chat.redis`) they
stay in the process that holds the connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from labkit.i18n import _

__all__ = ["ABUSE_LIMIT", "ABUSE_WINDOW", "BURST", "RATE", "TYPING_INTERVAL", "RateLimiter"]

RATE = 20.0
"""Frames per second a connection may send, on average."""

BURST = 40
"""Frames a connection may send at once after being quiet (the bucket's size)."""

ABUSE_LIMIT = 200
"""Refused (``rate_limited``) frames tolerated within :data:`ABUSE_WINDOW`; one more closes."""

ABUSE_WINDOW = 10.0
"""Seconds over which refused frames are counted."""

TYPING_INTERVAL = 1.0
"""Seconds between two typing notices forwarded for the same user."""


class RateLimiter:
    """A token bucket: ``burst`` tokens, refilled at ``rate`` tokens per second.

    Each :meth:`take` spends one token if there is one. The bucket refills
    lazily from the clock, so an idle connection costs nothing.

    Args:
        rate: tokens added per second.
        burst: the bucket's capacity, and its content at the start.
        clock: a monotonic clock in seconds (injectable for tests).
    """

    __slots__ = ("_clock", "_last", "_tokens", "burst", "rate")

    def __init__(
        self,
        rate: float = RATE,
        burst: float = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(_("a rate limiter needs rate > 0 and burst >= 1"))
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = self.burst
        self._last = clock()

    @property
    def tokens(self) -> float:
        """Tokens available right now."""
        now = self._clock()
        return min(self.burst, self._tokens + (now - self._last) * self.rate)

    def take(self) -> bool:
        """Spend one token; return ``False`` (and spend nothing) when the bucket is empty."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
