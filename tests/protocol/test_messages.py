"""Tests for labkit.protocol.messages: reassembly and its rules (section 5.4)."""

from pathlib import Path

import pytest

from labkit.errors import FrameError, InvalidUTF8, MessageTooBig
from labkit.protocol import messages
from labkit.protocol.events import Close, Message, Ping, Pong
from labkit.protocol.frames import Frame, FrameParser, Opcode, Role, decode_frame
from labkit.protocol.messages import MessageAssembler
from tests.protocol.test_frames import io_free_imports


def feed(assembler, *frames):
    """Every event the frames produce, in order."""
    return [e for e in map(assembler.receive, frames) if e is not None]


def test_rfc_fragmented_hello_from_bytes():
    """The RFC's 'Hel' + 'lo' bytes reassemble into the text message 'Hello'."""
    frames = FrameParser().feed(bytes.fromhex("010348656c80026c6f"))
    assert feed(MessageAssembler(), *frames) == [Message("Hello")]


def test_single_frames_are_messages():
    """Unfragmented text and binary frames become messages at once."""
    a = MessageAssembler()
    assert feed(a, Frame.text("hi"), Frame.binary(b"\x00")) == [Message("hi"), Message(b"\x00")]


def test_control_frames_between_fragments():
    """A ping, pong and close between fragments come out without breaking the message."""
    a = MessageAssembler()
    events = feed(
        a,
        Frame(Opcode.BINARY, b"a", fin=False),
        Frame.ping(b"1"),
        Frame(Opcode.CONT, b"b", fin=False),
        Frame.pong(b"2"),
        Frame(Opcode.CONT, b"c"),
        Frame.close(1000, "done"),
    )
    assert events == [Ping(b"1"), Pong(b"2"), Message(b"abc"), Close(1000, "done")]
    assert not a.in_message


def test_unexpected_continuation_is_refused():
    """A continuation frame with no message in progress is a 1002 error."""
    with pytest.raises(FrameError, match="continuation") as info:
        MessageAssembler().receive(Frame(Opcode.CONT, b"x"))
    assert info.value.close_code == 1002


def test_new_data_frame_mid_message_is_refused():
    """A new TEXT frame while a message is unfinished is a 1002 error."""
    a = MessageAssembler()
    a.receive(Frame(Opcode.TEXT, b"a", fin=False))
    assert a.in_message
    with pytest.raises(FrameError, match="expected a continuation"):
        a.receive(Frame.text("b"))


def test_framing_rules_are_checked():
    """RSV bits and fragmented or oversized control frames fail in the assembler too."""
    for frame in (
        Frame(Opcode.TEXT, b"", rsv2=True),
        Frame(Opcode.PING, b"", fin=False),
        Frame(Opcode.PONG, b"x" * 126),
    ):
        with pytest.raises(FrameError):
            MessageAssembler().receive(frame)


def test_role_decides_masking():
    """A server assembler refuses unmasked frames, a client one masked frames."""
    masked, _ = decode_frame(bytes.fromhex("818537fa213d7f9f4d5158"))
    with pytest.raises(FrameError, match="not masked"):
        MessageAssembler(role=Role.SERVER).receive(Frame.text("Hello"))
    with pytest.raises(FrameError, match="is masked"):
        MessageAssembler(role=Role.CLIENT).receive(masked)
    assert MessageAssembler(role=Role.SERVER).receive(masked) == Message("Hello")


def test_invalid_close_payload_in_assembler():
    """A close frame with a forbidden code fails with 1002, a bad reason with 1007."""
    with pytest.raises(FrameError):
        MessageAssembler().receive(Frame(Opcode.CLOSE, b"\x03\xed"))
    with pytest.raises(InvalidUTF8):
        MessageAssembler().receive(Frame(Opcode.CLOSE, b"\x03\xe8\xff"))


def test_utf8_split_across_fragments():
    """A multi-byte character split between two fragments is accepted."""
    data = "€".encode()
    a = MessageAssembler()
    events = feed(a, Frame(Opcode.TEXT, data[:1], fin=False), Frame(Opcode.CONT, data[1:]))
    assert events == [Message("€")]


def test_invalid_utf8_fails_on_its_fragment():
    """Invalid UTF-8 fails with 1007 at the bad fragment, before FIN."""
    a = MessageAssembler()
    a.receive(Frame(Opcode.TEXT, b"fine", fin=False))
    with pytest.raises(InvalidUTF8) as info:
        a.receive(Frame(Opcode.CONT, b"\xff", fin=False))
    assert info.value.close_code == 1007


def test_binary_is_not_utf8_checked():
    """Binary messages carry any bytes."""
    assert MessageAssembler().receive(Frame.binary(b"\xff\xfe")) == Message(b"\xff\xfe")


def test_max_size_counts_across_fragments():
    """The size limit applies to the whole message, failing at the fragment that crosses it."""
    a = MessageAssembler(max_size=10)
    a.receive(Frame(Opcode.BINARY, b"x" * 6, fin=False))
    with pytest.raises(MessageTooBig) as info:
        a.receive(Frame(Opcode.CONT, b"x" * 5, fin=False))
    assert info.value.close_code == 1009


def test_max_size_allows_exactly_the_limit():
    """A message of exactly max_size bytes passes, and the count restarts afterwards."""
    a = MessageAssembler(max_size=10)
    assert a.receive(Frame.binary(b"x" * 10)) == Message(b"x" * 10)
    assert a.receive(Frame.text("y" * 10)) == Message("y" * 10)


def test_messages_imports_no_io():
    """messages.py imports only the stdlib (no asyncio, no sockets), labkit.protocol and errors."""
    assert io_free_imports(Path(messages.__file__)) == set()


@pytest.mark.usefixtures("chinese")
def test_reassembly_errors_read_in_chinese():
    """A stray continuation, an unmasked client frame and a message too big: all in Chinese."""
    with pytest.raises(FrameError, match=r"^收到延续帧，但没有可以延续的消息$"):
        MessageAssembler().receive(Frame(Opcode.CONT, b"x"))
    with pytest.raises(FrameError, match=r"^客户端的帧没有掩码"):
        MessageAssembler(role=Role.SERVER).receive(Frame.text("hi"))
    assembler = MessageAssembler()
    assembler.receive(Frame(Opcode.TEXT, b"a", fin=False))
    with pytest.raises(
        FrameError, match=r"^TEXT 消息还没结束，却收到新的 BINARY 帧；这里应该是延续帧$"
    ):
        assembler.receive(Frame.binary(b"b"))
    with pytest.raises(MessageTooBig, match=r"^消息超过了 2 字节的上限$"):
        MessageAssembler(max_size=2).receive(Frame.text("abc"))
