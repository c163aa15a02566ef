"""Chat rooms shared by several server processes through Redis (redis-py >= 8, asyncio).

``chat_app(redis="redis://HOST:6379/0")`` or ``python -m labkit serve chat
--redis URL``: every process started so serves the same rooms; users on any
of them see each other. Needs the ``redis`` extra (``pip install 'labkit[redis]'``).

Theory of operation (keys and scripts: :mod:`labkit.chat.redis_lua`):

* **One order.** Each room's events go to a Redis Stream, its log, by Lua
  scripts (``XADD MAXLEN ~``: bounded). Every process reads the log of each
  room it has open with ``XREAD`` from the last entry it saw, and applies the
  entries to its copy of the room (:meth:`~labkit.chat.room.Room.apply`) in
  log order: a message reaches every member on every process once, in the same
  order, and welcomes and counts agree. Pub/sub would not do: it is
  at-most-once, and messages published during a restart are lost unnoticed;
  a stream read from its last ID is not.
* **Unique names.** A join is one script: ``HEXISTS`` then ``HSET`` on the
  room's members hash, and the join logged, at once. Of two processes joining
  the same name at the same moment, exactly one wins; the other answers
  ``name_taken``. The rule is the room's (``name_key``: NFKC + casefold).
* **Presence.** Each process renews its expiry in a ZSET every
  ``presence_timeout / 6`` seconds (expiring ``2/3 presence_timeout`` ahead).
  A live process that finds another's expiry passed runs the reap script,
  which removes that process's members and logs each leave once: users of a
  process that died without cleaning up (SIGKILL) leave every list within
  ``presence_timeout`` seconds, and their names are free again.
* **Redis away.** Nothing waits on Redis in a connection's loop: events go to
  one bounded outbox (a single writer task sends them in order, pipelined)
  and fail after ``outbox_timeout``. While Redis cannot be reached, a message
  gets an ``unavailable`` error event back, never silent loss; a leave is
  kept and logged later. When Redis answers again, each process loads its
  scripts, and if Redis came back empty (a new epoch) it re-registers its
  rooms, members and history, and reads each log afresh; the rooms work again
  by themselves within about a second.

Per-connection state (rate limits, the typing throttle) never leaves the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from labkit.chat.backplane import Backplane, RoomFactory, full_text
from labkit.chat.ledger import MAIN_ROOM, MAX_ROOMS, Entered, Exited, RoomEvent
from labkit.chat.outbox import Outbox
from labkit.chat.protocol import HISTORY, ChatError, ErrorCode, Said, decode_server_event
from labkit.chat.redis_lua import (
    FOLLOW,
    HEARTBEAT,
    LOG_LENGTH,
    REAP,
    RESTORE,
    SCRIPTS,
    STATUS,
    UNFOLLOW,
    Script,
    decode_entry,
    event_args,
    members_of,
)
from labkit.chat.room import Room
from labkit.errors import BackplaneError, HandshakeRefused
from labkit.i18n import _

__all__ = ["OUTBOX", "OUTBOX_TIMEOUT", "PRESENCE_TIMEOUT", "RedisBackplane"]

PRESENCE_TIMEOUT = 15.0
"""Seconds within which the users of a process that died leave every other list."""

OUTBOX = 10_000
"""Events that may wait for Redis at once; past that a message is ``unavailable``."""

OUTBOX_TIMEOUT = 5.0
"""Seconds an event may wait for Redis before its sender is told ``unavailable``."""

_BATCH = 256  # events per pipelined round trip
_READ_COUNT = 500  # log entries per XREAD
_READ_BLOCK_MS = 2000  # an XREAD returns empty after this, and is sent again
_TROUBLE = (RedisError, OSError, BackplaneError)

log = logging.getLogger("labkit.chat.redis")


def _process_name() -> str:
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def _unavailable() -> ChatError:  # sent to a client: the English stays
    return ChatError(
        ErrorCode.UNAVAILABLE,
        "the chat cannot reach its shared store (Redis) just now: this was not sent; "
        "try again in a few seconds",
    )


@dataclass(slots=True)
class _Copy:
    """This process's copy of one room, and how far it has read the room's log."""

    room_id: str
    room: Room[Any]
    last_id: str
    last_q: int
    generation: int
    reader: asyncio.Task[None] | None = None


class RedisBackplane(Backplane):
    """Rooms whose state lives in Redis, shared by every process that uses the same URL.

    Args:
        url: ``redis://[:password@]host:port/db`` (or ``rediss://``, ``unix://``).
        make_room: makes a room (``shared``, ``owner``) with the chat's settings.
        max_rooms: rooms under ``/rooms/`` open at once, counted over every process.
        hold: see :class:`~labkit.chat.backplane.Backplane`.
        history: public messages each room keeps (as the rooms do).
        presence_timeout: seconds within which a dead process's users leave
            (down to about 1 s; lower means more heartbeats).
        namespace: the prefix of every key, so that several chats can share one Redis.
        outbox: events that may wait for Redis at once.
        outbox_timeout: seconds an event may wait before it fails as ``unavailable``.
    """

    name = "redis"
    shared = True

    def __init__(
        self,
        url: str,
        make_room: RoomFactory,
        *,
        max_rooms: int = MAX_ROOMS,
        hold: float = 11.0,
        history: int = HISTORY,
        presence_timeout: float = PRESENCE_TIMEOUT,
        namespace: str = "labkit:chat",
        outbox: int = OUTBOX,
        outbox_timeout: float = OUTBOX_TIMEOUT,
    ) -> None:
        if presence_timeout < 0.5:
            raise ValueError(_("presence_timeout must be at least 0.5 seconds"))
        self.url = url
        self.process = _process_name()
        self.namespace = namespace
        self.history = history
        self.presence_timeout = presence_timeout
        self.lease = presence_timeout * 2 / 3
        self.interval = presence_timeout / 6
        # A process unknown to Redis (not expired: Redis came back empty) is
        # given this long to register again before its members are taken out.
        self.grace = max(self.lease, 5.0)
        super().__init__(make_room, max_rooms=max_rooms, hold=hold)
        self._rooms.pop(MAIN_ROOM)  # open once its copy is read from Redis
        self._redis: aioredis.Redis | None = None
        self._copies: dict[str, _Copy] = {}
        self._outbox = Outbox(namespace, outbox, outbox_timeout, self._trouble)
        self._replay: list[tuple[str, Any]] = []  # leaves and drops to log once Redis is back
        self._missing: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._available = False
        self._closing = False
        self._lost = False
        self._epoch: str | None = None
        self._generation = 0

    def new_room(self) -> Room[Any]:
        return self._make_room(True, self.process)

    @property
    def available(self) -> bool:
        return self._available

    # --- lifecycle -------------------------------------------------------------

    async def start(self, deliver: Any) -> None:
        """Connect, register this process and read the main room (waits up to 2 s for Redis)."""
        await super().start(deliver)
        self._ready, self._kick = asyncio.Event(), asyncio.Event()
        self._closing = False
        self._redis = aioredis.Redis.from_url(
            self.url,
            decode_responses=True,
            socket_timeout=5.0,
            socket_connect_timeout=2.0,
            retry=Retry(NoBackoff(), 0),  # never send an event twice
        )
        self._outbox.client = self._redis
        self._tasks = [asyncio.create_task(self._health()), asyncio.create_task(self._outbox.run())]
        try:
            await asyncio.wait_for(self._ready.wait(), 2.0)
        except TimeoutError:
            log.warning(_("Redis at %s does not answer yet: the chat waits for it"), self.url)

    async def close(self) -> None:
        """Log the leaves still queued, let go of every room, and say goodbye."""
        await super().close()
        if self._redis is None:
            return
        if self._available:  # the leaves of the connections just closed
            await self._outbox.flush(2.0)
        available, self._available = self._available, False  # no warnings from here on
        self._closing = True
        self._ready.clear()
        tasks = [*self._tasks, *(c.reader for c in self._copies.values() if c.reader)]
        for task in tasks:
            task.cancel()
        # A reader blocked in XREAD may take until its block ends to notice
        # (redis-py); closing the client below ends it anyway.
        await asyncio.wait(tasks, timeout=0.2)
        if available:
            try:
                await self._say_goodbye()
            except _TROUBLE as exc:
                log.warning(_("could not unregister from Redis: %s"), exc)
        self._copies.clear()
        self._rooms.clear()  # the main room opens again once read from Redis
        await self._redis.aclose()
        self._redis, self._available, self._outbox.available = None, False, False

    async def _say_goodbye(self) -> None:
        assert self._redis is not None
        for room_id in self._copies:
            await self._eval(UNFOLLOW, room_id, self.process)
        # Out of the heartbeats first, then reap ourselves: any member left over
        # (a leave that never got through) leaves now, not presence_timeout later.
        await self._redis.zrem(f"{self.namespace}:procs", self.process)
        await self._eval(REAP, self.process, str(LOG_LENGTH))

    async def _eval(self, script: Script, *argv: str) -> Any:
        assert self._redis is not None
        return await self._redis.evalsha(script.sha, 0, self.namespace, *argv)

    # --- rooms -------------------------------------------------------------------

    async def open(self, room_id: str) -> Room[Any]:
        if room_id == MAIN_ROOM and MAIN_ROOM not in self._copies:
            raise HandshakeRefused(503, self._unreachable(room_id))
        return await super().open(room_id)

    def _unreachable(self, room_id: str) -> str:  # the body of a 503: English
        return (
            f"the chat cannot reach its shared store (Redis) to open {room_id} just now; "
            f"try again in a few seconds"
        )

    async def _follow(self, room_id: str) -> Room[Any]:
        if not self._available:
            raise HandshakeRefused(503, self._unreachable(room_id))
        try:
            reply = await self._outbox.call(FOLLOW, [room_id, self.process, str(self.max_rooms)])
        except BackplaneError:
            raise HandshakeRefused(503, self._unreachable(room_id)) from None
        if reply[0] == "full":
            raise HandshakeRefused(503, full_text(int(reply[1]), self.max_rooms))
        room = self.new_room()
        self._adopt(room_id, room, reply)
        return room

    def _adopt(self, room_id: str, room: Room[Any], snapshot: list[Any]) -> None:
        """Fill ``room`` from a FOLLOW snapshot and start reading its log after it."""
        _kind, last_id, q, flat, history = snapshot
        said = [e for e in map(decode_server_event, history) if isinstance(e, Said)]
        self._deliver(room, room.resync(members_of(flat), said))
        copy = _Copy(room_id, room, last_id, int(q), self._generation)
        copy.reader = asyncio.create_task(self._read(copy))
        self._copies[room_id] = copy

    def _unfollow(self, room_id: str, room: Room[Any]) -> None:
        copy = self._copies.pop(room_id, None)
        if copy is not None and copy.reader is not None:
            copy.reader.cancel()
        self._send_or_keep(room_id, None)

    # --- events out: one ordered, bounded outbox -----------------------------------

    def submit(self, room_id: str, room: Room[Any], conn: Any, event: RoomEvent[Any]) -> None:
        member = event.member if isinstance(event, Entered) else room.member(event.id)
        key = event.key if isinstance(event, Exited) else member.key if member else ""
        if isinstance(event, Exited):
            self._send_or_keep(room_id, event)
            return
        script, args = event_args(event, self.process, key, self.history)

        def done(result: Any) -> None:
            if isinstance(result, BaseException) or result[0] == "gone":
                error = _unavailable()
            elif result[0] == "taken":
                error = ChatError(ErrorCode.NAME_TAKEN, f"the name {member.name} is taken")  # type: ignore[union-attr]
            else:
                return  # in the log: every process applies it from there
            self._deliver(room, room.failed(conn, event, error))

        self._outbox.put(script, [room_id, str(LOG_LENGTH), *args], done)

    def _send_or_keep(self, room_id: str, event: Exited[Any] | None, force: bool = False) -> None:
        """Log a leave (or drop the room, for ``None``); if Redis is away, later."""
        if event is None:
            script, args = UNFOLLOW, [room_id, self.process]
        else:
            script, args = event_args(event, self.process, event.key, 0, force)
            args = [room_id, str(LOG_LENGTH), *args]

        def done(result: Any) -> None:
            if isinstance(result, BaseException):
                self._replay.append((room_id, event))

        self._outbox.put(script, args, done)

    # --- events in: one reader per room's log ----------------------------------------

    async def _read(self, copy: _Copy) -> None:
        key = f"{self.namespace}:room:{copy.room_id}:log"
        while not self._closing:
            await self._ready.wait()
            if copy.generation != self._generation:  # Redis came back empty: a new log
                copy.last_id, copy.last_q, copy.generation = "0-0", 0, self._generation
            assert self._redis is not None
            try:
                reply = await self._redis.xread(
                    {key: copy.last_id}, count=_READ_COUNT, block=_READ_BLOCK_MS
                )
            except _TROUBLE as exc:
                self._trouble(exc)
                continue
            for _stream, entries in reply or ():
                for entry_id, fields in entries:
                    q = int(fields.get("q", 0))
                    if q != copy.last_q + 1:
                        await self._resync(copy, q)
                        break
                    copy.last_id, copy.last_q = entry_id, q
                    event = decode_entry(fields)
                    if event is not None:
                        self._deliver(copy.room, copy.room.apply(event))

    async def _resync(self, copy: _Copy, q: int) -> None:
        """The log skipped events (this process fell behind its trimming): start from a snapshot."""
        missed = _("room %s: events %d to %d missed here; resyncing")
        log.warning(missed, copy.room_id, copy.last_q, q)
        try:
            reply = await self._outbox.call(FOLLOW, [copy.room_id, self.process, str(10**9)])
        except BackplaneError as exc:
            self._trouble(exc)
            return
        _kind, copy.last_id, last_q, flat, history = reply
        copy.last_q = int(last_q)
        said = [e for e in map(decode_server_event, history) if isinstance(e, Said)]
        self._deliver(copy.room, copy.room.resync(members_of(flat), said))

    # --- health: heartbeats, dead processes, Redis coming back ------------------------

    def _trouble(self, exc: BaseException) -> None:
        if self._redis is None:
            return
        if self._available:
            log.warning(
                _("Redis at %s is unreachable (%s): messages get 'unavailable' until it answers"),
                self.url,
                exc,
            )
            self._available = self._outbox.available = False
            self._ready.clear()
        self._kick.set()

    async def _health(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                if not self._available:
                    await self._register()
                    self._available = self._outbox.available = True
                    delay = 0.1
                    self._missing.clear()
                    self._ready.set()
                    self._replay_kept()
                else:
                    await self._beat()
                    await self._reap()
            except _TROUBLE as exc:
                self._trouble(exc)
                await asyncio.sleep(delay)  # the retry's pace, not a synchronisation
                delay = min(1.0, delay * 2)
                continue
            self._kick.clear()
            with contextlib.suppress(TimeoutError):  # the heartbeat's pace
                await asyncio.wait_for(self._kick.wait(), self.interval)

    async def _heartbeat(self) -> tuple[str, bool]:
        lease = str(int(self.lease * 1000))
        epoch, known = await self._eval(HEARTBEAT, self.process, lease, secrets.token_hex(8))
        return epoch, bool(known)

    async def _register(self) -> None:
        assert self._redis is not None
        for script in SCRIPTS:
            await self._redis.script_load(script.source)
        epoch, known = await self._heartbeat()
        reset = self._epoch is not None and epoch != self._epoch
        lost, self._lost = self._lost or (self._epoch == epoch and not known), False
        if reset:
            empty = _("Redis at %s came back empty: registering this process's rooms")
            log.warning(empty, self.url)
            self._generation += 1
        self._epoch = epoch
        if reset or lost:
            for copy in list(self._copies.values()):
                await self._restore(copy, members=reset)
        if MAIN_ROOM not in self._copies:
            reply = await self._eval(FOLLOW, MAIN_ROOM, self.process, str(self.max_rooms))
            self._adopt(MAIN_ROOM, self.main, reply)
            self._rooms[MAIN_ROOM] = self.main

    async def _restore(self, copy: _Copy, members: bool) -> None:
        """Put this process's members and history of ``copy`` back into an empty Redis."""
        local = copy.room.local_members if members else ()
        flat = [part for m in local for part in (m.id, m.key, m.name)]
        history = [said.encode() for said in copy.room.history]
        _last_id, _q, lost = await self._eval(
            RESTORE, copy.room_id, self.process, str(len(local)), *flat, *history
        )
        keys = {m.id: m.key for m in local}
        for member_id in lost:  # another process's newcomer took the name meanwhile
            self._deliver(copy.room, copy.room.apply(Exited(member_id, keys[member_id])))

    def _replay_kept(self) -> None:
        kept, self._replay = self._replay, []
        for room_id, event in kept:
            if event is None and room_id in self._copies:
                continue  # opened again meanwhile: keep following it
            self._send_or_keep(room_id, event, force=True)

    async def _beat(self) -> None:
        epoch, known = await self._heartbeat()
        if epoch != self._epoch or not known:
            self._lost = not known and epoch == self._epoch
            raise BackplaneError(_("this process's registration was lost"))

    async def _reap(self) -> None:
        """Take out the members of processes whose heartbeat stopped."""
        copies = self._copies.values()
        owners = sorted({m.owner for c in copies for m in c.room.members} - {self.process, ""})
        states, expired = await self._eval(STATUS, *owners)
        now = asyncio.get_running_loop().time()
        dead = {proc for proc in expired if proc != self.process}  # with members here or not
        for owner, state in zip(owners, states, strict=True):
            if state == 0:
                self._missing.pop(owner, None)
            # Unknown (not expired): Redis restarted, and it may not have come back yet.
            elif state == 1 or now - self._missing.setdefault(owner, now) >= self.grace:
                dead.add(owner)
        for owner in sorted(dead):
            hints = [
                part
                for c in copies
                for m in c.room.members
                if m.owner == owner
                for part in (c.room_id, m.key, m.id)
            ]
            taken = await self._eval(REAP, owner, str(LOG_LENGTH), *hints)
            self._missing.pop(owner, None)
            if taken:
                gone = _("process %s stopped answering: %d of its users left")
                log.info(gone, owner, taken)
