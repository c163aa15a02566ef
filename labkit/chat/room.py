"""The chat room's state, without any I/O.

Theory of operation: the WebSocket layer owns the sockets; the :class:`Room`
owns who is who. For every incoming message the app calls
:meth:`Room.handle`, which returns a list of *actions* (plain values) that say
who gets which event of :mod:`labkit.chat.protocol`, already encoded as JSON text:

* :class:`Reply`: one connection gets ``text`` (an answer, an error, a private message);
* :class:`Broadcast`: every joined connection except ``exclude`` gets ``text``;
* :class:`Disconnect`: close that connection with ``code`` (RFC 6455, section 7.4.1).

The app performs them in order. Because the room never touches a socket, the
tests drive it with strings and a fake clock, and the same room could sit
behind any server.

Cost: every event is encoded once, whatever the room size; the only work that
grows with the number of users is writing the broadcast itself (and the user
list in a newcomer's welcome, which also encodes the at most ``history`` recent
messages afresh). Join and leave notices carry a ``count``, never the list, so a
thousand joins send a thousand short notices, not a million names.

Rules that need the whole room (the protocol module checks the rest):

* Names are unique regardless of case: ``name_key`` (NFKC + casefold) is the key.
  A taken name is ``name_taken``; a second join on a joined connection is
  ``bad_name`` ("already joined as X") because the connection already has one.
* ``message`` and ``typing`` before a good join are ``not_joined``.
* A private message to a name nobody holds is ``unknown_user``. The recipient
  gets the event with ``"to"``, and **the sender gets the same event too**, so
  its page can show what it sent and to whom (a public message is never echoed
  to its sender: the page shows it locally). Private messages are not kept in
  the history; the last :data:`~labkit.chat.protocol.HISTORY` public ones are,
  as :class:`~labkit.chat.protocol.Said` events that each welcome encodes.
* Flood control: every incoming frame costs one token of a per-connection
  :class:`RateLimiter` (by default 20 frames per second, bursts of 40). A frame
  without a token is not even parsed: it gets ``rate_limited``. More than 200
  refused frames within 10 seconds close the connection with 1008 (policy
  violation). Typing notices are forwarded at most once per second per user
  (extra ones are dropped silently, since they only say "still typing"); a
  public message starts the interval afresh, as it ends the typing.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable, KeysView
from dataclasses import dataclass
from typing import Generic, TypeVar

from labkit.chat.protocol import (
    HISTORY,
    JOIN_FIRST,
    ChatError,
    ErrorCode,
    ErrorNotice,
    Join,
    Joined,
    Left,
    Said,
    Say,
    Typing,
    TypingNotice,
    Welcome,
    name_key,
    parse,
    shown,
)
from labkit.protocol.close import CloseCode

__all__ = [
    "ABUSE_LIMIT",
    "ABUSE_WINDOW",
    "BURST",
    "RATE",
    "TYPING_INTERVAL",
    "Action",
    "Broadcast",
    "Disconnect",
    "RateLimiter",
    "Reply",
    "Room",
]

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

C = TypeVar("C", bound=Hashable)
"""A connection: anything hashable (a labkit Context, a websocket, a string in tests)."""


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
            raise ValueError("a rate limiter needs rate > 0 and burst >= 1")
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


# --- actions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply(Generic[C]):
    """Send ``text`` to the connection ``conn`` only."""

    conn: C
    text: str


@dataclass(frozen=True, slots=True)
class Broadcast(Generic[C]):
    """Send ``text`` to every joined connection except ``exclude``."""

    text: str
    exclude: C | None = None


@dataclass(frozen=True, slots=True)
class Disconnect(Generic[C]):
    """End ``conn``: send a close frame with ``code`` and ``reason`` (RFC 6455, section 5.5.1)."""

    conn: C
    code: CloseCode
    reason: str


Action = Reply[C] | Broadcast[C] | Disconnect[C]
"""What :meth:`Room.handle` and :meth:`Room.disconnect` ask the app to do."""


@dataclass(slots=True)
class _Peer:
    """What the room remembers about one connection, joined or not."""

    limiter: RateLimiter | None  # None: flood control off (rate=None)
    name: str | None = None
    key: str | None = None
    refused: int = 0
    window_start: float = -math.inf
    typed_at: float = -math.inf


class Room(Generic[C]):
    """Members, history and flood control of one chat room.

    Args:
        history: how many recent public messages a newcomer gets (0 = none).
        rate: frames per second per connection (see :class:`RateLimiter`);
            ``None`` switches flood control off (a load test, say).
        burst: frames a quiet connection may send at once.
        abuse_limit: more refused frames than this within ``abuse_window``
            seconds close the connection with 1008.
        abuse_window: seconds over which refused frames are counted.
        typing_interval: seconds between two forwarded typing notices of a user.
        clock: monotonic seconds, for rate limits (injectable for tests).
        wall_clock: UNIX seconds, for the ``ts`` of messages (injectable for tests).
    """

    def __init__(
        self,
        *,
        history: int = HISTORY,
        rate: float | None = RATE,
        burst: float = BURST,
        abuse_limit: int = ABUSE_LIMIT,
        abuse_window: float = ABUSE_WINDOW,
        typing_interval: float = TYPING_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if history < 0:
            raise ValueError("history must be >= 0")
        if rate is not None:
            RateLimiter(rate, burst, clock)  # a bad rate or burst fails here, not on connect
        self.rate = rate
        self.burst = burst
        self.abuse_limit = abuse_limit
        self.abuse_window = abuse_window
        self.typing_interval = typing_interval
        self._clock = clock
        self._wall_clock = wall_clock
        self._peers: dict[C, _Peer] = {}
        # Joined connections in joining order -> name; and name key -> connection.
        self._members: dict[C, str] = {}
        self._by_key: dict[str, C] = {}
        # The last public message events, as values: each welcome encodes them.
        self._history: deque[Said] = deque(maxlen=history)
        # Encoded once, naming this room's own limit: a flooding client may be
        # told this hundreds of times.
        self._rate_limited = ErrorNotice(
            ErrorCode.RATE_LIMITED,
            f"too many messages; at most {rate or 0:g} per second, please slow down",
        ).encode()

    # --- reading the state ---------------------------------------------------

    @property
    def connections(self) -> KeysView[C]:
        """The joined connections (a live view, cheap to pass to a broadcast)."""
        return self._members.keys()

    @property
    def users(self) -> list[str]:
        """The names in the room, in joining order."""
        return list(self._members.values())

    @property
    def history(self) -> tuple[Said, ...]:
        """The public message events a newcomer would receive, oldest first."""
        return tuple(self._history)

    def __len__(self) -> int:
        return len(self._members)

    def name_of(self, conn: C) -> str | None:
        """Return the name ``conn`` joined with, or ``None``."""
        return self._members.get(conn)

    # --- changing the state --------------------------------------------------

    def connect(self, conn: C) -> None:
        """Start tracking a new connection (it still has to join)."""
        if conn not in self._peers:
            limiter = None if self.rate is None else RateLimiter(self.rate, self.burst, self._clock)
            self._peers[conn] = _Peer(limiter)

    def handle(self, conn: C, frame: str | bytes) -> list[Action[C]]:
        """Process one incoming WebSocket message of ``conn``.

        Args:
            conn: the connection it came from (tracked on first use).
            frame: ``str`` for a text frame, ``bytes`` for a binary one.

        Returns:
            The actions to perform, in order.
        """
        peer = self._peers.get(conn)
        if peer is None:
            self.connect(conn)
            peer = self._peers[conn]
        if peer.limiter is not None and not peer.limiter.take():
            return self._refuse(conn, peer)
        try:
            request = parse(frame)
            if isinstance(request, Join):
                return self._join(conn, peer, request)
            if peer.name is None:
                raise ChatError(ErrorCode.NOT_JOINED, JOIN_FIRST)
            if isinstance(request, Say):
                if request.to is None:
                    # Pages stop showing "is typing" when the message arrives,
                    # so the next typing notice is news again.
                    peer.typed_at = -math.inf
                return self._say(conn, peer.name, request)
            assert isinstance(request, Typing)
            return self._typing(conn, peer)
        except ChatError as exc:
            return [Reply(conn, exc.encode())]

    def disconnect(self, conn: C) -> list[Action[C]]:
        """Forget ``conn``; if it had joined, tell the others it left.

        Safe to call more than once and for connections that never joined.
        """
        peer = self._peers.pop(conn, None)
        if peer is None or peer.name is None:
            return []
        del self._members[conn]
        del self._by_key[peer.key]  # type: ignore[arg-type]
        return [Broadcast(Left(peer.name, len(self._members)).encode())]

    # --- one method per request ---------------------------------------------

    def _refuse(self, conn: C, peer: _Peer) -> list[Action[C]]:
        # A fixed window is enough: it only has to tell a burst from abuse.
        now = self._clock()
        if now - peer.window_start >= self.abuse_window:
            peer.window_start = now
            peer.refused = 0
        peer.refused += 1
        if peer.refused > self.abuse_limit:
            return [Disconnect(conn, CloseCode.POLICY_VIOLATION, "too many messages")]
        return [Reply(conn, self._rate_limited)]

    def _join(self, conn: C, peer: _Peer, join: Join) -> list[Action[C]]:
        if peer.name is not None:
            raise ChatError(ErrorCode.BAD_NAME, f"already joined as {peer.name}")
        key = name_key(join.name)
        if key in self._by_key:
            raise ChatError(ErrorCode.NAME_TAKEN, f"the name {join.name} is taken")
        peer.name, peer.key = join.name, key
        self._members[conn] = join.name
        self._by_key[key] = conn
        welcome = Welcome(join.name, tuple(self._members.values()), tuple(self._history))
        return [
            Reply(conn, welcome.encode()),
            Broadcast(Joined(join.name, len(self._members)).encode(), exclude=conn),
        ]

    def _say(self, conn: C, sender: str, say: Say) -> list[Action[C]]:
        ts = round(self._wall_clock(), 3)
        if say.to is None:
            said = Said(sender, say.text, ts)
            self._history.append(said)
            return [Broadcast(said.encode(), exclude=conn)]
        target = self._by_key.get(name_key(say.to))
        if target is None:
            raise ChatError(ErrorCode.UNKNOWN_USER, f"nobody here is called {shown(say.to)}")
        text = Said(sender, say.text, ts, to=self._members[target]).encode()
        if target == conn:
            return [Reply(conn, text)]
        return [Reply(target, text), Reply(conn, text)]

    def _typing(self, conn: C, peer: _Peer) -> list[Action[C]]:
        now = self._clock()
        if now - peer.typed_at < self.typing_interval:
            return []
        peer.typed_at = now
        return [Broadcast(TypingNotice(peer.name).encode(), exclude=conn)]  # type: ignore[arg-type]
