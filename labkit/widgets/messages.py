"""What a chat panel shows, as plain values (no widgets, no I/O).

A :class:`ChatMessage` is one line of a panel's log. :func:`from_chat_event`
turns a server event of the chat room's JSON protocol into one (or ``None``
for events that only change the panel's state), so the panel, the notebooks
and the tests all reason about the same values.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ChatMessage", "Kind", "from_chat_event", "from_text_frame"]

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
        data: the raw frame payload or decoded JSON event.
    """

    kind: Kind
    text: str
    sender: str | None = None
    to: str | None = None
    ts: float = field(default_factory=time.time)
    data: Any = None


def from_text_frame(data: str | bytes, sender: str = "server") -> ChatMessage:
    """A message from a plain (non-chat) server such as echo."""
    if isinstance(data, bytes):
        return ChatMessage(
            "other", f"<{len(data)} bytes of binary: {data[:16].hex(' ')}>", sender, data=data
        )
    return ChatMessage("other", data, sender, data=data)


def _num(value: Any, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def from_chat_event(raw: str | bytes, me: str) -> tuple[ChatMessage | None, dict[str, Any] | None]:
    """Decode one frame of the chat protocol; return (log entry or None, event or None).

    Unknown or malformed frames become an ``error`` entry rather than an
    exception: a panel must keep working whatever a server sends.
    """
    try:
        event = json.loads(raw)
    except (ValueError, TypeError):
        return ChatMessage(
            "error", f"unreadable frame from the server: {raw[:80]!r}", data=raw
        ), None
    if not isinstance(event, dict):
        return ChatMessage(
            "error", f"unexpected frame from the server: {raw[:80]!r}", data=raw
        ), None
    kind = event.get("type")
    name = str(event.get("name", ""))
    now = time.time()
    if kind == "message":
        sender = str(event.get("from", "?"))
        to = event.get("to")
        ts = _num(event.get("ts"), now)
        text = str(event.get("text", ""))
        if to is not None:
            return ChatMessage("private", text, sender, str(to), ts, event), event
        return ChatMessage("other", text, sender, None, ts, event), event
    if kind == "welcome":
        users = [str(u) for u in event.get("users", []) if isinstance(u, str)]
        others = [u for u in users if u.casefold() != me.casefold()]
        who = ", ".join(others) if others else "nobody else yet"
        return ChatMessage("system", f"welcome, {name}! here: {who}", data=event), event
    if kind == "join":
        count = event.get("count")
        return ChatMessage("system", f"{name} joined ({count} online)", data=event), event
    if kind == "leave":
        count = event.get("count")
        return ChatMessage("system", f"{name} left ({count} online)", data=event), event
    if kind == "typing":
        return ChatMessage("typing", f"{name} is typing…", name, data=event), event
    if kind == "error":
        code = event.get("code", "error")
        return ChatMessage("error", f"{code}: {event.get('message', '')}", data=event), event
    return ChatMessage("error", f"unknown event type {kind!r}", data=event), event
