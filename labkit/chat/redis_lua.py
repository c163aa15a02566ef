"""The chat rooms' shared state in Redis: keys, Lua scripts and the log's entries, without I/O.

Every change to a room is one Lua script, so Redis runs it whole or not at all
(scripts are atomic): deciding a name and logging the join, dropping a name and
logging the leave, taking out a dead process's members and logging each leave
once. :mod:`labkit.chat.redis` runs them; this module only spells them.

Keys, under a namespace ``NS`` (``labkit:chat`` unless told otherwise)::

    NS:epoch                 a token set by the first server to see this Redis:
                             a new one means Redis restarted empty
    NS:procs                 ZSET  process -> expiry (ms, Redis clock): the heartbeats
    NS:rooms                 SET   the rooms under /rooms/ open anywhere (max_rooms)
    NS:proc:P:rooms          SET   the rooms process P has open
    NS:proc:P:members        HASH  "ROOM\\nKEY" -> member id, P's members (for reaping)
    NS:room:R:members        HASH  name key -> "ID\\nPROCESS\\nSEQ\\nNAME" (unique names)
    NS:room:R:followers      SET   the processes that have room R open
    NS:room:R:log            STREAM the room's events, in its one order (MAXLEN ~)
    NS:room:R:q              the number of the last event (a gap in them is a lost event)
    NS:room:R:seq            joining order
    NS:room:R:history        LIST  the last public messages, as their wire text
    NS:room:R:gone:ID        a short-lived mark: this member's leave is already logged

A log entry's fields: ``q`` (its number), ``e`` (``in``, ``out``, ``say``,
``pm``, ``typ``), ``m`` (member id) and, as the kind needs, ``k`` (name key),
``n`` (name), ``o`` (process), ``x`` (text), ``t`` (UNIX seconds), ``to`` and
``tn`` (the recipient's key and name).

Presence (after centrifugal/centrifuge's ``presence_add.lua``, a ZSET of
expiries cleaned in Lua): each process renews its expiry every few seconds; one
whose expiry has passed is dead, and the first live process to notice runs
:data:`REAP`, which removes its members and logs each leave once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from labkit.chat.ledger import Entered, Exited, Member, RoomEvent, Spoke, Typed, Whispered
from labkit.chat.protocol import Said

__all__ = [
    "FOLLOW",
    "HEARTBEAT",
    "JOIN",
    "LEAVE",
    "LOG_LENGTH",
    "POST",
    "REAP",
    "RESTORE",
    "SCRIPTS",
    "STATUS",
    "UNFOLLOW",
    "Script",
    "decode_entry",
    "event_args",
    "members_of",
]

LOG_LENGTH = 2000
"""Entries a room's log keeps, about (``XADD MAXLEN ~``): memory stays bounded."""

GONE_MS = 60_000
"""How long the mark that a reaped member's leave was logged is kept."""

_PRELUDE = """
local ns = ARGV[1]
local function k(...) return table.concat({ns, ...}, ':') end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function emit(room, loglen, ...)
  local q = redis.call('INCR', k('room', room, 'q'))
  return redis.call('XADD', k('room', room, 'log'), 'MAXLEN', '~', loglen, '*', 'q', q, ...)
end
local function owned(v, mid) return v and string.sub(v, 1, #mid + 1) == mid .. '\\n' end
local function drop(room)
  if room == '/' then return end
  redis.call('SREM', k('rooms'), room)
  redis.call('DEL', k('room', room, 'members'), k('room', room, 'history'),
    k('room', room, 'seq'), k('room', room, 'q'), k('room', room, 'followers'))
  redis.call('EXPIRE', k('room', room, 'log'), 60)
end
local function snapshot(room)
  local last = redis.call('XREVRANGE', k('room', room, 'log'), '+', '-', 'COUNT', 1)
  local id = '0-0'
  if #last > 0 then id = last[1][1] end
  return {'ok', id, redis.call('GET', k('room', room, 'q')) or '0',
    redis.call('HGETALL', k('room', room, 'members')),
    redis.call('LRANGE', k('room', room, 'history'), 0, -1)}
end
local function follow(room, proc)
  redis.call('SADD', k('room', room, 'followers'), proc)
  redis.call('SADD', k('proc', proc, 'rooms'), room)
  redis.call('PERSIST', k('room', room, 'log'))
end
"""


@dataclass(frozen=True)
class Script:
    """One Lua script: its name (for errors), source and SHA-1 (for ``EVALSHA``)."""

    name: str
    source: str

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode()).hexdigest()


def _script(name: str, body: str) -> Script:
    return Script(name, _PRELUDE + body)


HEARTBEAT = _script(
    "heartbeat",
    """
-- ns, proc, lease_ms, token -> {epoch, 1 if proc was known}
local epoch = redis.call('GET', k('epoch'))
if not epoch then redis.call('SET', k('epoch'), ARGV[4]); epoch = ARGV[4] end
local known = redis.call('ZSCORE', k('procs'), ARGV[2])
redis.call('ZADD', k('procs'), now_ms() + tonumber(ARGV[3]), ARGV[2])
return {epoch, known and 1 or 0}
""",
)

STATUS = _script(
    "status",
    """
-- ns, proc... -> {per process 0 alive, 1 expired, 2 unknown; every expired process}
local now, out = now_ms(), {}
for i = 2, #ARGV do
  local s = redis.call('ZSCORE', k('procs'), ARGV[i])
  if not s then out[#out + 1] = 2 elseif tonumber(s) < now then out[#out + 1] = 1
  else out[#out + 1] = 0 end
end
return {out, redis.call('ZRANGEBYSCORE', k('procs'), '-inf', '(' .. now)}
""",
)

FOLLOW = _script(
    "follow",
    """
-- ns, room, proc, max_rooms -> {'full', n} or {'ok', last id, q, HGETALL members, history}
local room = ARGV[2]
if room ~= '/' and redis.call('SISMEMBER', k('rooms'), room) == 0 then
  local n = redis.call('SCARD', k('rooms'))
  if n >= tonumber(ARGV[4]) then return {'full', n} end
  redis.call('SADD', k('rooms'), room)
end
follow(room, ARGV[3])
return snapshot(room)
""",
)

UNFOLLOW = _script(
    "unfollow",
    """
-- ns, room, proc
local room = ARGV[2]
redis.call('SREM', k('room', room, 'followers'), ARGV[3])
redis.call('SREM', k('proc', ARGV[3], 'rooms'), room)
if redis.call('SCARD', k('room', room, 'followers')) == 0 then drop(room) end
return 1
""",
)

JOIN = _script(
    "join",
    """
-- ns, room, loglen, proc, mid, key, name -> {'ok'} or {'taken'}
local room, proc, mid, key, name = ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local members = k('room', room, 'members')
if redis.call('HEXISTS', members, key) == 1 then return {'taken'} end
local seq = redis.call('INCR', k('room', room, 'seq'))
redis.call('HSET', members, key, mid .. '\\n' .. proc .. '\\n' .. seq .. '\\n' .. name)
redis.call('HSET', k('proc', proc, 'members'), room .. '\\n' .. key, mid)
emit(room, ARGV[3], 'e', 'in', 'm', mid, 'k', key, 'n', name, 'o', proc)
return {'ok'}
""",
)

LEAVE = _script(
    "leave",
    """
-- ns, room, loglen, proc, mid, key, force -> 1 if it held the name
local room, proc, mid, key = ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local members = k('room', room, 'members')
local held = owned(redis.call('HGET', members, key), mid)
if held then redis.call('HDEL', members, key) end
redis.call('HDEL', k('proc', proc, 'members'), room .. '\\n' .. key)
if held or ARGV[7] == '1' then emit(room, ARGV[3], 'e', 'out', 'm', mid, 'k', key) end
return held and 1 or 0
""",
)

POST = _script(
    "post",
    """
-- ns, room, loglen, mid, key, history length, wire text or '', fields... -> {'ok'} or {'gone'}
local room = ARGV[2]
if not owned(redis.call('HGET', k('room', room, 'members'), ARGV[5]), ARGV[4]) then
  return {'gone'}
end
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
emit(room, ARGV[3], unpack(fields))
if ARGV[7] ~= '' and tonumber(ARGV[6]) > 0 then
  redis.call('RPUSH', k('room', room, 'history'), ARGV[7])
  redis.call('LTRIM', k('room', room, 'history'), -tonumber(ARGV[6]), -1)
end
return {'ok'}
""",
)

REAP = _script(
    "reap",
    """
-- ns, dead proc, loglen, (room, key, member id) triples the caller holds -> leaves logged
local dead, loglen = ARGV[2], ARGV[3]
local s = redis.call('ZSCORE', k('procs'), dead)
if s and tonumber(s) >= now_ms() then return 0 end
local n = 0
local function gone(room, key, mid, hinted)
  local members = k('room', room, 'members')
  local v = redis.call('HGET', members, key)
  if owned(v, mid) then
    redis.call('HDEL', members, key)
  elseif v or not hinted then
    return
  end
  if redis.call('SET', k('room', room, 'gone', mid), '1', 'NX', 'PX', GONE_MS) then
    emit(room, loglen, 'e', 'out', 'm', mid, 'k', key)
    n = n + 1
  end
end
local index = k('proc', dead, 'members')
local held = redis.call('HGETALL', index)
for i = 1, #held, 2 do
  local room, key = string.match(held[i], '^(.-)\\n(.*)$')
  gone(room, key, held[i + 1], false)
end
for i = 4, #ARGV - 2, 3 do gone(ARGV[i], ARGV[i + 1], ARGV[i + 2], true) end
redis.call('DEL', index)
for _, room in ipairs(redis.call('SMEMBERS', k('proc', dead, 'rooms'))) do
  redis.call('SREM', k('room', room, 'followers'), dead)
  if redis.call('SCARD', k('room', room, 'followers')) == 0 then drop(room) end
end
redis.call('DEL', k('proc', dead, 'rooms'))
redis.call('ZREM', k('procs'), dead)
return n
""".replace("GONE_MS", str(GONE_MS)),
)

RESTORE = _script(
    "restore",
    """
-- ns, room, proc, n, (member id, key, name) * n, history wire texts...
-- -> {last id, q, member ids that lost their name}
local room, proc, n = ARGV[2], ARGV[3], tonumber(ARGV[4])
if room ~= '/' then redis.call('SADD', k('rooms'), room) end
follow(room, proc)
local members, lost = k('room', room, 'members'), {}
for i = 5, 4 + 3 * n, 3 do
  local mid, key, name = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local v = redis.call('HGET', members, key)
  if not v then
    local seq = redis.call('INCR', k('room', room, 'seq'))
    redis.call('HSET', members, key, mid .. '\\n' .. proc .. '\\n' .. seq .. '\\n' .. name)
    redis.call('HSET', k('proc', proc, 'members'), room .. '\\n' .. key, mid)
  elseif not owned(v, mid) then
    lost[#lost + 1] = mid
  end
end
if redis.call('EXISTS', k('room', room, 'history')) == 0 and #ARGV > 4 + 3 * n then
  for i = 5 + 3 * n, #ARGV do redis.call('RPUSH', k('room', room, 'history'), ARGV[i]) end
end
local snap = snapshot(room)
return {snap[2], snap[3], lost}
""",
)

#: Every script, loaded with ``SCRIPT LOAD`` whenever a server (re)connects.
SCRIPTS = (HEARTBEAT, STATUS, FOLLOW, UNFOLLOW, JOIN, LEAVE, POST, REAP, RESTORE)


def members_of(flat: list[str]) -> list[Member[str]]:
    """The members of ``HGETALL NS:room:R:members`` (key, value, ...), in joining order."""
    found = []
    for key, value in zip(flat[::2], flat[1::2], strict=True):
        member_id, owner, seq, name = value.split("\n", 3)
        found.append((int(seq), Member(member_id, name, key, owner)))
    return [member for _, member in sorted(found, key=lambda pair: pair[0])]


def event_args(
    event: RoomEvent[str], owner: str, key: str, history: int, force: bool = False
) -> tuple[Script, list[str]]:
    """The script and its arguments after ``ns, room, loglen`` that log ``event``.

    Args:
        event: made by this process's copy of the room.
        owner: this process.
        key: the name key of the member who made it (``POST`` checks it still holds it).
        history: public messages the room keeps (``POST`` trims the list to it).
        force: for a leave, log it even if the name is no longer held (a leave
            made while Redis was away, replayed: the others may still hold it).
    """
    if isinstance(event, Spoke):
        said = event.said
        fields = ["e", "say", "m", event.id, "n", said.sender, "x", said.text, "t", repr(said.ts)]
        return POST, [event.id, key, str(history), said.encode(), *fields]
    if isinstance(event, Entered):
        member = event.member
        return JOIN, [owner, member.id, member.key, member.name]
    if isinstance(event, Exited):
        return LEAVE, [owner, event.id, event.key, "1" if force else "0"]
    if isinstance(event, Whispered):
        said = event.said
        fields = ["e", "pm", "m", event.id, "n", said.sender, "x", said.text, "t", repr(said.ts)]
        fields += ["to", event.to_key, "tn", said.to or ""]
        return POST, [event.id, key, "0", "", *fields]
    assert isinstance(event, Typed)
    fields = ["e", "typ", "m", event.id, "n", event.name]
    return POST, [event.id, key, "0", "", *fields]


def decode_entry(fields: dict[str, str]) -> RoomEvent[str] | None:
    """The room event of one log entry (``None`` for a kind this version does not know)."""
    kind, member_id = fields.get("e"), fields.get("m", "")
    if kind == "say":
        return Spoke(member_id, Said(fields["n"], fields["x"], float(fields["t"])))
    if kind == "in":
        return Entered(Member(member_id, fields["n"], fields["k"], fields.get("o", "")))
    if kind == "out":
        return Exited(member_id, fields.get("k", ""))
    if kind == "typ":
        return Typed(member_id, fields["n"])
    if kind == "pm":
        said = Said(fields["n"], fields["x"], float(fields["t"]), to=fields.get("tn") or None)
        return Whispered(member_id, fields["to"], said)
    return None
