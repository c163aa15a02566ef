"""What a chat room holds in common, and the events that change it, without any I/O.

Theory of operation: a room has two kinds of state. *Per-connection* state (a
sender's token bucket, its typing throttle, whether it has joined yet) lives
with the connection, in :class:`~labkit.chat.room.Room`. *Room-wide* state (who
is in the room under which unique name, how many they are, the last public
messages) is a :class:`Ledger`, and it changes only by :data:`RoomEvent`
values applied in one order:

* :class:`Entered`: a member took a name (already decided unique);
* :class:`Exited`: a member left (or its server process died);
* :class:`Spoke`: a public message, kept in the history;
* :class:`Whispered`: a private message to the member holding ``to_key``;
* :class:`Typed`: a typing notice.

In one process the room applies each event as it makes it (the in-process
backplane, :mod:`labkit.chat.backplane`). Across processes every server keeps
a copy of the ledger and applies the *same* events in the *same* order, read
from the room's log (a Redis Stream, :mod:`labkit.chat.redis`), so the user
list of a welcome and the count of a notice agree on every process. Applying
is idempotent where a log may repeat itself: a second :class:`Exited` for the
same member, or an :class:`Entered` already applied, changes nothing.

Rooms are named by the request path (RFC 6455, section 3: the resource name
of the WebSocket URI): ``/`` is the main room and ``/rooms/NAME`` a room of
its own (:func:`room_of`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from labkit.chat.protocol import HISTORY, Said

__all__ = [
    "MAIN_ROOM",
    "MAX_ROOMS",
    "MAX_ROOM_NAME",
    "ROOM_PREFIX",
    "ROOM_RULE",
    "Entered",
    "Exited",
    "Ledger",
    "Member",
    "RoomEvent",
    "Spoke",
    "Typed",
    "Whispered",
    "room_of",
]

MAIN_ROOM = "/"
"""The id (and path) of the main room."""

ROOM_PREFIX = "/rooms/"
"""Paths under this prefix name rooms of their own."""

MAX_ROOM_NAME = 32
"""Longest room name, in characters."""

MAX_ROOMS = 100
"""Default bound on the rooms under :data:`ROOM_PREFIX` open at once (the main room aside)."""

ROOM_RULE = (
    f"the chat answers at / (the main room) and at /rooms/NAME, NAME being 1 to "
    f"{MAX_ROOM_NAME} letters, digits, '-' or '_'"
)
"""What a path must look like, for the refusal of one that does not."""

_ROOM_NAME = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ROOM_NAME}}}")

M = TypeVar("M", bound=Hashable)
"""A member's id: the connection itself in one process, a string across processes."""


def room_of(path: str) -> str | None:
    """Return the id of the room ``path`` names, or ``None`` for any other path.

    ``/`` is the main room; ``/rooms/NAME`` is room ``/rooms/name``: names are
    ASCII letters, digits, ``-`` and ``_``, and case does not count, so a URL
    typed by hand finds the same room. Percent-escapes, dots and slashes are
    refused, so a room id is always safe inside a URL, a log line or a Redis key.
    """
    if path == MAIN_ROOM:
        return MAIN_ROOM
    if not path.startswith(ROOM_PREFIX):
        return None
    name = path[len(ROOM_PREFIX) :]
    if _ROOM_NAME.fullmatch(name) is None:
        return None
    return ROOM_PREFIX + name.lower()


@dataclass(frozen=True, slots=True)
class Member(Generic[M]):
    """One user in a room.

    Attributes:
        id: unique among the room's members, past and present.
        name: as the user asked for it (trimmed), shown to the others.
        key: :func:`~labkit.chat.protocol.name_key` of the name; unique in the room.
        owner: the server process holding its connection (``""`` in one process).
    """

    id: M
    name: str
    key: str
    owner: str = ""


@dataclass(frozen=True, slots=True)
class Entered(Generic[M]):
    """``member`` joined the room (its name was free)."""

    member: Member[M]


@dataclass(frozen=True, slots=True)
class Exited(Generic[M]):
    """The member ``id`` (holding name key ``key``) left the room."""

    id: M
    key: str


@dataclass(frozen=True, slots=True)
class Spoke(Generic[M]):
    """The member ``id`` said ``said`` to everyone else."""

    id: M
    said: Said


@dataclass(frozen=True, slots=True)
class Whispered(Generic[M]):
    """The member ``id`` said ``said`` to the member holding ``to_key`` only.

    ``said.to`` is the recipient's name as the sender's copy of the ledger
    knew it; the room applying the event names the holder of ``to_key`` then.
    """

    id: M
    to_key: str
    said: Said


@dataclass(frozen=True, slots=True)
class Typed(Generic[M]):
    """The member ``id``, called ``name``, is typing."""

    id: M
    name: str


RoomEvent = Entered[M] | Exited[M] | Spoke[M] | Whispered[M] | Typed[M]
"""Everything that changes a room, or passes through it, in the order all its servers see."""


class Ledger(Generic[M]):
    """Members (in joining order), their unique name keys and the recent public messages.

    Args:
        history: how many public messages to keep for newcomers.
    """

    __slots__ = ("by_key", "history", "members")

    def __init__(self, history: int = HISTORY) -> None:
        self.members: dict[M, Member[M]] = {}
        self.by_key: dict[str, M] = {}
        self.history: deque[Said] = deque(maxlen=history)

    def __len__(self) -> int:
        return len(self.members)

    @property
    def names(self) -> tuple[str, ...]:
        """The members' names in joining order."""
        return tuple(member.name for member in self.members.values())

    def holder(self, key: str) -> Member[M] | None:
        """The member holding name key ``key``, if any."""
        found = self.by_key.get(key)
        return None if found is None else self.members[found]

    def add(self, member: Member[M]) -> None:
        """Add ``member``; its key must be free (see :meth:`holder`)."""
        self.members[member.id] = member
        self.by_key[member.key] = member.id

    def remove(self, member_id: M) -> Member[M] | None:
        """Remove the member ``member_id`` and return it (``None``: not here)."""
        member = self.members.pop(member_id, None)
        if member is not None and self.by_key.get(member.key) == member_id:
            del self.by_key[member.key]
        return member

    def reset_history(self, history: Iterable[Said]) -> None:
        """Replace the history (oldest first), keeping the ledger's own limit."""
        self.history.clear()
        self.history.extend(history)
