"""Where the chat rooms' shared state lives: the backplane boundary, and the in-process one.

Theory of operation: a chat server holds rooms by id (``/``, ``/rooms/NAME``:
:func:`~labkit.chat.ledger.room_of`). A room nobody is in costs nothing: it is
opened when a handshake asks for it (before the ``101``, RFC 6455, section
4.2.2, so a refusal is an HTTP status) and dropped when its last connection
ends. Everything a room holds *in common* (members and their unique names,
counts, history, the order of events) is behind a :class:`Backplane`:

* :class:`LocalBackplane`, the default: the rooms live in this process and
  each :class:`~labkit.chat.room.Room` applies its events as it makes them,
  with no hop and no dependency (the speed of a single room);
* :class:`labkit.chat.redis.RedisBackplane`: the rooms live in Redis, so
  several server processes (on several machines) serve the same rooms; rooms
  then :class:`~labkit.chat.room.Submit` their events, which come back, in one
  order for every process, through the ``deliver`` callback.

Per-connection state (rate limits, the typing throttle) always stays in the
process that holds the connection.

The number of rooms under ``/rooms/`` open at once is bounded (``max_rooms``);
past it a handshake is refused with ``503`` and a text that says the limit and
how to raise it. The main room is always open.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from labkit.chat.ledger import MAIN_ROOM, MAX_ROOMS, RoomEvent
from labkit.chat.room import Action, Room
from labkit.errors import HandshakeRefused
from labkit.i18n import _

__all__ = ["Backplane", "Deliver", "LocalBackplane", "RoomFactory", "full_text"]

log = logging.getLogger("labkit.chat")

#: Performs actions that come from outside a connection's own loop (the log, a failure).
Deliver = Callable[[Room[Any], list[Action[Any]]], None]
#: Makes a fresh room: ``make_room(shared, owner)``.
RoomFactory = Callable[[bool, str], Room[Any]]


def full_text(open_rooms: int, limit: int) -> str:
    """The refusal of a handshake for one room too many: the limit, and how to raise it.

    It is the body of a ``503``, so it stays English in every language.
    """
    return (
        f"this chat already has {open_rooms} rooms open under /rooms/, its limit "
        f"(max_rooms={limit}); try again when one empties, or raise the limit: "
        f"chat_app(max_rooms=...) or python -m labkit serve chat --max-rooms N"
    )


class Backplane(ABC):
    """The rooms of one chat server, opened on demand, and the order of their events.

    Args:
        make_room: makes a room (``shared``, ``owner``) with the chat's settings.
        max_rooms: rooms under ``/rooms/`` open at once (the main room aside).
        hold: seconds a room opened for a handshake is kept before it counts as
            empty: the handshake's middleware may not have started yet.

    Attributes:
        main: the main room (``/``), always open.
        name: ``"in-process"`` or ``"redis"``, for logs.
    """

    name = "backplane"
    #: True when rooms share their state through another process (Submit actions).
    shared = False

    def __init__(self, make_room: RoomFactory, *, max_rooms: int = MAX_ROOMS, hold: float = 11.0):
        if max_rooms < 0:
            raise ValueError(_("max_rooms must be >= 0"))
        self.max_rooms = max_rooms
        self.hold = hold
        self._make_room = make_room
        self._deliver: Deliver = lambda room, actions: None
        self.main: Room[Any] = self.new_room()
        self._rooms: dict[str, Room[Any]] = {MAIN_ROOM: self.main}
        self._held: dict[str, float] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._opening: dict[str, asyncio.Future[Room[Any]]] = {}

    @property
    def rooms(self) -> Mapping[str, Room[Any]]:
        """The rooms open in this process, by id (a read-only live view)."""
        return MappingProxyType(self._rooms)

    @property
    def available(self) -> bool:
        """Whether room-wide changes can be made right now."""
        return True

    def new_room(self) -> Room[Any]:
        """A fresh room with the chat's settings, shared or not as this backplane is."""
        return self._make_room(self.shared, "")

    async def start(self, deliver: Deliver) -> None:
        """Start serving on the running loop; ``deliver`` performs actions off a connection."""

        def guarded(room: Room[Any], actions: list[Action[Any]]) -> None:
            try:
                deliver(room, actions)
            except Exception:  # a reader or the outbox must outlive any one delivery
                log.exception(_("delivering %d actions failed"), len(actions))

        self._deliver = guarded

    async def close(self) -> None:
        """Stop: after the server closed its connections (their leaves are submitted)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._held.clear()
        for room_id in list(self._rooms):  # rooms kept only for a handshake: gone now
            self.release(room_id)

    async def open(self, room_id: str) -> Room[Any]:
        """Open room ``room_id`` for a handshake (creating it if needed) and return it.

        Raises:
            HandshakeRefused: 503 past ``max_rooms``, or when the room's
                shared state cannot be reached; the text says why.
        """
        self._hold(room_id)
        room = self._rooms.get(room_id)
        if room is not None:
            return room
        opening = self._opening.get(room_id)  # two handshakes for a new room: one copy
        if opening is None:
            opening = self._opening[room_id] = asyncio.ensure_future(self._open_new(room_id))
        return await asyncio.shield(opening)

    async def _open_new(self, room_id: str) -> Room[Any]:
        try:
            room = await self._follow(room_id)
            self._rooms[room_id] = room
            return room
        finally:
            del self._opening[room_id]

    def release(self, room_id: str) -> None:
        """Drop room ``room_id`` if nobody is in it here and no handshake holds it."""
        room = self._rooms.get(room_id)
        if room is None or room_id == MAIN_ROOM or room.open_connections:
            return
        until = self._held.get(room_id)
        if until is not None:
            try:
                now = asyncio.get_running_loop().time()
            except RuntimeError:  # pragma: no cover - always called on the loop
                now = until
            if now < until:
                return  # the hold's timer calls again
            del self._held[room_id]
        del self._rooms[room_id]
        self._unfollow(room_id, room)

    @abstractmethod
    def submit(self, room_id: str, room: Room[Any], conn: Any, event: RoomEvent[Any]) -> None:
        """Put ``conn``'s ``event`` in ``room``'s order; the outcome comes through ``deliver``.

        Never blocks and never raises: a failure comes back as
        :meth:`~labkit.chat.room.Room.failed` actions.
        """

    @abstractmethod
    async def _follow(self, room_id: str) -> Room[Any]:
        """Make this process's copy of room ``room_id`` (it is not open here yet)."""

    def _unfollow(self, room_id: str, room: Room[Any]) -> None:  # noqa: B027 - optional
        """Room ``room_id`` was dropped here: let go of it."""

    def _named_rooms(self) -> int:
        return len(self._rooms) - 1

    def _hold(self, room_id: str) -> None:
        if room_id == MAIN_ROOM:
            return
        loop = asyncio.get_running_loop()
        self._held[room_id] = loop.time() + self.hold
        if room_id not in self._timers:
            self._timers[room_id] = loop.call_at(self._held[room_id], self._expire, room_id)

    def _expire(self, room_id: str) -> None:
        del self._timers[room_id]
        until = self._held.get(room_id)
        if until is not None and until > asyncio.get_running_loop().time():
            self._timers[room_id] = asyncio.get_running_loop().call_at(until, self._expire, room_id)
            return
        self.release(room_id)


class LocalBackplane(Backplane):
    """The rooms of this process only: no dependency, no hop, today's speed.

    Each room applies its own events as it makes them
    (:class:`~labkit.chat.room.Room` with ``shared=False``), so :meth:`submit`
    is only there to complete the interface.
    """

    name = "in-process"

    def submit(self, room_id: str, room: Room[Any], conn: Any, event: RoomEvent[Any]) -> None:
        self._deliver(room, room.apply(event))

    async def _follow(self, room_id: str) -> Room[Any]:
        if self._named_rooms() >= self.max_rooms:
            raise HandshakeRefused(503, full_text(self._named_rooms(), self.max_rooms))
        return self.new_room()
