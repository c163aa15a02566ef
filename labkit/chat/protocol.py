"""The chat room's wire protocol, both ways, without any I/O.

Every WebSocket message of the chat is one *text* frame (RFC 6455, section 5.6)
holding one JSON object with a ``"type"``. This module is the one place that knows
that JSON: each frame is a small frozen value whose ``encode()`` gives its wire text.

* the server reads a client's frame with :func:`parse` (a request, or :class:`ChatError`
  with a machine-readable code) and sends events (:class:`Welcome`, :class:`Joined`,
  :class:`Left`, :class:`Said`, :class:`TypingNotice`, :class:`ErrorNotice`), each
  encoded once, so the room can send the same string to a thousand readers;
* a client reads those with :func:`decode_server_event`, and sends requests' ``encode()``.

Client to server (requests)::

    {"type": "join", "name": NAME}                  Join: must come before anything else
    {"type": "message", "text": TEXT}               Say: to every other user
    {"type": "message", "text": TEXT, "to": NAME}   Say(to=...): private, to that one user
    {"type": "typing"}                              Typing: "NAME is typing" for the others

Server to client (events)::

    {"type": "welcome", "name": NAME, "users": [...], "history": [...]}    Welcome
    {"type": "join", "name": NAME, "count": N}                            Joined
    {"type": "leave", "name": NAME, "count": N}                           Left
    {"type": "message", "from": NAME, "text": TEXT, "ts": UNIX_SECONDS}   Said (+ "to" if private)
    {"type": "typing", "name": NAME}                                      TypingNotice
    {"type": "error", "code": CODE, "message": HUMAN_TEXT}                ErrorNotice

Encoders write compact JSON, non-ASCII kept as is, keys in the order above: the
browser page (``page.html``) and the Node clients of the tests and benchmarks read it.

Which code for which mistake in a client frame (the connection always stays open):

* ``bad_json``: a binary frame (RFC 6455, section 5.6: opcode 0x2), text that is
  not JSON, JSON that is not an object, JSON too deeply nested or with numbers
  too long to parse, ``"text"`` or ``"to"`` that is not a string, text holding
  a lone surrogate (it could not be sent on as UTF-8, RFC 6455, section 8.1).
* ``unknown_type``: ``"type"`` missing, not a string, or not one of the three.
* ``bad_name``: a name that is not a string, empty after trimming, longer than
  :data:`MAX_NAME`, or holding control or format characters; also a second
  ``join`` on a connection that already joined ("already joined as X").
* ``too_long``: text longer than :data:`MAX_TEXT` characters.
* ``name_taken``, ``not_joined``, ``unknown_user``, ``rate_limited``: decided by
  the room (:mod:`labkit.chat.room`), which knows who is there; ``unavailable``: its store.

Fields the server does not expect are ignored, including a client-sent ``from``
or ``ts``: the server always sets those itself. A client's :func:`decode_server_event`
also ignores extra fields, and raises ``bad_json`` or ``unknown_type`` likewise.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from labkit.chat.quoting import shown
from labkit.errors import LabkitError, in_both
from labkit.i18n import N_

__all__ = [
    "HISTORY",
    "JOIN_FIRST",
    "MAX_MESSAGE_SIZE",
    "MAX_NAME",
    "MAX_TEXT",
    "ChatError",
    "ErrorCode",
    "ErrorNotice",
    "Join",
    "Joined",
    "Left",
    "Request",
    "Said",
    "Say",
    "ServerEvent",
    "Typing",
    "TypingNotice",
    "Welcome",
    "decode_server_event",
    "name_key",
    "parse",
    "shown",
    "validate_name",
]

MAX_NAME = 32
"""Longest user name, in characters, after trimming white space."""

MAX_TEXT = 4000
"""Longest message text, in characters (code points)."""

MAX_MESSAGE_SIZE = 64 * 1024
"""Largest message a client may send, in bytes; bigger closes with 1009 (RFC 6455, 7.4.1)."""

JOIN_FIRST = 'send {"type": "join", "name": ...} first'
"""What a client that speaks before joining is told (with ``not_joined``)."""

HISTORY = 50
"""How many recent public messages a newcomer receives in its welcome."""

# Unicode general categories refused in names: C0/C1 controls (Cc), invisible
# format characters such as RTL overrides and zero-width joiners (Cf), line and
# paragraph separators (Zl, Zp) and surrogates (Cs), which only occur alone in a
# Python str decoded from JSON escapes and could never be encoded as UTF-8.
_BAD_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})

# Compact separators: every byte counts when one event goes to a thousand users.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class ErrorCode(StrEnum):
    """The ``code`` of an ``{"type": "error"}`` event."""

    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    BAD_NAME = "bad_name"
    NAME_TAKEN = "name_taken"
    NOT_JOINED = "not_joined"
    UNKNOWN_USER = "unknown_user"
    TOO_LONG = "too_long"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"  # the room's shared store (Redis) cannot be reached: try again


class ChatError(LabkitError):
    """A chat frame that breaks the protocol.

    The server raises it for a client frame (:func:`parse`, or a rule of the
    room) and answers with an error event, never a close. A client gets it
    from :func:`decode_server_event` for a server frame it cannot read.

    Attributes:
        code: the :class:`ErrorCode` (sent to the client, on the server side).
        message: a short human text saying what was wrong, in English: it goes
            on the wire. ``str(error)`` is in the language spoken when raised.
    """

    def __init__(self, code: ErrorCode | str, message: str, /, **values: object) -> None:
        self.code = ErrorCode(code)
        shown, self.message = in_both(message, values)  # values fill in {name}s
        super().__init__(f"{self.code}: {shown}")

    def event(self) -> ErrorNotice:
        """Return this error as the event the server answers with."""
        return ErrorNotice(self.code, self.message)

    def encode(self) -> str:
        """Return this error as the JSON text of an error event."""
        return self.event().encode()


# --- requests (client to server) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Join:
    """``{"type": "join"}``: take a name (trimmed and valid when :func:`parse` made it)."""

    name: str

    def encode(self) -> str:
        """The frame a client sends to join."""
        return _dumps({"type": "join", "name": self.name})


@dataclass(frozen=True, slots=True)
class Say:
    """``{"type": "message"}``: text for everyone else, or for ``to`` only when it is set."""

    text: str
    to: str | None = None

    def encode(self) -> str:
        """The frame a client sends to say ``text`` (privately when ``to`` is set)."""
        request = {"type": "message", "text": self.text}
        return _dumps(request if self.to is None else {**request, "to": self.to})


@dataclass(frozen=True, slots=True)
class Typing:
    """``{"type": "typing"}``: tell the others this user is typing."""

    def encode(self) -> str:
        """The frame a client sends while its user types."""
        return _dumps({"type": "typing"})


Request = Join | Say | Typing
"""Any value :func:`parse` returns: what a client sends."""


def _has_surrogate(text: str) -> bool:
    # Encoding is the fastest exact test (C speed) and allocates only on success,
    # which is the common case we are about to pay for anyway when sending.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def validate_name(name: object) -> str:
    """Check a requested user name and return it trimmed.

    Args:
        name: the ``"name"`` field of a join, any JSON value.

    Returns:
        The name without leading and trailing white space.

    Raises:
        ChatError: ``bad_name`` when it is not a string, is empty or longer than
            :data:`MAX_NAME` after trimming, or holds a control, format, line or
            paragraph separator character or a lone surrogate.
    """
    if not isinstance(name, str):
        raise ChatError(ErrorCode.BAD_NAME, N_("the name must be a string"))
    name = name.strip()
    if not name:
        raise ChatError(ErrorCode.BAD_NAME, N_("the name is empty"))
    if len(name) > MAX_NAME:
        raise ChatError(
            ErrorCode.BAD_NAME, N_("the name is longer than {limit} characters"), limit=MAX_NAME
        )
    for char in name:
        if unicodedata.category(char) in _BAD_NAME_CATEGORIES:
            invisible = N_("the name holds the invisible or control character {char}")
            raise ChatError(ErrorCode.BAD_NAME, invisible, char=f"U+{ord(char):04X}")
    return name


def name_key(name: str) -> str:
    """Return the key that makes two names "the same" in a room.

    NFKC folds look-alike forms (full-width ``Ａ`` is ``A``), then ``casefold``
    ignores case the Unicode way (``"Straße"`` and ``"STRASSE"`` collide).
    """
    return unicodedata.normalize("NFKC", name).casefold()


def _json_object(text: str) -> dict[str, Any]:
    """Parse ``text`` as one JSON object, or raise ``bad_json``."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ChatError(ErrorCode.BAD_JSON, N_("the JSON is nested too deeply")) from None
    except ValueError as exc:
        # JSONDecodeError, and the ValueError for integers longer than
        # sys.get_int_max_str_digits() (CVE-2020-10735).
        why = shown(str(exc), 80)
        raise ChatError(ErrorCode.BAD_JSON, N_("not valid JSON ({why})"), why=why) from None
    if not isinstance(data, dict):
        raise ChatError(ErrorCode.BAD_JSON, N_("the frame must be a JSON object"))
    return data


def parse(frame: str | bytes) -> Request:
    """Parse and check one incoming WebSocket message (the server side).

    Args:
        frame: the message as websockets delivers it: ``str`` for a text frame,
            ``bytes`` for a binary one.

    Returns:
        A :class:`Join`, :class:`Say` or :class:`Typing`.

    Raises:
        ChatError: ``bad_json``, ``unknown_type``, ``bad_name`` or ``too_long``
            as listed in the module docstring.
    """
    if not isinstance(frame, str):
        # RFC 6455, section 5.6: this protocol only speaks text frames.
        raise ChatError(ErrorCode.BAD_JSON, N_("binary frames are not accepted; send JSON text"))
    if len(frame) > MAX_MESSAGE_SIZE:
        # The WebSocket layer closes bigger messages with 1009 first; this guards
        # callers that feed the parser directly.
        too_long = N_("the frame is longer than {limit} bytes")
        raise ChatError(ErrorCode.TOO_LONG, too_long, limit=MAX_MESSAGE_SIZE)
    data = _json_object(frame)
    kind = data.get("type")
    if kind == "message":
        text = data.get("text")
        if not isinstance(text, str):
            raise ChatError(ErrorCode.BAD_JSON, N_('a message needs a string "text"'))
        if len(text) > MAX_TEXT:
            too_long = N_("the text is longer than {limit} characters")
            raise ChatError(ErrorCode.TOO_LONG, too_long, limit=MAX_TEXT)
        if _has_surrogate(text):
            raise ChatError(ErrorCode.BAD_JSON, N_("the text holds a lone surrogate (not Unicode)"))
        to = data.get("to")
        if to is not None and not isinstance(to, str):
            raise ChatError(ErrorCode.BAD_JSON, N_('"to" must be a user name (a string)'))
        return Say(text, to)
    if kind == "typing":
        return Typing()
    if kind == "join":
        return Join(validate_name(data.get("name")))
    if isinstance(kind, str):
        raise ChatError(ErrorCode.UNKNOWN_TYPE, N_("unknown type {type}"), type=shown(kind))
    no_type = N_('the object needs a "type": join, message or typing')
    raise ChatError(ErrorCode.UNKNOWN_TYPE, no_type)


# --- events (server to client) -----------------------------------------------


class _Event:
    """What every server event has: its wire ``type``, its JSON object, its text."""

    __slots__ = ()
    type: ClassVar[str]

    def as_dict(self) -> dict[str, Any]:
        """The event as its JSON object, keys in wire order."""
        raise NotImplementedError

    def encode(self) -> str:
        """The event's exact wire text: compact JSON, non-ASCII kept as is."""
        return _dumps(self.as_dict())


@dataclass(frozen=True, slots=True)
class Said(_Event):
    """``{"type": "message"}``: ``sender`` (``"from"`` on the wire) said ``text``.

    ``ts``: the server's clock, UNIX seconds. ``to``: set on a private message.
    """

    sender: str
    text: str
    ts: float
    to: str | None = None
    type: ClassVar[str] = "message"

    def as_dict(self) -> dict[str, Any]:
        event = {"type": "message", "from": self.sender, "text": self.text, "ts": self.ts}
        return event if self.to is None else {**event, "to": self.to}


@dataclass(frozen=True, slots=True)
class Welcome(_Event):
    """``{"type": "welcome"}``: the answer to a good join.

    ``name`` is as the room stored it (trimmed); ``users`` lists everyone, the
    newcomer included, in joining order; ``history`` the last public messages.
    """

    name: str
    users: tuple[str, ...]
    history: tuple[Said, ...] = ()
    type: ClassVar[str] = "welcome"

    def as_dict(self) -> dict[str, Any]:
        history = [said.as_dict() for said in self.history]
        return {"type": "welcome", "name": self.name, "users": list(self.users), "history": history}


@dataclass(frozen=True, slots=True)
class Joined(_Event):
    """``{"type": "join"}``: ``name`` joined; the room now holds ``count`` users."""

    name: str
    count: int
    type: ClassVar[str] = "join"

    def as_dict(self) -> dict[str, Any]:
        return {"type": "join", "name": self.name, "count": self.count}


@dataclass(frozen=True, slots=True)
class Left(_Event):
    """``{"type": "leave"}``: ``name`` left; the room now holds ``count`` users."""

    name: str
    count: int
    type: ClassVar[str] = "leave"

    def as_dict(self) -> dict[str, Any]:
        return {"type": "leave", "name": self.name, "count": self.count}


@dataclass(frozen=True, slots=True)
class TypingNotice(_Event):
    """``{"type": "typing"}``: ``name`` is typing."""

    name: str
    type: ClassVar[str] = "typing"

    def as_dict(self) -> dict[str, Any]:
        return {"type": "typing", "name": self.name}


@dataclass(frozen=True, slots=True)
class ErrorNotice(_Event):
    """``{"type": "error"}``: the server refused a frame; the connection stays open."""

    code: ErrorCode
    message: str
    type: ClassVar[str] = "error"

    def as_dict(self) -> dict[str, Any]:
        return {"type": "error", "code": str(self.code), "message": self.message}


ServerEvent = Welcome | Joined | Left | Said | TypingNotice | ErrorNotice
"""Any value :func:`decode_server_event` returns: what a server sends."""


def _lacks(data: dict[str, Any], key: str, message: str) -> ChatError:  # a whole sentence
    return ChatError(ErrorCode.BAD_JSON, message, event=shown(data["type"]), key=key)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _lacks(data, key, N_('a {event} event needs "{key}": a string'))
    return value


def _count(data: dict[str, Any]) -> int:
    value = data.get("count")
    if not isinstance(value, int) or isinstance(value, bool):
        raise _lacks(data, "count", N_('a {event} event needs "{key}": an integer'))
    return value


def _said(data: dict[str, Any]) -> Said:
    ts, to = data.get("ts"), data.get("to")
    if not isinstance(ts, int | float) or isinstance(ts, bool):
        raise _lacks(data, "ts", N_('a {event} event needs "{key}": a number (UNIX seconds)'))
    if to is not None and not isinstance(to, str):
        raise _lacks(data, "to", N_('a {event} event needs "{key}": a name (a string), or nothing'))
    return Said(_text(data, "from"), _text(data, "text"), ts, to)


def _welcome(data: dict[str, Any]) -> Welcome:
    users, history = data.get("users"), data.get("history", [])
    if not isinstance(users, list) or not all(isinstance(user, str) for user in users):
        raise _lacks(data, "users", N_('a {event} event needs "{key}": a list of names'))
    if not isinstance(history, list) or not all(
        isinstance(m, dict) and m.get("type") == "message" for m in history
    ):
        raise _lacks(data, "history", N_('a {event} event needs "{key}": a list of message events'))
    return Welcome(_text(data, "name"), tuple(users), tuple(_said(m) for m in history))


def _error(data: dict[str, Any]) -> ErrorNotice:
    code = _text(data, "code")
    if code not in ErrorCode.__members__.values():
        raise ChatError(ErrorCode.BAD_JSON, N_("unknown error code {code}"), code=shown(code))
    return ErrorNotice(ErrorCode(code), _text(data, "message"))


_DECODERS: dict[str, Callable[[dict[str, Any]], ServerEvent]] = {
    "welcome": _welcome,
    "join": lambda data: Joined(_text(data, "name"), _count(data)),
    "leave": lambda data: Left(_text(data, "name"), _count(data)),
    "message": _said,
    "typing": lambda data: TypingNotice(_text(data, "name")),
    "error": _error,
}


def decode_server_event(frame: str | bytes) -> ServerEvent:
    """Decode one WebSocket message a chat server sent (the client side).

    Args:
        frame: ``str`` for a text frame, ``bytes`` for a binary one.

    Returns:
        The event; ``decode_server_event(event.encode()) == event`` for every event.

    Raises:
        ChatError: ``bad_json`` for a binary frame (RFC 6455, section 5.6: the
            chat speaks text), text that is not one JSON object, or a missing
            or mistyped field; ``unknown_type`` for a missing or unknown type.
    """
    if not isinstance(frame, str):
        raise ChatError(ErrorCode.BAD_JSON, N_("a binary frame; the chat's events are JSON text"))
    data = _json_object(frame)
    kind = data.get("type")
    decode = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decode is None:
        unknown = N_("unknown event type {type}; the chat sends {types}")
        if not isinstance(kind, str):
            unknown = N_("no string type; the chat sends {types}")
        types = ", ".join(_DECODERS)
        raise ChatError(ErrorCode.UNKNOWN_TYPE, unknown, type=shown(kind), types=types)
    return decode(data)
