"""Putting fragmented messages back together (RFC 6455, section 5.4).

A message is one data frame with FIN set, or a TEXT/BINARY frame without FIN
followed by CONT frames, the last of which has FIN. Control frames may arrive
between the fragments of a message (so a ping is answered even during a large
upload) but are never fragmented themselves.

Theory of operation: the assembler is a two-state machine::

    IDLE    --TEXT/BINARY, FIN=0-->  IN_MESSAGE
    IDLE    --TEXT/BINARY, FIN=1-->  IDLE        (emit Message)
    IN_MESSAGE --CONT, FIN=0-->      IN_MESSAGE
    IN_MESSAGE --CONT, FIN=1-->      IDLE        (emit Message)
    any     --PING/PONG/CLOSE-->     same state  (emit Ping/Pong/Close)

    IDLE --CONT--> error 1002;  IN_MESSAGE --TEXT/BINARY--> error 1002

Size and UTF-8 are checked fragment by fragment, so a too-big or invalid
message fails as soon as the offending fragment arrives.
"""

from __future__ import annotations

from labkit.errors import FrameError, MessageTooBig
from labkit.i18n import N_
from labkit.protocol.close import parse_close
from labkit.protocol.events import Close, Event, Message, Ping, Pong
from labkit.protocol.frames import Frame, Opcode, Role
from labkit.protocol.utf8 import Utf8Decoder

__all__ = ["MessageAssembler"]


class MessageAssembler:
    """Feed frames in the order received; get events out.

    >>> a = MessageAssembler()
    >>> a.receive(Frame(Opcode.TEXT, b"Hel", fin=False)) is None
    True
    >>> a.receive(Frame(Opcode.PING, b"!"))
    Ping(payload=b'!')
    >>> a.receive(Frame(Opcode.CONT, b"lo"))
    Message(data='Hello')

    Args:
        max_size: refuse a message whose payload grows beyond this many bytes
            (close code 1009); ``None`` for no limit.
        role: our end of the connection; if given, frames must be masked
            (``Role.SERVER``) or unmasked (``Role.CLIENT``) as section 5.1
            requires.
    """

    def __init__(self, *, max_size: int | None = None, role: Role | None = None) -> None:
        self.max_size = max_size
        self.role = role
        self._opcode: Opcode | None = None  # opcode of the message in progress
        self._chunks: list[bytes] = []
        self._text: list[str] = []
        self._size = 0
        self._utf8: Utf8Decoder | None = None

    @property
    def in_message(self) -> bool:
        """Whether a fragmented message has started and not yet finished."""
        return self._opcode is not None

    def receive(self, frame: Frame) -> Event | None:
        """Take one frame.

        Returns:
            A :class:`Message` when ``frame`` completes one, a :class:`Ping`,
            :class:`Pong` or :class:`Close` for a control frame, else ``None``.

        Raises:
            FrameError: the frame breaks a framing rule (1002).
            InvalidUTF8: text that is not UTF-8 (1007).
            MessageTooBig: the message exceeds ``max_size`` (1009).
        """
        frame.check()
        if self.role is not None and frame.masked != self.role.expects_masked:
            if self.role is Role.SERVER:
                raise FrameError(N_("client frame is not masked (section 5.1: clients must mask)"))
            raise FrameError(N_("server frame is masked (section 5.1: servers must not mask)"))

        if frame.opcode.is_control:
            if frame.opcode is Opcode.PING:
                return Ping(frame.payload)
            if frame.opcode is Opcode.PONG:
                return Pong(frame.payload)
            return Close(*parse_close(frame.payload))

        if frame.opcode is Opcode.CONT:
            if self._opcode is None:
                raise FrameError(N_("continuation frame without a message to continue"))
        else:
            if self._opcode is not None:
                raise FrameError(
                    N_(
                        "new {opcode} frame while a {unfinished} message "
                        "is unfinished; expected a continuation frame"
                    ),
                    opcode=frame.opcode.name,
                    unfinished=self._opcode.name,
                )
            self._opcode = frame.opcode
            self._utf8 = Utf8Decoder() if frame.opcode is Opcode.TEXT else None

        self._size += len(frame.payload)
        if self.max_size is not None and self._size > self.max_size:
            raise MessageTooBig(
                N_("message exceeds the limit of {limit} bytes"), limit=self.max_size
            )
        if self._utf8 is not None:
            self._text.append(self._utf8.feed(frame.payload, final=frame.fin))
        else:
            self._chunks.append(frame.payload)

        if not frame.fin:
            return None
        data: str | bytes
        data = "".join(self._text) if self._utf8 is not None else b"".join(self._chunks)
        self._opcode, self._utf8, self._size = None, None, 0
        self._chunks, self._text = [], []
        return Message(data)
