"""Tests for labkit.protocol.frames: RFC 6455 section 5 on bytes alone."""

import ast
import sys
from pathlib import Path

import pytest

from labkit.errors import FrameError, MessageTooBig, ProtocolError
from labkit.protocol import frames
from labkit.protocol.frames import (
    Frame,
    FrameParser,
    IncompleteFrame,
    Opcode,
    Role,
    apply_mask,
    decode_frame,
)

KEY = bytes.fromhex("37fa213d")

# RFC 6455, section 5.7.
UNMASKED_HELLO = bytes.fromhex("810548656c6c6f")
MASKED_HELLO = bytes.fromhex("818537fa213d7f9f4d5158")
HEL = bytes.fromhex("010348656c")
LO = bytes.fromhex("80026c6f")
PING_HELLO = bytes.fromhex("890548656c6c6f")
MASKED_PONG_HELLO = bytes.fromhex("8a8537fa213d7f9f4d5158")


@pytest.fixture
def fixed_mask(monkeypatch):
    """Make every random masking key the RFC's 37 fa 21 3d."""
    monkeypatch.setattr(frames, "random_mask_key", lambda: KEY)


def parse_all(data: bytes, **kwargs) -> Frame:
    """Drive the Frame.parse generator over a buffer, checking it asks exactly."""
    gen = Frame.parse(**kwargs)
    pos = 0
    n = next(gen)
    try:
        while True:
            assert pos + n <= len(data), "parser asked for more bytes than the frame has"
            chunk, pos = data[pos : pos + n], pos + n
            n = gen.send(chunk)
    except StopIteration as done:
        assert pos == len(data), "parser left bytes of the frame unread"
        return done.value


def test_rfc_unmasked_hello():
    """0x81 0x05 'Hello' is a single unmasked text frame."""
    frame = parse_all(UNMASKED_HELLO)
    assert frame == Frame(Opcode.TEXT, b"Hello")
    assert not frame.masked
    assert frame.serialize() == UNMASKED_HELLO


def test_rfc_masked_hello(fixed_mask):
    """The RFC's masked 'Hello' unmasks to Hello and re-masks to the same bytes."""
    frame = parse_all(MASKED_HELLO)
    assert (frame.opcode, frame.payload, frame.mask_key) == (Opcode.TEXT, b"Hello", KEY)
    assert frame.serialize() == MASKED_HELLO
    assert Frame.text("Hello").serialize(mask=True) == MASKED_HELLO


def test_rfc_fragmented_hello():
    """'Hel' without FIN then a continuation 'lo' with FIN."""
    first, second = parse_all(HEL), parse_all(LO)
    assert (first.opcode, first.fin, first.payload) == (Opcode.TEXT, False, b"Hel")
    assert (second.opcode, second.fin, second.payload) == (Opcode.CONT, True, b"lo")
    assert Frame(Opcode.CONT, b"lo").serialize() == LO


def test_rfc_ping_and_masked_pong(fixed_mask):
    """An unmasked ping 'Hello' and its masked pong serialize as in the RFC."""
    assert parse_all(PING_HELLO) == Frame.ping(b"Hello")
    assert Frame.ping(b"Hello").serialize() == PING_HELLO
    assert Frame.pong(b"Hello").serialize(mask=True) == MASKED_PONG_HELLO


def test_rfc_256_bytes_uses_16_bit_length():
    """256 bytes of binary take the 126 + 16-bit form: 0x82 0x7E 0x0100."""
    data = Frame.binary(bytes(256)).serialize()
    assert data[:4] == bytes.fromhex("827e0100")
    assert len(data) == 4 + 256
    assert parse_all(data).payload == bytes(256)


def test_rfc_64kib_uses_64_bit_length():
    """65536 bytes take the 127 + 64-bit form: 0x82 0x7F 0x0000000000010000."""
    data = Frame.binary(bytes(65536)).serialize()
    assert data[:10] == bytes.fromhex("827f0000000000010000")
    assert parse_all(data).payload == bytes(65536)


@pytest.mark.parametrize(
    ("size", "head_len"), [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)]
)
def test_serialize_uses_minimal_length(size, head_len):
    """Each payload size uses the shortest of the 7/16/64-bit length fields."""
    data = Frame.binary(b"x" * size).serialize()
    assert len(data) == head_len + size


def test_apply_mask_is_its_own_inverse():
    """Masking twice with the same key gives the data back (section 5.3)."""
    data = bytes(range(256)) * 3 + b"odd"
    masked = apply_mask(data, KEY)
    assert masked != data
    assert apply_mask(masked, KEY) == data
    assert apply_mask(b"Hello", KEY) == bytes.fromhex("7f9f4d5158")
    assert apply_mask(b"", KEY) == b""
    with pytest.raises(ValueError):
        apply_mask(b"x", b"abc")


def test_serialize_random_mask_uses_random_mask_key(monkeypatch):
    """Without a key, masking draws one from random_mask_key (patched here)."""
    monkeypatch.setattr(frames, "random_mask_key", lambda: b"\x00\x00\x00\x00")
    assert Frame.text("Hi").serialize(mask=True) == b"\x81\x82\x00\x00\x00\x00Hi"


def test_serialize_mask_false_drops_a_parsed_key():
    """A server re-sending a parsed client frame can strip the mask."""
    assert parse_all(MASKED_HELLO).serialize(mask=False) == UNMASKED_HELLO


@pytest.mark.parametrize("opcode", [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes_are_refused(opcode):
    """Reserved opcodes 3-7 and 0xB-0xF fail with 1002 before the payload."""
    with pytest.raises(FrameError) as info:
        parse_all(bytes([0x80 | opcode, 0x00]))
    assert info.value.close_code == 1002


@pytest.mark.parametrize(("bit", "name"), [(0x40, "RSV1"), (0x20, "RSV2"), (0x10, "RSV3")])
def test_rsv_bits_are_refused(bit, name):
    """An RSV bit without a negotiated extension is a protocol error."""
    with pytest.raises(FrameError, match=name):
        parse_all(bytes([0x81 | bit, 0x00]))
    with pytest.raises(FrameError, match=name):
        Frame(Opcode.TEXT, b"", rsv1=bit == 0x40, rsv2=bit == 0x20, rsv3=bit == 0x10).check()


@pytest.mark.parametrize(
    ("first", "rsv"),
    [(0xC1, (True, False, False)), (0xA1, (False, True, False)), (0xF1, (True, True, True))],
)
def test_allow_rsv_keeps_the_bits_in_the_frame(first, rsv):
    """With allow_rsv the RSV bits of the bytes come out in the Frame, payload intact."""
    data = bytes([first, 0x05]) + b"Hello"
    frame = parse_all(data, allow_rsv=True)
    assert frame.rsv == rsv and (frame.rsv1, frame.rsv2, frame.rsv3) == rsv
    assert (frame.opcode, frame.fin, frame.payload) == (Opcode.TEXT, True, b"Hello")
    assert decode_frame(data, allow_rsv=True) == (frame, 7)
    frame.check(allow_rsv=True)
    with pytest.raises(FrameError, match="RSV"):
        parse_all(data)  # the default stays strict (section 5.2)


def test_allow_rsv_unmasks_a_masked_rsv1_frame():
    """The RFC's masked 'Hello' with RSV1 set parses to Hello with rsv1 and the key."""
    data = bytes([MASKED_HELLO[0] | 0x40]) + MASKED_HELLO[1:]
    frame = parse_all(data, mask=True, allow_rsv=True)
    assert (frame.rsv, frame.payload, frame.mask_key) == ((True, False, False), b"Hello", KEY)


def test_allow_rsv_relaxes_only_the_rsv_rule():
    """Reserved opcodes, fragmented control frames and masking are still refused."""
    with pytest.raises(FrameError, match="reserved opcode"):
        parse_all(b"\xc3\x00", allow_rsv=True)
    with pytest.raises(FrameError, match="fragmented"):
        parse_all(b"\x49\x00", allow_rsv=True)
    with pytest.raises(FrameError, match="not masked"):
        parse_all(b"\xc1\x00", mask=True, allow_rsv=True)


def test_frame_parser_allow_rsv():
    """FrameParser passes allow_rsv to every frame; without it an RSV bit fails the stream."""
    stream = b"\xc1\x02hi" + UNMASKED_HELLO + b"\x90\x00"  # RSV1 text, text, RSV3 cont
    frames_seen = FrameParser(allow_rsv=True).feed(stream)
    assert [(f.opcode, f.rsv) for f in frames_seen] == [
        (Opcode.TEXT, (True, False, False)),
        (Opcode.TEXT, (False, False, False)),
        (Opcode.CONT, (False, False, True)),
    ]
    with pytest.raises(FrameError, match="RSV1"):
        FrameParser().feed(stream)


def test_fragmented_control_frame_is_refused():
    """A ping without FIN is refused: control frames are never fragmented."""
    with pytest.raises(FrameError, match="fragmented"):
        parse_all(b"\x09\x00")
    with pytest.raises(FrameError):
        Frame(Opcode.PING, b"", fin=False).serialize()


def test_control_frame_over_125_bytes_is_refused_before_payload():
    """A 126-byte ping is refused as soon as its length is read."""
    gen = Frame.parse()
    next(gen)
    assert gen.send(b"\x89\x7e") == 2
    with pytest.raises(FrameError, match="at most 125"):
        gen.send(b"\x00\x7e")
    with pytest.raises(FrameError):
        Frame.ping(b"x" * 126).check()


def test_masking_must_match_the_role():
    """A server refuses unmasked frames, a client refuses masked ones (section 5.1)."""
    with pytest.raises(FrameError, match="not masked"):
        parse_all(UNMASKED_HELLO, mask=Role.SERVER.expects_masked)
    with pytest.raises(FrameError, match="is masked"):
        parse_all(MASKED_HELLO, mask=Role.CLIENT.expects_masked)
    assert parse_all(MASKED_HELLO, mask=True).payload == b"Hello"


def test_64_bit_length_with_top_bit_is_refused():
    """The most significant bit of a 64-bit length must be 0 (section 5.2)."""
    with pytest.raises(FrameError, match="most significant"):
        parse_all(b"\x82\x7f\x80" + bytes(7))


def test_max_size_is_checked_before_reading_the_payload():
    """A frame declaring more than max_size fails with 1009 without asking for it."""
    gen = Frame.parse(max_size=1000)
    next(gen)
    assert gen.send(b"\x82\x7f") == 8
    with pytest.raises(MessageTooBig) as info:
        gen.send((2**20).to_bytes(8, "big"))
    assert info.value.close_code == 1009


def test_decode_frame_reports_consumed_bytes():
    """decode_frame returns the first frame and how many bytes it used."""
    frame, used = decode_frame(UNMASKED_HELLO + PING_HELLO)
    assert (frame.payload, used) == (b"Hello", 7)
    assert decode_frame((UNMASKED_HELLO + PING_HELLO)[used:])[0].opcode is Opcode.PING


def test_decode_frame_on_partial_data_says_what_is_missing():
    """Truncated bytes raise IncompleteFrame with how many more are needed."""
    with pytest.raises(IncompleteFrame) as info:
        decode_frame(UNMASKED_HELLO[:4])
    assert info.value.needed == 3
    with pytest.raises(IncompleteFrame):
        decode_frame(b"")


def test_frame_parser_handles_one_byte_at_a_time():
    """Frames split at every byte boundary come out whole and in order."""
    stream = MASKED_HELLO + HEL + LO + Frame.binary(bytes(300)).serialize()
    parser = FrameParser(mask=None)
    got = []
    for i in range(len(stream)):
        got += parser.feed(stream[i : i + 1])
    assert [f.payload for f in got] == [b"Hello", b"Hel", b"lo", bytes(300)]
    assert parser.buffered == 0


def test_frame_parser_many_frames_in_one_chunk():
    """One chunk holding several frames returns all of them."""
    parser = FrameParser()
    assert len(parser.feed(UNMASKED_HELLO * 3 + UNMASKED_HELLO[:3])) == 3
    assert parser.feed(UNMASKED_HELLO[3:])[0].payload == b"Hello"


def test_frame_parser_refuses_input_after_an_error():
    """After a bad frame the parser stays failed: the stream cannot be trusted."""
    parser = FrameParser(mask=True)
    with pytest.raises(FrameError):
        parser.feed(UNMASKED_HELLO)
    with pytest.raises(FrameError, match="already failed"):
        parser.feed(MASKED_HELLO)


def test_describe_shows_what_matters():
    """describe() names FIN, opcode, mask key, length and a payload preview."""
    assert decode_frame(MASKED_HELLO)[0].describe() == (
        "FIN=1 TEXT(0x1) masked key=37fa213d len=5 payload='Hello'"
    )
    assert Frame(Opcode.CONT, b"lo", fin=False).describe().startswith("FIN=0 CONT(0x0)")
    binary = Frame.binary(bytes(range(40))).describe()
    assert "len=40" in binary and "00 01 02" in binary and "…" in binary
    assert "payload=(empty)" in Frame.ping().describe()


def test_describe_close_frames_shows_code_and_reason():
    """A close frame is described by its code, name and reason."""
    assert Frame.close(1001, "bye").describe().endswith("code=1001 (GOING_AWAY) reason='bye'")
    assert "code=1005 (NO_STATUS_RCVD)" in Frame.close(None).describe()
    assert "invalid close payload" in Frame(Opcode.CLOSE, b"\x03").describe()
    assert repr(Frame.close()).startswith("<Frame FIN=1 CLOSE(0x8)")


def test_opcode_kinds():
    """Opcodes 0x8 and up are control opcodes; reserved values are not members."""
    assert [op.is_control for op in Opcode] == [False, False, False, True, True, True]
    with pytest.raises(ValueError):
        Opcode(3)


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at any level (TYPE_CHECKING and functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            assert node.module is not None
            names.add(node.module)
    return names


def io_free_imports(path: Path) -> set[str]:
    """The imports of ``path`` that break the rule: stdlib (no asyncio) and the core only."""
    allowed = set(sys.stdlib_module_names) - {"asyncio", "socket", "selectors", "ssl"}
    return {
        name
        for name in imported_modules(path)
        if not (
            name.split(".")[0] in allowed - {"labkit"}
            or name == "labkit.errors"
            or name == "labkit.i18n"  # stdlib only (gettext): checked below
            or name == "labkit.protocol"
            or name.startswith("labkit.protocol.")
        )
    }


def test_frames_imports_no_io():
    """frames.py imports only the stdlib (no asyncio, no sockets), labkit.protocol and errors."""
    assert io_free_imports(Path(frames.__file__)) == set()


def test_the_catalog_the_core_speaks_through_imports_only_the_stdlib():
    """labkit.i18n, which the core's errors are translated with, is no way into I/O."""
    import labkit.i18n

    allowed = set(sys.stdlib_module_names) - {"asyncio", "socket", "selectors", "ssl"}
    imported = imported_modules(Path(labkit.i18n.__file__))
    assert {name for name in imported if name.split(".")[0] not in allowed} == set()


# --- in Chinese: what a learner reads when a frame is refused ----------------


@pytest.mark.usefixtures("chinese")
def test_a_frame_with_rsv_set_is_refused_in_chinese():
    """RSV1 set without an extension (section 5.2): a ProtocolError the learner reads in Chinese."""
    with pytest.raises(ProtocolError) as refused:
        decode_frame(bytes.fromhex("c10548656c6c6f"))  # 0xC1: FIN, RSV1, TEXT
    assert str(refused.value) == "RSV1 被置位了，但没有协商任何扩展"
    assert refused.value.english == "RSV1 is set but no extension was negotiated"
    assert refused.value.close_code == 1002


@pytest.mark.usefixtures("chinese")
def test_every_refusal_of_the_frame_parser_speaks_chinese():
    """Reserved opcode, unmasked client frame, oversized frame and payload: all in Chinese."""
    with pytest.raises(FrameError, match=r"^保留的操作码 0x3$"):
        decode_frame(b"\x83\x00")
    with pytest.raises(FrameError, match=r"^客户端的帧没有掩码（第 5\.1 节：客户端必须加掩码）$"):
        decode_frame(UNMASKED_HELLO, mask=True)
    with pytest.raises(MessageTooBig, match=r"^5 字节的帧超过了 4 字节的上限$") as big:
        decode_frame(UNMASKED_HELLO, max_size=4)
    assert big.value.english == "frame of 5 bytes exceeds the limit of 4"
    with pytest.raises(FrameError, match=r"^PING 帧被分片了；控制帧必须设置 FIN$"):
        decode_frame(b"\x09\x00")
    with pytest.raises(IncompleteFrame, match=r"^帧不完整：至少还需要 2 个字节$"):
        decode_frame(UNMASKED_HELLO[:5])
    with pytest.raises(ValueError, match=r"^掩码键应为 4 字节，实际是 3 字节$"):
        apply_mask(b"x", b"abc")


def test_an_error_keeps_the_language_it_was_raised_in():
    """The message is translated when the error is made, not each time it is read."""
    import labkit

    labkit.set_language("zh-CN")
    try:
        with pytest.raises(FrameError) as refused:
            decode_frame(b"\x83\x00")
    finally:
        labkit.set_language(None)
    assert str(refused.value) == "保留的操作码 0x3"  # read later, in an English kernel
    assert refused.value.english == "reserved opcode 0x3"
