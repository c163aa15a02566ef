"""The chat room's wire protocol, without any I/O.

Every WebSocket message of the chat is one *text* frame (RFC 6455, section 5.6)
holding one JSON object with a ``"type"``. This module turns an incoming frame
into a small frozen value, or raises :class:`ChatError` with a machine-readable
code, and it encodes every server event into JSON text exactly once, so the room
can send the same string to a thousand readers.

Client to server::

    {"type": "join", "name": NAME}                  must come before anything else
    {"type": "message", "text": TEXT}               to every other user
    {"type": "message", "text": TEXT, "to": NAME}   private, to that one user
    {"type": "typing"}                              "NAME is typing" for the others

Server to client::

    {"type": "welcome", "name": NAME, "users": [...], "history": [...]}
    {"type": "join", "name": NAME, "count": N}
    {"type": "leave", "name": NAME, "count": N}
    {"type": "message", "from": NAME, "text": TEXT, "ts": UNIX_SECONDS}   (+ "to" if private)
    {"type": "typing", "name": NAME}
    {"type": "error", "code": CODE, "message": HUMAN_TEXT}

Which code for which mistake (the connection always stays open):

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
  the room (:mod:`labkit.chat.room`), which knows who is there.

Fields the server does not expect are ignored, including a client-sent ``from``
or ``ts``: the server always sets those itself.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from labkit.errors import LabkitError

__all__ = [
    "HISTORY",
    "MAX_FRAME",
    "MAX_NAME",
    "MAX_TEXT",
    "ChatError",
    "ErrorCode",
    "Join",
    "Request",
    "Say",
    "Typing",
    "encode_error",
    "encode_join",
    "encode_leave",
    "encode_message",
    "encode_typing",
    "encode_welcome",
    "name_key",
    "parse",
    "shown",
    "validate_name",
]

MAX_NAME = 32
"""Longest user name, in characters, after trimming white space."""

MAX_TEXT = 4000
"""Longest message text, in characters (code points)."""

MAX_FRAME = 64 * 1024
"""Largest incoming WebSocket message, in bytes; bigger ones close with 1009 (RFC 6455, 7.4.1)."""

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


class ChatError(LabkitError):
    """A client frame the chat refuses; answered with an error event, never a close.

    Attributes:
        code: the :class:`ErrorCode` sent to the client.
        message: a short human text saying what was wrong.
    """

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        self.code = ErrorCode(code)
        self.message = message
        super().__init__(f"{self.code}: {message}")

    def encode(self) -> str:
        """Return this error as the JSON text of an error event."""
        return encode_error(self.code, self.message)


# --- requests (client to server) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Join:
    """``{"type": "join"}``: take a name in the room. ``name`` is already trimmed and valid."""

    name: str


@dataclass(frozen=True, slots=True)
class Say:
    """``{"type": "message"}``: text for everyone else, or for ``to`` only when it is set."""

    text: str
    to: str | None = None


@dataclass(frozen=True, slots=True)
class Typing:
    """``{"type": "typing"}``: tell the others this user is typing."""


Request = Join | Say | Typing
"""Any value :func:`parse` returns."""


def shown(value: object, limit: int = 40) -> str:
    """Quote client data for a human error message, safely.

    The result is short, and a lone surrogate is escaped (``\\ud800``) so the
    error event itself can always be encoded as UTF-8.

    Args:
        value: what the client sent.
        limit: keep at most this many characters before adding an ellipsis.
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return json.dumps(text, ensure_ascii=False)


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
        raise ChatError(ErrorCode.BAD_NAME, "the name must be a string")
    name = name.strip()
    if not name:
        raise ChatError(ErrorCode.BAD_NAME, "the name is empty")
    if len(name) > MAX_NAME:
        raise ChatError(ErrorCode.BAD_NAME, f"the name is longer than {MAX_NAME} characters")
    for char in name:
        if unicodedata.category(char) in _BAD_NAME_CATEGORIES:
            raise ChatError(
                ErrorCode.BAD_NAME,
                f"the name holds the invisible or control character U+{ord(char):04X}",
            )
    return name


def name_key(name: str) -> str:
    """Return the key that makes two names "the same" in a room.

    NFKC folds look-alike forms (full-width ``Ａ`` is ``A``), then ``casefold``
    ignores case the Unicode way (``"Straße"`` and ``"STRASSE"`` collide).
    """
    return unicodedata.normalize("NFKC", name).casefold()


def _load(frame: str | bytes) -> dict[str, Any]:
    if not isinstance(frame, str):
        # RFC 6455, section 5.6: this protocol only speaks text frames.
        raise ChatError(ErrorCode.BAD_JSON, "binary frames are not accepted; send JSON text")
    if len(frame) > MAX_FRAME:
        # The WebSocket layer closes bigger messages with 1009 first; this guards
        # callers that feed the parser directly.
        raise ChatError(ErrorCode.TOO_LONG, f"the frame is longer than {MAX_FRAME} bytes")
    try:
        data = json.loads(frame)
    except RecursionError:
        raise ChatError(ErrorCode.BAD_JSON, "the JSON is nested too deeply") from None
    except ValueError as exc:
        # JSONDecodeError, and the ValueError for integers longer than
        # sys.get_int_max_str_digits() (CVE-2020-10735).
        raise ChatError(ErrorCode.BAD_JSON, f"not valid JSON ({shown(str(exc), 80)})") from None
    if not isinstance(data, dict):
        raise ChatError(ErrorCode.BAD_JSON, "the frame must be a JSON object")
    return data


def parse(frame: str | bytes) -> Request:
    """Parse and check one incoming WebSocket message.

    Args:
        frame: the message as websockets delivers it: ``str`` for a text frame,
            ``bytes`` for a binary one.

    Returns:
        A :class:`Join`, :class:`Say` or :class:`Typing`.

    Raises:
        ChatError: ``bad_json``, ``unknown_type``, ``bad_name`` or ``too_long``
            as listed in the module docstring.
    """
    data = _load(frame)
    kind = data.get("type")
    if kind == "message":
        text = data.get("text")
        if not isinstance(text, str):
            raise ChatError(ErrorCode.BAD_JSON, 'a message needs a string "text"')
        if len(text) > MAX_TEXT:
            raise ChatError(ErrorCode.TOO_LONG, f"the text is longer than {MAX_TEXT} characters")
        if _has_surrogate(text):
            raise ChatError(ErrorCode.BAD_JSON, "the text holds a lone surrogate (not Unicode)")
        to = data.get("to")
        if to is not None and not isinstance(to, str):
            raise ChatError(ErrorCode.BAD_JSON, '"to" must be a user name (a string)')
        return Say(text, to)
    if kind == "typing":
        return Typing()
    if kind == "join":
        return Join(validate_name(data.get("name")))
    if isinstance(kind, str):
        raise ChatError(ErrorCode.UNKNOWN_TYPE, f"unknown type {shown(kind)}")
    raise ChatError(ErrorCode.UNKNOWN_TYPE, 'the object needs a "type": join, message or typing')


# --- events (server to client) -----------------------------------------------


def encode_welcome(name: str, users: Iterable[str], history: Iterable[str]) -> str:
    """Encode the answer to a good join.

    Args:
        name: the name as the room stored it (trimmed).
        users: everyone in the room, the newcomer included, in joining order.
        history: recent public message events, *already encoded* by
            :func:`encode_message`; they are spliced in, not encoded again.
    """
    head = _dumps({"type": "welcome", "name": name, "users": list(users)})
    return f'{head[:-1]},"history":[{",".join(history)}]}}'


def encode_join(name: str, count: int) -> str:
    """Encode "NAME joined; the room now holds COUNT users" for the others."""
    return _dumps({"type": "join", "name": name, "count": count})


def encode_leave(name: str, count: int) -> str:
    """Encode "NAME left; the room now holds COUNT users" for the others."""
    return _dumps({"type": "leave", "name": name, "count": count})


def encode_message(sender: str, text: str, ts: float, to: str | None = None) -> str:
    """Encode a chat message; ``to`` marks a private one."""
    event: dict[str, Any] = {"type": "message", "from": sender, "text": text, "ts": ts}
    if to is not None:
        event["to"] = to
    return _dumps(event)


def encode_typing(name: str) -> str:
    """Encode "NAME is typing"."""
    return _dumps({"type": "typing", "name": name})


def encode_error(code: ErrorCode | str, message: str) -> str:
    """Encode an error event; the connection stays open."""
    return _dumps({"type": "error", "code": str(code), "message": message})
