"""Lesson 1 checkers accept the reference solutions and reject the classic mistakes."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from websockets.frames import Frame, Opcode
from websockets.utils import accept_key as websockets_accept_key

import labkit.protocol
from labkit.exercises import lesson1 as ex
from labkit.exercises.solutions import lesson1 as solutions
from labkit.protocol import accept_key as labkit_accept_key

from .helpers import accepted, chinese_verdict, not_attempted, rejected

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def b64sha1(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


# --- the expected answers themselves ----------------------------------------------


def test_accept_cases_match_an_independent_implementation() -> None:
    """Every expected Sec-WebSocket-Accept agrees with the websockets library."""
    for key, want in ex.ACCEPT_CASES:
        assert websockets_accept_key(key) == want


def test_decode_cases_match_an_independent_parser() -> None:
    """Every expected (fin, opcode, payload) agrees with the websockets frame parser."""
    for _what, frame, (fin, opcode, payload) in ex.DECODE_CASES:
        data = bytearray(frame)

        def read_exact(n: int, data: bytearray = data) -> object:
            chunk = bytes(data[:n])
            del data[:n]
            return chunk
            yield  # a generator, as websockets' parser expects

        parser = Frame.parse(read_exact, mask=bool(frame[1] & 0x80), max_size=None)
        try:
            while True:
                next(parser)
        except StopIteration as done:
            parsed = done.value
        assert (parsed.fin, int(parsed.opcode), parsed.data) == (fin, opcode, payload)
        assert not data


def test_mask_cases_match_an_independent_serializer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker's frame builder agrees with websockets for every mask case."""
    for _what, payload, key in ex.MASK_CASES:
        monkeypatch.setattr("secrets.token_bytes", lambda n, key=key: key)
        want = Frame(Opcode.TEXT, payload).serialize(mask=True)
        assert ex._frame(True, 1, payload, key) == want
    assert ex._frame(True, 1, b"Hello", bytes.fromhex("37fa213d")) == bytes.fromhex(
        "818537fa213d7f9f4d5158"
    )


# --- accept_key ---------------------------------------------------------------------


def test_accept_key_accepts_the_reference() -> None:
    """The reference accept_key passes its own check."""
    accepted(ex.check.accept_key(solutions.accept_key))


def accept_hexdigest(key: str) -> str:
    return hashlib.sha1((key + GUID).encode()).hexdigest()


def accept_b64_of_hex(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).hexdigest().encode()).decode()


def accept_no_guid(key: str) -> str:
    return b64sha1(key)


def accept_typo_guid(key: str) -> str:
    return b64sha1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B12")


def accept_lower_guid(key: str) -> str:
    return b64sha1(key + GUID.lower())


def accept_reversed(key: str) -> str:
    return b64sha1(GUID + key)


def accept_decoded_key(key: str) -> str:
    return b64sha1(base64.b64decode(key) + GUID.encode())


def accept_stripped(key: str) -> str:
    return b64sha1(key + GUID).rstrip("=")


def accept_bytes(key: str) -> bytes:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest())


def accept_encodebytes(key: str) -> str:
    return base64.encodebytes(hashlib.sha1((key + GUID).encode()).digest()).decode()


def accept_raises(key: str) -> str:
    raise ValueError("not base64: " + key)


def accept_wraps_the_kit(key: str) -> str:
    return labkit_accept_key(key)


def accept_through_the_package(key: str) -> str:
    return labkit.protocol.accept_key(key)


def accept_wraps_websockets(key: str) -> str:
    return websockets_accept_key(key)


@pytest.mark.parametrize(
    ("borrowed", "library"),
    [
        (accept_wraps_the_kit, "labkit.protocol.accept_key"),
        (accept_through_the_package, "labkit.protocol.accept_key"),
        (labkit_accept_key, "labkit.protocol.accept_key"),
        (accept_wraps_websockets, "websockets.utils.accept_key"),
    ],
)
def test_accept_key_rejects_a_ready_made_accept_key(borrowed: object, library: str) -> None:
    """An accept_key that calls the kit's (or websockets') own is told so, value first."""
    result = ex.check.accept_key(borrowed)
    rejected(result, "'s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', the right value", f"calling {library}")
    rejected(result, "hashlib.sha1")


@pytest.mark.parametrize(
    ("mistake", "fragment"),
    [
        (accept_hexdigest, "hex"),
        (accept_b64_of_hex, "hex digest"),
        (accept_no_guid, "GUID is missing"),
        (accept_typo_guid, "different string"),
        (accept_lower_guid, "lower case"),
        (accept_reversed, "reversed"),
        (accept_decoded_key, "base64-decoded the key"),
        (accept_stripped, "padding"),
        (accept_bytes, "as bytes"),
        (accept_encodebytes, "white space"),
    ],
)
def test_accept_key_rejects_a_mistake(mistake: object, fragment: str) -> None:
    """Each classic accept_key mistake is rejected with the input, the expected value and why."""
    result = ex.check.accept_key(mistake)
    rejected(result, fragment, "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")


def test_accept_key_reports_an_exception() -> None:
    """An exception in accept_key becomes a ✗ naming the input and the error, not a traceback."""
    result = ex.check.accept_key(accept_raises)
    rejected(result, "accept_key('dGhlIHNhbXBsZSBub25jZQ==') raised ValueError: not base64")


async def accept_async(key: str) -> str:
    return b64sha1(key + GUID)


def test_accept_key_rejects_an_async_function() -> None:
    """An async def accept_key is rejected, without an 'never awaited' warning."""
    rejected(ex.check.accept_key(accept_async), "coroutine", "async def")


def test_accept_key_rejects_a_value_instead_of_the_function() -> None:
    """Passing accept_key(...)'s result instead of the function says how to call check."""
    rejected(ex.check.accept_key("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "without parentheses")


def accept_placeholder(key: str) -> str: ...


def accept_pass(key: str) -> str:
    pass


def accept_not_implemented(key: str) -> str:
    """Return the Sec-WebSocket-Accept value."""
    raise NotImplementedError("your code here")


def accept_returns_none(key: str) -> str:
    digest = hashlib.sha1((key + GUID).encode()).digest()
    base64.b64encode(digest)  # forgot `return`


@pytest.mark.parametrize(
    "placeholder",
    [accept_placeholder, accept_pass, accept_not_implemented, accept_returns_none, None, ...],
)
def test_accept_key_untouched_is_not_attempted(placeholder: object) -> None:
    """The notebook's untouched placeholder gives "not attempted yet", not a failure."""
    not_attempted(ex.check.accept_key(placeholder))


# --- decode_frame --------------------------------------------------------------------


def test_decode_frame_accepts_the_reference() -> None:
    """The reference decode_frame passes its own check."""
    accepted(ex.check.decode_frame(solutions.decode_frame))


def header(data: bytes) -> tuple[int, int, int]:
    """Reference helper for the mistakes: (length, offset after length, masked)."""
    length, offset = data[1] & 0x7F, 2
    if length == 126:
        (length,), offset = struct.unpack("!H", data[2:4]), 4
    elif length == 127:
        (length,), offset = struct.unpack("!Q", data[2:10]), 10
    return length, offset, data[1] & 0x80


def decode_ignores_mask(data: bytes) -> tuple[bool, int, bytes]:
    length, offset, masked = header(data)
    if masked:
        offset += 4
    return bool(data[0] & 0x80), data[0] & 0x0F, data[offset : offset + length]


def decode_seven_bit_length(data: bytes) -> tuple[bool, int, bytes]:
    fin, opcode, payload = solutions.decode_frame(data)
    length = data[1] & 0x7F
    if length >= 126:
        payload = data[2 : 2 + length]
    return fin, opcode, payload


def decode_little_endian(data: bytes) -> tuple[bool, int, bytes]:
    length, offset, masked = header(data)
    if data[1] & 0x7F == 126:
        (length,) = struct.unpack("<H", data[2:4])
    fin, opcode, _ = solutions.decode_frame(data)
    if masked:
        key, offset = data[offset : offset + 4], offset + 4
        body = data[offset : offset + length]
        return fin, opcode, bytes(b ^ key[i % 4] for i, b in enumerate(body))
    return fin, opcode, data[offset : offset + length]


def decode_key_at_offset_2(data: bytes) -> tuple[bool, int, bytes]:
    length, offset, masked = header(data)
    if not masked:
        return solutions.decode_frame(data)
    key = data[2:6]  # wrong once there is an extended length
    body = data[offset + 4 : offset + 4 + length]
    return True, data[0] & 0x0F, bytes(b ^ key[i % 4] for i, b in enumerate(body))


def decode_opcode_unmasked(data: bytes) -> tuple[bool, int, bytes]:
    fin, _, payload = solutions.decode_frame(data)
    return fin, data[0], payload


def decode_fin_bit_in_place(data: bytes) -> tuple[int, int, bytes]:
    _, opcode, payload = solutions.decode_frame(data)
    return data[0] & 0x80, opcode, payload


def decode_text(data: bytes) -> tuple[bool, int, str]:
    fin, opcode, payload = solutions.decode_frame(data)
    return fin, opcode, payload.decode("latin-1")


def decode_payload_only(data: bytes) -> bytes:
    return solutions.decode_frame(data)[2]


def decode_127_as_126(data: bytes) -> tuple[bool, int, bytes]:
    if data[1] & 0x7F == 127:
        (length,) = struct.unpack("!H", data[2:4])
        return True, data[0] & 0x0F, data[4 : 4 + length]
    return solutions.decode_frame(data)


@pytest.mark.parametrize(
    ("mistake", "fragment"),
    [
        (decode_ignores_mask, "still masked"),
        (decode_seven_bit_length, "next 2"),
        (decode_little_endian, "should be 256 bytes"),
        (decode_key_at_offset_2, "follow the length"),
        (decode_opcode_unmasked, "data[0] & 0x0F"),
        (decode_fin_bit_in_place, "bool()"),
        (decode_text, "expected bytes"),
        (decode_payload_only, "tuple (fin, opcode, payload)"),
        (decode_127_as_126, "next 8"),
    ],
)
def test_decode_frame_rejects_a_mistake(mistake: object, fragment: str) -> None:
    """Each classic decode_frame mistake is rejected, naming the frame tried and why."""
    rejected(ex.check.decode_frame(mistake), fragment, "decode_frame(")


def test_decode_frame_names_the_first_differing_payload_byte() -> None:
    """A payload of the right length but wrong bytes: the first byte that differs, then why."""
    result = ex.check.decode_frame(decode_key_at_offset_2)
    rejected(result, "300 bytes of text", "byte 0 is 0xc8, expected 0x68", "wrong bytes")


class Decoded:
    def __init__(self, fin: bool, opcode: int, payload: bytes) -> None:
        self.fin, self.opcode, self.payload = fin, opcode, payload


def decode_to_object(data: bytes) -> Decoded:
    return Decoded(*solutions.decode_frame(data))


def test_decode_frame_accepts_an_object_with_named_fields() -> None:
    """A frame object with fin, opcode and payload attributes is as good as a tuple."""
    accepted(ex.check.decode_frame(decode_to_object))


def decode_placeholder(data: bytes) -> tuple[bool, int, bytes]:
    """Read one frame."""
    ...


def test_decode_frame_untouched_is_not_attempted() -> None:
    """The untouched decode_frame gives "not attempted yet"."""
    not_attempted(ex.check.decode_frame(decode_placeholder))


# --- mask_frame ----------------------------------------------------------------------


def test_mask_frame_accepts_the_reference() -> None:
    """The reference mask_frame passes its own check."""
    accepted(ex.check.mask_frame(solutions.mask_frame))


def xor(payload: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def mask_unmasked_payload(payload: bytes, key: bytes) -> bytes:
    frame = solutions.mask_frame(payload, key)
    return frame[: len(frame) - len(payload)] + payload


def mask_bit_not_set(payload: bytes, key: bytes) -> bytes:
    frame = bytearray(solutions.mask_frame(payload, key))
    frame[1] &= 0x7F
    return bytes(frame)


def mask_key_missing(payload: bytes, key: bytes) -> bytes:
    frame = solutions.mask_frame(payload, key)
    start = len(frame) - len(payload) - 4
    return frame[:start] + xor(payload, key)


def mask_seven_bits_only(payload: bytes, key: bytes) -> bytes:
    return bytes([0x81, 0x80 | (len(payload) & 0x7F)]) + key + xor(payload, key)


def mask_little_endian(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if n <= 125:
        head = struct.pack("<BB", 0x81, 0x80 | n)
    elif n <= 0xFFFF:
        head = struct.pack("<BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("<BBQ", 0x81, 0x80 | 127, n)
    return head + key + xor(payload, key)


def mask_always_127(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    head = struct.pack("!BB", 0x81, 0x80 | n) if n <= 125 else struct.pack("!BBQ", 0x81, 0xFF, n)
    return head + key + xor(payload, key)


def mask_binary_opcode(payload: bytes, key: bytes) -> bytes:
    return b"\x82" + solutions.mask_frame(payload, key)[1:]


def mask_no_fin(payload: bytes, key: bytes) -> bytes:
    return b"\x01" + solutions.mask_frame(payload, key)[1:]


def mask_no_extended_length(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    code = n if n <= 125 else 126 if n <= 0xFFFF else 127
    return bytes([0x81, 0x80 | code]) + key + xor(payload, key)


def mask_eight_bytes_for_126(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if 126 <= n <= 0xFFFF:
        return struct.pack("!BBQ", 0x81, 0x80 | 126, n) + key + xor(payload, key)
    return solutions.mask_frame(payload, key)


def mask_wrong_extended_length(payload: bytes, key: bytes) -> bytes:
    n = len(payload)
    if 126 <= n <= 0xFFFF:
        return struct.pack("!BBH", 0x81, 0x80 | 126, n // 2) + key + xor(payload, key)
    return solutions.mask_frame(payload, key)


def mask_late_xor_error(payload: bytes, key: bytes) -> bytes:
    frame = bytearray(solutions.mask_frame(payload, key))
    if len(payload) > 100:
        frame[-1] ^= 0xFF
    return bytes(frame)


def test_mask_frame_without_the_extended_length_is_told_exactly_that() -> None:
    """126 bytes with the 2 length bytes left out: the first differing byte, then that cause."""
    result = ex.check.mask_frame(mask_no_extended_length)
    rejected(
        result,
        "returned 81 fe a1 b2 c3 d4",
        "expected 81 fe 00 7e a1 b2 c3 d4",
        "byte 2 is 0xa1, expected 0x00",
        "the 2-byte extended length is missing",
        "struct.pack('!H', n)) between byte 1 and the masking key",
    )
    assert "extended field" not in f"{result.message}\n{result.hint}"


@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (
            mask_eight_bytes_for_126,
            ("byte 3 is 0x00, expected 0x7e", "takes 8 bytes, expected 2 after 126"),
        ),
        (
            mask_wrong_extended_length,
            ("byte 3 is 0x3f, expected 0x7e", "00 3f: expected 126 in 2 bytes"),
        ),
        (mask_late_xor_error, ("byte 130 is 0x", "(bytes 128-135:", "masked payload bytes")),
    ],
)
def test_mask_frame_names_the_first_differing_byte(
    mistake: object, fragments: tuple[str, ...]
) -> None:
    """Every mask_frame ✗ names the first byte that differs before it guesses why."""
    rejected(ex.check.mask_frame(mistake), *fragments)


def mask_returns_str(payload: bytes, key: bytes) -> str:
    return solutions.mask_frame(payload, key).hex()


@pytest.mark.parametrize(
    ("mistake", "fragment"),
    [
        (mask_unmasked_payload, "not masked"),
        (mask_bit_not_set, "MASK bit is not set"),
        (mask_key_missing, "masking key"),
        (mask_seven_bits_only, "length"),
        (mask_little_endian, "big-endian"),
        (mask_always_127, "expected 126"),
        (mask_binary_opcode, "binary"),
        (mask_no_fin, "Set FIN"),
    ],
)
def test_mask_frame_rejects_a_mistake(mistake: object, fragment: str) -> None:
    """Each classic mask_frame mistake is rejected, with expected and actual bytes in hex."""
    rejected(ex.check.mask_frame(mistake), fragment, "expected 81 ")


def test_mask_frame_rejects_a_str() -> None:
    """A frame returned as a str (hex text) is rejected: a frame is bytes."""
    rejected(ex.check.mask_frame(mask_returns_str), "a frame is bytes")


def mask_placeholder(payload: bytes, key: bytes) -> bytes:
    raise NotImplementedError


def test_mask_frame_untouched_is_not_attempted() -> None:
    """The untouched mask_frame gives "not attempted yet"."""
    not_attempted(ex.check.mask_frame(mask_placeholder))


# --- in Chinese ----------------------------------------------------------------------


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (accept_hexdigest, ("十六进制的 SHA-1 摘要", "而不是用 .hexdigest()")),
        (accept_no_guid, ("缺少 GUID", "把 GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11 拼接到")),
        (accept_bytes, ("它是 bytes，不是 str", ".decode('ascii')")),
        (accept_wraps_the_kit, ("是调用 labkit.protocol.accept_key 得到的", "自己动手")),
    ],
)
def test_a_wrong_accept_key_is_explained_in_chinese(
    mistake: object, fragments: tuple[str, ...]
) -> None:
    """A wrong Sec-WebSocket-Accept: the value, the expected one and the cause, in Chinese."""
    result = ex.check.accept_key(mistake)
    rejected(result)
    chinese_verdict(
        result,
        "accept_key：还不对",
        "accept_key('dGhlIHNhbXBsZSBub25jZQ==') 返回了",
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        *fragments,
    )


@pytest.mark.usefixtures("chinese")
def test_a_payload_left_masked_is_explained_in_chinese() -> None:
    """decode_frame that ignores the mask: the case, the first differing byte, the cause."""
    result = ex.check.decode_frame(decode_ignores_mask)
    rejected(result)
    chinese_verdict(
        result,
        "decode_frame：还不对",
        "用例：一个加了掩码的文本帧（RFC 6455 第 5.7 节）",
        "字节 0 是 0x7f，期望 0x48",
        "这是仍带着掩码的负载",
        "key[i % 4]",
    )


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (mask_bit_not_set, ("字节 1 是 0x05，期望 0x85", "MASK 位没有置位", "都必须加掩码")),
        (mask_unmasked_payload, ("负载没有加掩码", "payload[i] ^ key[i % 4]")),
        (mask_no_fin, ("第一个字节是 0x01，期望 0x81", "也要设置 FIN（0x80）")),
        (mask_no_extended_length, ("缺少 2 个字节的扩展长度", "struct.pack('!H', n)")),
    ],
)
def test_an_unmasked_or_misbuilt_frame_is_explained_in_chinese(
    mistake: object, fragments: tuple[str, ...]
) -> None:
    """mask_frame mistakes: returned and expected bytes, the difference, the cause, in Chinese."""
    result = ex.check.mask_frame(mistake)
    rejected(result)
    chinese_verdict(result, "mask_frame：还不对", "\n  返回了 ", "\n  期望是 81 ", *fragments)


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("name", "reference", "praise"),
    [
        ("accept_key", solutions.accept_key, "4 个 key 全部正确，包括 RFC 6455 第 1.3 节的示例"),
        ("decode_frame", solutions.decode_frame, "10 个帧全部读对了"),
        ("mask_frame", solutions.mask_frame, "7 个帧逐字节构造正确"),
    ],
)
def test_a_right_answer_is_praised_in_chinese(name: str, reference: object, praise: str) -> None:
    """The reference passes, and the ✓ line and its praise are Chinese."""
    result = getattr(ex.check, name)(reference)
    accepted(result)
    shown = chinese_verdict(result, f"{name}：正确！", praise)
    assert shown.startswith(f"✓ {name}：正确！")


@pytest.mark.usefixtures("chinese")
def test_hints_and_an_untouched_placeholder_speak_chinese(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """hint.x() is Chinese with its code intact; a placeholder is "尚未作答", kindly."""
    ex.hint.accept_key()
    ex.hint.mask_frame()
    out = capsys.readouterr().out
    assert "ℹ 提示：accept_key" in out
    assert "拼接起来，按 ASCII 编码" in out
    assert "base64.b64encode(...).decode('ascii')" in out
    assert "ℹ 提示：mask_frame" in out
    assert "struct.pack('!Q', n)" in out
    result = ex.check.accept_key(accept_placeholder)
    not_attempted(result)
    chinese_verdict(result, "accept_key：尚未作答", "my_accept_key 还是占位的函数体")
