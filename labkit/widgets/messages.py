"""What a chat panel shows, as plain values (no widgets, no I/O).

A :class:`ChatMessage` is one line of a panel's log. :func:`from_chat_event`
decodes a frame of the chat room's JSON protocol with
:func:`labkit.chat.protocol.decode_server_event` and turns the event into one
(:func:`from_server_event`), so the panel, the notebooks and the tests all
reason about the same values.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from labkit.chat.page_text import ERROR_MESSAGES
from labkit.chat.protocol import (
    ChatError,
    ErrorNotice,
    Joined,
    Left,
    Said,
    ServerEvent,
    TypingNotice,
    Welcome,
    decode_server_event,
)

from ..i18n import _, get_language

__all__ = [
    "ChatMessage",
    "Kind",
    "from_chat_event",
    "from_server_event",
    "from_text_frame",
    "join_names",
]

#: own: sent by this panel. other: from someone else (or the echo server).
#: private: a private message to or from this panel. system: joins, leaves,
#: connection changes. error: the server refused something. typing: a notice.
Kind = Literal["own", "other", "private", "system", "error", "typing"]


@dataclass(frozen=True)
class ChatMessage:
    """One entry of a panel's log.

    Attributes:
        kind: how to show it (see :data:`Kind`).
        text: the text, exactly as received (never interpreted as HTML).
        sender: who sent it, when known.
        to: the receiver of a private message.
        ts: UNIX seconds (the server's for chat messages, arrival time otherwise).
        data: the raw frame payload, or the decoded chat event.
    """

    kind: Kind
    text: str
    sender: str | None = None
    to: str | None = None
    ts: float = field(default_factory=time.time)
    data: Any = None


def join_names(names: Iterable[str]) -> str:
    """Names as one list for a sentence: ``ann, bob`` (``ann、bob`` in Chinese)."""
    # TRANSLATORS: what goes between two names of a list, as in "ann, bob".
    return _(", ").join(names)


def from_text_frame(data: str | bytes, sender: str | None = None) -> ChatMessage:
    """A message from a plain (non-chat) server such as echo.

    ``sender`` defaults to ``"server"`` in the language the kit speaks.
    """
    if sender is None:
        sender = _("server")
    if isinstance(data, bytes):
        text = _("<{count} bytes of binary: {hex}>").format(count=len(data), hex=data[:16].hex(" "))
        return ChatMessage("other", text, sender, data=data)
    return ChatMessage("other", data, sender, data=data)


def from_server_event(event: ServerEvent, me: str) -> ChatMessage | None:
    """The log entry for one chat event (``None`` for an event that only changes state).

    Args:
        event: a decoded server event.
        me: this panel's name, left out of a welcome's "here:" list.
    """
    if isinstance(event, Said):
        kind = "other" if event.to is None else "private"
        return ChatMessage(kind, event.text, event.sender, event.to, event.ts, event)
    if isinstance(event, Welcome):
        others = [user for user in event.users if user.casefold() != me.casefold()]
        if others:
            line = _("welcome, {name}! here: {users}").format(
                name=event.name, users=join_names(others)
            )
        else:
            line = _("welcome, {name}! here: nobody else yet").format(name=event.name)
        return ChatMessage("system", line, data=event)
    if isinstance(event, Joined):
        line = _("{name} joined ({count} online)").format(name=event.name, count=event.count)
        return ChatMessage("system", line, data=event)
    if isinstance(event, Left):
        line = _("{name} left ({count} online)").format(name=event.name, count=event.count)
        return ChatMessage("system", line, data=event)
    if isinstance(event, TypingNotice):
        line = _("{name} is typing…").format(name=event.name)
        return ChatMessage("typing", line, event.name, data=event)
    if isinstance(event, ErrorNotice):
        return ChatMessage("error", error_line(event, me), data=event)
    return None


def error_line(event: ErrorNotice, me: str) -> str:
    """What a panel shows for an error the room sent.

    The server's ``message`` is English (it is on the wire); in another language
    the panel shows the same text the page does for that ``code``, from the
    catalog, with the code after it.
    """
    known = ERROR_MESSAGES.get(str(event.code))
    if get_language() == "en" or known is None:
        return f"{event.code}: {event.message}"
    text = _(known).format(name=me)
    return _("{message} ({code})").format(message=text, code=event.code)


def from_chat_event(raw: str | bytes, me: str) -> tuple[ChatMessage | None, ServerEvent | None]:
    """Decode one frame of the chat protocol; return (log entry or None, event or None).

    A frame that does not decode becomes an ``error`` entry (and no event)
    rather than an exception: a panel must keep working whatever a server sends.
    """
    try:
        event = decode_server_event(raw)
    except ChatError as exc:
        line = _("unreadable frame from the server ({error}): {frame}").format(
            error=exc.message, frame=repr(raw[:80])
        )
        return ChatMessage("error", line, data=raw), None
    return from_server_event(event, me), event
