"""The chat room's state, without any I/O.

Theory of operation: the WebSocket layer owns the sockets; the :class:`Room`
owns who is who. For every incoming message the app calls
:meth:`Room.handle`, which returns a list of *actions* (plain values) that say
who gets which event of :mod:`labkit.chat.protocol`, already encoded as JSON text:

* :class:`Reply`: one connection gets ``text`` (an answer, an error, a private message);
* :class:`Broadcast`: every joined connection except ``exclude`` gets ``text``;
* :class:`Disconnect`: close that connection with ``code`` (RFC 6455, section 7.4.1);
* :class:`Submit`: (a shared room only) hand a :data:`~labkit.chat.ledger.RoomEvent`
  to the backplane, which puts it in the room's order.

The app performs them in order. Because the room never touches a socket, the
tests drive it with strings and a fake clock, and the same room could sit
behind any server.

Two kinds of state (:mod:`labkit.chat.ledger`): per-connection decisions
(flood control, the typing throttle, "not joined yet") are made here, at once;
room-wide changes (a join, a message, a leave) are events applied to the
room's :class:`~labkit.chat.ledger.Ledger` by :meth:`Room.apply`, which turns
each into the actions above. A room of one process (the default) applies its
events as it makes them, so :meth:`handle` answers with the final actions. A
*shared* room (``shared=True``, one copy per server process) answers with
:class:`Submit` instead; the backplane orders the events of every process into
one log and each copy applies them from there, in the same order everywhere,
so only the copy holding a connection answers it (its welcome, its private
messages) while every copy tells its own connections.

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
* Flood control (:mod:`labkit.chat.limits`): every incoming frame costs one
  token of a per-connection :class:`RateLimiter` (by default 20 frames per
  second, bursts of 40). A frame without a token is not even parsed: it gets
  ``rate_limited``. More than 200 refused frames within 10 seconds close the
  connection with 1008 (policy violation). Typing notices are forwarded at
  most once per second per user (extra ones are dropped silently, since they
  only say "still typing"); a public message starts the interval afresh, as
  it ends the typing.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Hashable, Iterable, KeysView
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from labkit.chat.ledger import Entered, Exited, Ledger, Member, RoomEvent, Spoke, Typed, Whispered
from labkit.chat.limits import ABUSE_LIMIT, ABUSE_WINDOW, BURST, RATE, TYPING_INTERVAL, RateLimiter
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
from labkit.i18n import _
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
    "Submit",
]

C = TypeVar("C", bound=Hashable)
"""A connection: anything hashable (a labkit Context, a websocket, a string in tests)."""

#: Why a connection whose member another process took out of the room is closed.
LOST = "the room lost this connection's place (its server was taken for dead); reconnect"


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


@dataclass(frozen=True, slots=True)
class Submit(Generic[C]):
    """Hand ``event`` (made for ``conn``) to the backplane, to be ordered and applied.

    The outcome comes back later: :meth:`Room.apply` once the event is in the
    room's log, or :meth:`Room.failed` if it could not get there.
    """

    conn: C
    event: RoomEvent[Any]


Action = Reply[C] | Broadcast[C] | Disconnect[C] | Submit[C]
"""What :meth:`Room.handle` and :meth:`Room.disconnect` ask the app to do."""


@dataclass(slots=True)
class _Peer:
    """What the room remembers about one connection, joined or not."""

    limiter: RateLimiter | None  # None: flood control off (rate=None)
    member: Member[Any] | None = None  # set from the join on; joined once applied
    joined: bool = False
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
        shared: one copy of a room that several processes serve: room-wide
            changes become :class:`Submit` actions (see the module docstring).
        owner: this process's name in a shared room; member ids start with it.
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
        shared: bool = False,
        owner: str = "",
    ) -> None:
        if history < 0:
            raise ValueError(_("history must be >= 0"))
        if rate is not None:
            RateLimiter(rate, burst, clock)  # a bad rate or burst fails here, not on connect
        self.rate = rate
        #: Told ``("joined" | "left", name, count)`` as members come and go
        #: (the app logs it for a teacher); ``None``: nobody listens.
        self.on_presence: Callable[[str, str, int], None] | None = None
        self.burst = burst
        self.abuse_limit = abuse_limit
        self.abuse_window = abuse_window
        self.typing_interval = typing_interval
        self.shared = shared
        self.owner = owner
        self._clock = clock
        self._wall_clock = wall_clock
        self._ids = itertools.count(1)
        self._peers: dict[C, _Peer] = {}
        # Joined connections of this process, in joining order -> member id; and
        # member id -> connection for every member of this process (also while
        # its join waits for the log). In one process a member's id is its conn.
        self._joined: dict[C, Any] = {}
        self._local: dict[Any, C] = {}
        self._ledger: Ledger[Any] = Ledger(history)
        # Encoded once, naming this room's own limit: a flooding client may be
        # told this hundreds of times.
        self._rate_limited = ErrorNotice(
            ErrorCode.RATE_LIMITED,
            f"too many messages; at most {rate or 0:g} per second, please slow down",
        ).encode()

    # --- reading the state ---------------------------------------------------

    @property
    def connections(self) -> KeysView[C]:
        """The joined connections of this process (a live view, cheap to pass to a broadcast)."""
        return self._joined.keys()

    @property
    def users(self) -> list[str]:
        """The names in the room, in joining order (on every process, for a shared room)."""
        return list(self._ledger.names)

    @property
    def history(self) -> tuple[Said, ...]:
        """The public message events a newcomer would receive, oldest first."""
        return tuple(self._ledger.history)

    @property
    def members(self) -> tuple[Member[Any], ...]:
        """Every member, in joining order: name, key and the process that holds it."""
        return tuple(self._ledger.members.values())

    @property
    def local_members(self) -> tuple[Member[Any], ...]:
        """The members whose connections this process holds, joined or joining."""
        peers = (self._peers.get(conn) for conn in self._local.values())
        return tuple(peer.member for peer in peers if peer is not None and peer.member)

    @property
    def open_connections(self) -> int:
        """Connections this room tracks, joined or not: 0 means nobody is in it here."""
        return len(self._peers)

    def __len__(self) -> int:
        return len(self._ledger)

    def member(self, member_id: Any) -> Member[Any] | None:
        """The member ``member_id``, if it is in the room."""
        return self._ledger.members.get(member_id)

    def name_of(self, conn: C) -> str | None:
        """Return the name ``conn`` joined with, or ``None``."""
        peer = self._peers.get(conn)
        return peer.member.name if peer is not None and peer.joined and peer.member else None

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
            member = peer.member
            if member is None or not peer.joined:
                raise ChatError(ErrorCode.NOT_JOINED, JOIN_FIRST)
            if isinstance(request, Say):
                if request.to is None:
                    # Pages stop showing "is typing" when the message arrives,
                    # so the next typing notice is news again.
                    peer.typed_at = -math.inf
                return self._say(conn, member, request)
            assert isinstance(request, Typing)
            return self._typing(conn, peer, member)
        except ChatError as exc:
            return [Reply(conn, exc.encode())]

    def disconnect(self, conn: C) -> list[Action[C]]:
        """Forget ``conn``; if it had joined, tell the others it left.

        Safe to call more than once and for connections that never joined.
        """
        peer = self._peers.pop(conn, None)
        if peer is None or peer.member is None:
            return []
        member = peer.member
        self._joined.pop(conn, None)
        self._local.pop(member.id, None)
        return self._commit(conn, Exited(member.id, member.key))

    def apply(self, event: RoomEvent[Any]) -> list[Action[C]]:
        """Apply one room event, in the room's order, and say who must hear of it.

        Idempotent for what a log may repeat: an event of a member who is no
        longer here, a second :class:`~labkit.chat.ledger.Exited`, an
        :class:`~labkit.chat.ledger.Entered` already applied: nothing happens.
        """
        ledger = self._ledger
        if isinstance(event, Spoke):  # the hot path first
            if event.id not in ledger.members:
                return []
            ledger.history.append(event.said)
            return [Broadcast(event.said.encode(), exclude=self._local.get(event.id))]
        if isinstance(event, Entered):
            return self._entered(event.member)
        if isinstance(event, Exited):
            return self._exited(event.id)
        if isinstance(event, Typed):
            if event.id not in ledger.members:
                return []
            return [Broadcast(TypingNotice(event.name).encode(), exclude=self._local.get(event.id))]
        return self._whispered(event)

    def failed(self, conn: C, event: RoomEvent[Any], error: ChatError) -> list[Action[C]]:
        """``event`` of ``conn`` never reached the room's log: tell ``conn`` with ``error``.

        A join that failed leaves the connection free to join again; a typing
        notice fails silently (it only said "still typing").
        """
        peer = self._peers.get(conn)
        if isinstance(event, Entered) and self._local.get(event.member.id) == conn:
            del self._local[event.member.id]
            if peer is not None and peer.member is event.member:
                peer.member = None
        if peer is None or isinstance(event, Typed):
            return []
        return [Reply(conn, error.encode())]

    def resync(self, members: Iterable[Member[Any]], history: Iterable[Said]) -> list[Action[C]]:
        """Make the ledger match a snapshot of the room (its log had a gap, or a first copy).

        Members missing from the snapshot leave, new ones join, in the
        snapshot's order, with the notices (and welcomes) that go with it.
        """
        fresh = {member.id: member for member in members}
        actions: list[Action[C]] = []
        for member_id in [m for m in self._ledger.members if m not in fresh]:
            actions += self._exited(member_id)
        self._ledger.reset_history(history)
        for member in fresh.values():
            actions += self._entered(member)
        return actions

    # --- one method per request ---------------------------------------------

    def _commit(self, conn: C, event: RoomEvent[Any]) -> list[Action[C]]:
        """In one process, apply ``event`` now; in a shared room, submit it."""
        return [Submit(conn, event)] if self.shared else self.apply(event)

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
        if peer.member is not None:
            state = "joined" if peer.joined else "joining"
            raise ChatError(ErrorCode.BAD_NAME, f"already {state} as {peer.member.name}")
        key = name_key(join.name)
        if key in self._ledger.by_key:
            raise ChatError(ErrorCode.NAME_TAKEN, f"the name {join.name} is taken")
        member_id: Any = f"{self.owner}.{next(self._ids)}" if self.shared else conn
        peer.member = Member(member_id, join.name, key, self.owner)
        self._local[member_id] = conn
        return self._commit(conn, Entered(peer.member))

    def _say(self, conn: C, member: Member[Any], say: Say) -> list[Action[C]]:
        said = Said(member.name, say.text, round(self._wall_clock(), 3))
        if say.to is None:
            if self.shared:
                return [Submit(conn, Spoke(member.id, said))]
            # The hot path of one process: apply()'s Spoke case, without the event.
            self._ledger.history.append(said)
            return [Broadcast(said.encode(), exclude=conn)]
        target = self._ledger.holder(name_key(say.to))
        if target is None:
            raise ChatError(ErrorCode.UNKNOWN_USER, f"nobody here is called {shown(say.to)}")
        said = Said(member.name, say.text, said.ts, to=target.name)
        return self._commit(conn, Whispered(member.id, target.key, said))

    def _typing(self, conn: C, peer: _Peer, member: Member[Any]) -> list[Action[C]]:
        now = self._clock()
        if now - peer.typed_at < self.typing_interval:
            return []
        peer.typed_at = now
        return self._commit(conn, Typed(member.id, member.name))

    # --- applying room events ------------------------------------------------

    def _entered(self, member: Member[Any]) -> list[Action[C]]:
        ledger = self._ledger
        if member.id in ledger.members:
            return []
        actions: list[Action[C]] = []
        ghost = ledger.holder(member.key)
        if ghost is not None:  # only after the store lost a leave: the log's newer word wins
            actions += self._exited(ghost.id)
        ledger.add(member)
        notice = Joined(member.name, len(ledger)).encode()
        if self.on_presence is not None:
            self.on_presence("joined", member.name, len(ledger))
        conn = self._local.get(member.id)
        peer = None if conn is None else self._peers.get(conn)
        if conn is None or peer is None:
            actions.append(Broadcast(notice))
            return actions
        peer.joined = True
        self._joined[conn] = member.id
        welcome = Welcome(member.name, ledger.names, tuple(ledger.history))
        actions += [Reply(conn, welcome.encode()), Broadcast(notice, exclude=conn)]
        return actions

    def _exited(self, member_id: Any) -> list[Action[C]]:
        member = self._ledger.remove(member_id)
        if member is None:
            return []
        actions: list[Action[C]] = [Broadcast(Left(member.name, len(self._ledger)).encode())]
        if self.on_presence is not None:
            self.on_presence("left", member.name, len(self._ledger))
        conn = self._local.pop(member_id, None)
        if conn is not None:  # still connected here: another process took it out
            self._joined.pop(conn, None)
            peer = self._peers.get(conn)
            if peer is not None:
                peer.member, peer.joined = None, False
            actions.append(Disconnect(conn, CloseCode.SERVICE_RESTART, LOST))
        return actions

    def _whispered(self, event: Whispered[Any]) -> list[Action[C]]:
        ledger = self._ledger
        if event.id not in ledger.members:
            return []
        sender = self._local.get(event.id)
        target = ledger.holder(event.to_key)
        if target is None:  # left while the message was on its way
            if sender is None:
                return []
            error = ChatError(
                ErrorCode.UNKNOWN_USER, f"nobody here is called {shown(event.said.to)}"
            )
            return [Reply(sender, error.encode())]
        said = event.said
        if said.to != target.name:
            said = Said(said.sender, said.text, said.ts, to=target.name)
        text = said.encode()
        to = self._local.get(target.id)
        actions: list[Action[C]] = []
        if to is not None and to in self._joined:
            actions.append(Reply(to, text))
        if sender is not None and sender != to:
            actions.append(Reply(sender, text))
        return actions
