"""What a connection delivers once frames are put back together.

A WebSocket application never sees frames: it sees whole messages (RFC 6455,
section 5.4, reassembled), pings and pongs (section 5.5.2-3) and the peer's
close (section 5.5.1). These frozen dataclasses are those events.
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.protocol.frames import Opcode

__all__ = ["Close", "Event", "Message", "Ping", "Pong"]


@dataclass(frozen=True)
class Message:
    """A complete data message: ``str`` for text, ``bytes`` for binary."""

    data: str | bytes

    @property
    def is_text(self) -> bool:
        """Whether the message was sent as text (opcode 0x1)."""
        return isinstance(self.data, str)

    @property
    def opcode(self) -> Opcode:
        """The opcode of the message's first frame."""
        return Opcode.TEXT if self.is_text else Opcode.BINARY

    @property
    def size(self) -> int:
        """The payload size in bytes, as counted on the wire."""
        return len(self.data.encode("utf-8")) if isinstance(self.data, str) else len(self.data)


@dataclass(frozen=True)
class Ping:
    """A ping; the receiver must answer with a pong with the same payload."""

    payload: bytes = b""


@dataclass(frozen=True)
class Pong:
    """A pong, usually the answer to our ping."""

    payload: bytes = b""


@dataclass(frozen=True)
class Close:
    """The peer's close frame.

    Attributes:
        code: the status code, 1005 (``NO_STATUS_RCVD``) if the frame had none.
        reason: the UTF-8 reason, often empty.
    """

    code: int
    reason: str = ""


Event = Message | Ping | Pong | Close
"""Any of the events above."""
