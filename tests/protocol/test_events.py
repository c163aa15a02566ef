"""Tests for labkit.protocol.events: the values an application receives."""

from labkit.protocol.events import Close, Message, Ping, Pong
from labkit.protocol.frames import Opcode


def test_message_knows_text_from_binary():
    """str data is a text message, bytes a binary one, sized as on the wire."""
    text, binary = Message("héllo"), Message(b"\x00\x01")
    assert (text.is_text, text.opcode, text.size) == (True, Opcode.TEXT, 6)
    assert (binary.is_text, binary.opcode, binary.size) == (False, Opcode.BINARY, 2)


def test_control_events_are_frozen_values():
    """Ping, Pong and Close compare by value, so tests and notebooks can match on them."""
    assert Ping(b"x") == Ping(b"x") != Pong(b"x")
    assert Close(1000) == Close(1000, "")
