"""Lesson 1 exercises: the opening handshake and the frame format (RFC 6455).

In a notebook::

    from labkit.exercises import lesson1 as ex

    def my_accept_key(key: str) -> str:
        ...  # your code here

    ex.check.accept_key(my_accept_key)  # ✓, or ✗ with what went wrong
    ex.hint.accept_key()
    ex.solution.accept_key()            # the reference, named my_accept_key

(``my_…``: the kit's own ``accept_key`` and ``decode_frame`` keep their names.)

Exercises:

* ``accept_key(key: str) -> str``: the ``Sec-WebSocket-Accept`` value for a
  ``Sec-WebSocket-Key`` (sections 1.3 and 4.2.2), computed without calling a
  ready-made ``accept_key`` (:data:`READY_MADE`).
* ``decode_frame(data: bytes) -> (fin, opcode, payload)``: read one frame;
  ``fin`` a bool, ``opcode`` an int, ``payload`` the *unmasked* bytes
  (sections 5.2 and 5.3).
* ``mask_frame(payload: bytes, key: bytes) -> bytes``: the final, masked text
  frame a client sends for ``payload`` with the 4-byte masking ``key``.

The expected answers are the examples of RFC 6455 (sections 1.3 and 5.7) plus
frames built here with a few lines of ``struct``; nothing depends on the kit's
own protocol package, so a bug there cannot hide a bug in a learner's code.

Every ✗ names the difference first (what came back, what was expected, the
first byte that differs) and only then guesses the cause, so that a wrong
guess cannot hide what actually happened.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from typing import Any

from ..protocol.frames import apply_mask
from ..protocol.handshake import GUID
from .core import Lesson, WrongAnswer, call, calls_to, show
from .display import first_difference
from .solutions import lesson1 as solutions

__all__ = ["GUID", "READY_MADE", "check", "hint", "lesson", "solution"]


lesson = Lesson("lesson1")
check, hint, solution = lesson.check, lesson.hint, lesson.solution


def _hex(data: bytes, limit: int = 16) -> str:
    """``81 85 37 fa … (131 bytes)``: the first bytes of a frame, in hex."""
    head = bytes(data[:limit]).hex(" ")
    return head if len(data) <= limit else f"{head} … ({len(data)} bytes)"


# --- accept_key ------------------------------------------------------------------

#: (key, accept): section 1.3's example first, then keys computed once elsewhere.
ACCEPT_CASES: tuple[tuple[str, str], ...] = (
    ("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ("AAECAwQFBgcICQoLDA0ODw==", "Bz3qJYTGdOe8gUSpLosEdiLKDrk="),
    ("bGFia2l0IGxlc3NvbiAxIQ==", "Ovew9QE4FLo+VGS5DQwedvF4474="),
    ("++++ABAgMEBQYHCAkKCwwA==", "PN5t6/neHBhhkrjh9h5cut6mOKs="),
)


def _b64sha1(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def _accept_mistake(key: str, got: Any, want: str) -> tuple[str, str] | None:
    """Name the classic mistake that turns ``key`` into ``got``, with its hint."""
    if isinstance(got, bytes | bytearray):
        if bytes(got) == want.encode():
            return (
                "that is the right value, but as bytes, not str",
                "base64.b64encode() returns bytes; end with .decode('ascii') so the "
                "header value is a str.",
            )
        return None
    if not isinstance(got, str):
        return None
    sha = hashlib.sha1((key + GUID).encode())
    if got.lower() == sha.hexdigest():
        return (
            "that is the SHA-1 digest in hex (40 characters), not in base64 (28)",
            "Use hashlib.sha1(...).digest() (20 raw bytes) and base64-encode those, "
            "not .hexdigest().",
        )
    if got == base64.b64encode(sha.hexdigest().encode()).decode():
        return (
            "that is the base64 of the hex digest",
            "Base64-encode the 20 raw bytes of .digest(), not the 40 hex characters "
            "of .hexdigest().",
        )
    if got == _b64sha1(key.encode()):
        return (
            "that is SHA-1 of the key alone: the GUID is missing",
            f"Append the GUID {GUID} to the key before hashing (RFC 6455, section 1.3).",
        )
    if got == _b64sha1((GUID + key).encode()):
        return (
            "that is SHA-1 of GUID + key: the order is reversed",
            "Hash key + GUID: the key comes first, then the GUID.",
        )
    if got == want.rstrip("="):
        return (
            "the '=' padding at the end is missing",
            "Keep the base64 output exactly as it is: 20 bytes encode to 28 characters, "
            "the last one '='.",
        )
    if got.strip() == want:
        return (
            f"there is white space around it ({show(got)})",
            "base64.encodebytes() adds a newline; use base64.b64encode(), which does not.",
        )
    try:
        decoded_key = base64.b64decode(key)
    except (binascii.Error, ValueError):
        decoded_key = b""
    if decoded_key and got == _b64sha1(decoded_key + GUID.encode()):
        return (
            "you base64-decoded the key before hashing it",
            "Use the key exactly as the client sent it, as text: the server never decodes "
            "it (RFC 6455, section 4.2.2).",
        )
    if got == _b64sha1((key + GUID.lower()).encode()):
        return (
            "the GUID is in lower case",
            f"The GUID is exactly {GUID}, upper case.",
        )
    try:
        raw = base64.b64decode(got, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 20:
        return (
            "that is a SHA-1 in base64, but of a different string",
            f"Check the GUID character by character: {GUID}, and hash key + GUID with "
            "nothing in between.",
        )
    return None


#: Ready-made accept_key functions, by the module that defines them, as messages name them.
READY_MADE = {
    "labkit.protocol.handshake": "labkit.protocol.accept_key",
    "websockets.utils": "websockets.utils.accept_key",
}


@lesson.exercise(
    hint="""
    Concatenate the key and the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11, encode that
    text as ASCII, take its SHA-1 digest (hashlib.sha1(...).digest(), 20 raw bytes) and
    base64-encode those bytes (base64.b64encode(...).decode('ascii')).
    RFC 6455, sections 1.3 and 4.2.2.""",
    solution=(solutions.accept_key,),
)
def accept_key(my_accept_key: Any) -> str:
    """Check ``accept_key(key: str) -> str`` (RFC 6455, sections 1.3 and 4.2.2)."""
    borrowed: list[str] = []
    for key, want in ACCEPT_CASES:
        with calls_to("accept_key", READY_MADE) as used:
            got = call(my_accept_key, key, name="accept_key")
        borrowed += used
        if got == want:
            continue
        tried = f"accept_key({key!r}) returned {show(got)}\nexpected {want!r}"
        mistake = _accept_mistake(key, got, want)
        if mistake is None:
            raise WrongAnswer(tried)
        raise WrongAnswer(f"{tried}\n{mistake[0]}", hint=mistake[1])
    if borrowed:
        first_key, first_want = ACCEPT_CASES[0]
        raise WrongAnswer(
            f"accept_key({first_key!r}) returned {first_want!r}, the right value, but "
            f"your code got it by calling {borrowed[0]}: the library computed it, not you",
            hint="This exercise is about doing it yourself: hash key + GUID with "
            "hashlib.sha1(...).digest() and base64-encode the 20 bytes "
            "(base64.b64encode(...).decode('ascii')). The kit's accept_key is there to "
            "compare your answer with, not to give it.",
        )
    return (
        f"{len(ACCEPT_CASES)} keys, including the example of RFC 6455, section 1.3: "
        "your server would pass every browser's handshake check."
    )


# --- frames ----------------------------------------------------------------------


def _frame(fin: bool, opcode: int, payload: bytes, key: bytes | None = None) -> bytes:
    """Serialize one frame (RFC 6455, section 5.2); masked when ``key`` is given."""
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if key is not None else 0
    n = len(payload)
    if n <= 125:
        header = struct.pack("!BB", first, mask_bit | n)
    elif n <= 0xFFFF:
        header = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, n)
    if key is None:
        return header + payload
    return header + key + apply_mask(payload, key)


_KEY = bytes.fromhex("a1b2c3d4")
_TEXT_300 = ("héllo, wörld ✓ " * 20).encode()[:300]
_BIN_256 = bytes(range(256))
_BIN_64K = bytes(i * 7 % 256 for i in range(65536))
_BIN_70K = bytes(i * 13 % 251 for i in range(70_000))

#: (what, frame, (fin, opcode, payload)): section 5.7's examples, then frames
#: whose length needs 126 or 127 with a masking key after the extended length.
DECODE_CASES: tuple[tuple[str, bytes, tuple[bool, int, bytes]], ...] = (
    (
        "an unmasked text frame (RFC 6455, 5.7)",
        bytes.fromhex("810548656c6c6f"),
        (True, 1, b"Hello"),
    ),
    (
        "a masked text frame (RFC 6455, 5.7)",
        bytes.fromhex("818537fa213d7f9f4d5158"),
        (True, 1, b"Hello"),
    ),
    ("a first fragment (RFC 6455, 5.7)", bytes.fromhex("010348656c"), (False, 1, b"Hel")),
    ("a continuation frame (RFC 6455, 5.7)", bytes.fromhex("80026c6f"), (True, 0, b"lo")),
    ("an unmasked ping (RFC 6455, 5.7)", bytes.fromhex("890548656c6c6f"), (True, 9, b"Hello")),
    (
        "a masked close frame with code 1000",
        _frame(True, 8, b"\x03\xe8", _KEY),
        (True, 8, b"\x03\xe8"),
    ),
    ("256 bytes of binary, unmasked (length 126)", _frame(True, 2, _BIN_256), (True, 2, _BIN_256)),
    (
        "300 bytes of text, masked (length 126)",
        _frame(True, 1, _TEXT_300, _KEY),
        (True, 1, _TEXT_300),
    ),
    ("64 KiB of binary, unmasked (length 127)", _frame(True, 2, _BIN_64K), (True, 2, _BIN_64K)),
    (
        "70 000 bytes of binary, masked (length 127)",
        _frame(True, 2, _BIN_70K, bytes.fromhex("37fa213d")),
        (True, 2, _BIN_70K),
    ),
)


def _fields(got: Any) -> tuple[Any, Any, Any] | None:
    """``(fin, opcode, payload)`` from a 3-tuple or an object with those attributes."""
    if all(hasattr(got, name) for name in ("fin", "opcode", "payload")):
        return got.fin, got.opcode, got.payload
    if isinstance(got, tuple | list) and len(got) == 3:
        return got[0], got[1], got[2]
    return None


def _payload_mistake(frame: bytes, got: bytes, want: bytes) -> tuple[str, str]:
    """Explain a wrong payload: the mask ignored, or the length misread."""
    masked = bool(frame[1] & 0x80)
    code = frame[1] & 0x7F
    start = {126: 4, 127: 10}.get(code, 2)
    if masked and got == frame[start + 4 : start + 4 + len(want)]:
        return (
            "that is the payload still masked",
            "The MASK bit (top bit of byte 1) is set: the 4 bytes after the length are the "
            "masking key; XOR payload byte i with key[i % 4] (RFC 6455, section 5.3).",
        )
    if len(got) != len(want):
        if code in (126, 127):
            size = 2 if code == 126 else 8
            return (
                f"the payload should be {len(want)} bytes long, got {len(got)}",
                f"A 7-bit length of {code} means: the real length is in the next {size} "
                f"bytes, big-endian (struct.unpack('{'!H' if code == 126 else '!Q'}', ...)); "
                "the masking key, if any, comes after them (RFC 6455, section 5.2).",
            )
        return (
            f"the payload should be {len(want)} bytes long, got {len(got)}",
            "The payload length is the low 7 bits of byte 1 (data[1] & 0x7F) when it is "
            "125 or less; the payload starts after the header (and the masking key).",
        )
    if masked:
        return (
            "the payload has the right length but the wrong bytes",
            "Unmask with the 4 bytes that follow the length (after the extended length when "
            "there is one): payload[i] ^ key[i % 4] (RFC 6455, section 5.3).",
        )
    return (
        "the payload has the right length but the wrong bytes",
        "The payload starts right after the header: 2 bytes, +2 for length 126, +8 for 127.",
    )


@lesson.exercise(
    hint="""
    Byte 0: FIN is the top bit (data[0] & 0x80), the opcode the low 4 bits (data[0] & 0x0F).
    Byte 1: MASK is the top bit, the low 7 bits are the length; 126 means "the length is in
    the next 2 bytes", 127 "in the next 8 bytes" (big-endian: struct.unpack('!H' / '!Q')).
    If MASK is set, the next 4 bytes are the masking key: payload[i] ^ key[i % 4].
    RFC 6455, sections 5.2 and 5.3.""",
    solution=(solutions.decode_frame,),
)
def decode_frame(my_decode_frame: Any) -> str:
    """Check ``decode_frame(data: bytes) -> (fin, opcode, payload)`` (RFC 6455, 5.2)."""
    for what, frame, (fin, opcode, payload) in DECODE_CASES:
        got = call(my_decode_frame, frame, name="decode_frame")
        tried = f"decode_frame({_hex(frame)}), {what}"
        fields = _fields(got)
        if fields is None:
            raise WrongAnswer(
                f"{tried}\nreturned {show(got)}; expected a tuple (fin, opcode, payload)",
                hint="End with `return fin, opcode, payload`.",
            )
        got_fin, got_opcode, got_payload = fields
        if not (got_fin is fin or (type(got_fin) is int and got_fin in (0, 1) and got_fin == fin)):
            shifted = got_fin == 0x80
            raise WrongAnswer(
                f"{tried}\nfin is {show(got_fin)}, expected {fin}",
                hint=(
                    "data[0] & 0x80 is 128 or 0; wrap it in bool() to get True or False."
                    if shifted
                    else "FIN is the top bit of the first byte: bool(data[0] & 0x80)."
                ),
            )
        if got_opcode != opcode:
            raise WrongAnswer(
                f"{tried}\nopcode is {show(got_opcode)}, expected {opcode}",
                hint=(
                    "The first byte also holds FIN and three RSV bits: keep only the low "
                    "4 bits, data[0] & 0x0F."
                    if got_opcode == frame[0]
                    else "The opcode is the low 4 bits of the first byte: data[0] & 0x0F."
                ),
            )
        if isinstance(got_payload, str):
            raise WrongAnswer(
                f"{tried}\npayload is the str {show(got_payload)}; expected bytes",
                hint="Return the payload as bytes; decoding text is the next layer's job.",
            )
        if not isinstance(got_payload, bytes | bytearray | memoryview):
            raise WrongAnswer(f"{tried}\npayload is {show(got_payload)}; expected bytes")
        got_payload = bytes(got_payload)
        if got_payload != payload:
            what_went_wrong, advice = _payload_mistake(frame, got_payload, payload)
            raise WrongAnswer(
                f"{tried}\npayload is {show(got_payload)}\nexpected {show(payload)}\n"
                f"{first_difference(got_payload, payload)}\n{what_went_wrong}",
                hint=advice,
            )
    return (
        f"{len(DECODE_CASES)} frames read right: RFC 6455's examples, fragments, control "
        "frames, masks, and lengths that need 126 and 127."
    )


#: (what, payload, key): the RFC example, then each length encoding's edges.
MASK_CASES: tuple[tuple[str, bytes, bytes], ...] = (
    ("'Hello' (RFC 6455, 5.7)", b"Hello", bytes.fromhex("37fa213d")),
    ("an empty message", b"", bytes.fromhex("00ff00ff")),
    ("125 bytes (the most the 7 bits hold)", b"a" * 125, _KEY),
    ("126 bytes (the first that needs 126 + 2 bytes)", b"b" * 126, _KEY),
    ("300 bytes of UTF-8 text", _TEXT_300, bytes.fromhex("01020304")),
    ("65 535 bytes (the most 2 bytes hold)", b"c" * 65535, _KEY),
    ("65 536 bytes (the first that needs 127 + 8 bytes)", b"d" * 65536, _KEY),
)


def _mask_mistake(payload: bytes, key: bytes, got: bytes, want: bytes) -> tuple[str, str]:
    """Explain the first part of a client frame that differs from the expected one."""
    n = len(payload)
    if not got:
        return "the frame is empty", "A frame has at least 2 header bytes."
    if got[0] != want[0]:
        if got[0] == 0x01:
            advice = "Set FIN (0x80) too: this frame is the whole message. 0x80 | 0x1 = 0x81."
        elif got[0] & 0x0F == 0x2:
            advice = "Opcode 0x2 is binary; a text frame has opcode 0x1: first byte 0x81."
        else:
            advice = "The first byte is FIN (0x80) | opcode text (0x1) = 0x81."
        return f"the first byte is 0x{got[0]:02x}, expected 0x{want[0]:02x}", advice
    if len(got) < 2:
        return "the frame stops after 1 byte", "Byte 1 holds the MASK bit and the length."
    if not got[1] & 0x80:
        return (
            f"the MASK bit is not set (byte 1 is 0x{got[1]:02x}, expected 0x{want[1]:02x})",
            "A client must mask every frame it sends (RFC 6455, section 5.3): set the top "
            "bit of byte 1, 0x80 | length.",
        )
    code, want_code = got[1] & 0x7F, want[1] & 0x7F
    if code != want_code:
        if want_code == 126:
            advice = (
                "126 to 65 535 bytes: put 126 in the 7 bits and the length in the next 2 "
                "bytes (struct.pack('!H', n))."
            )
        elif want_code == 127:
            advice = (
                "65 536 bytes or more: put 127 in the 7 bits and the length in the next 8 "
                "bytes (struct.pack('!Q', n))."
            )
        else:
            advice = "Up to 125 bytes, the length goes straight into the 7 bits."
        return f"the 7-bit length is {code}, expected {want_code} for {n} bytes", advice
    start = {126: 4, 127: 10}.get(want_code, 2)
    if got[2:start] != want[2:start]:
        return _extended_length_mistake(key, got, want, start)
    if got[start : start + 4] != key:
        return (
            f"the masking key is not right after the length (bytes {start} to {start + 3} "
            f"are {_hex(got[start : start + 4])}, expected {_hex(key)})",
            "After the length comes the 4-byte masking key, then the masked payload.",
        )
    body = got[start + 4 :]
    if body == payload and payload and payload != want[start + 4 :]:
        return (
            "the payload is not masked",
            "XOR each payload byte with the key: payload[i] ^ key[i % 4] (section 5.3).",
        )
    if len(body) != n:
        return (
            f"after the key come {len(body)} bytes, expected {n}",
            "The masked payload is exactly as long as the payload.",
        )
    return (
        "the masked payload bytes are wrong",
        "XOR payload byte i with key[i % 4]; i counts from the start of the payload.",
    )


def _extended_length_mistake(key: bytes, got: bytes, want: bytes, start: int) -> tuple[str, str]:
    """Explain wrong bytes where the 2- or 8-byte extended length belongs."""
    size, form, code = (2, "!H", 126) if start == 4 else (8, "!Q", 127)
    n = int.from_bytes(want[2:start], "big")
    if got[2:6] == key:
        return (
            f"the {size}-byte extended length is missing: the masking key comes right after byte 1",
            f"A 7-bit length of {code} says 'the real length follows in {size} bytes': write "
            f"them (struct.pack('{form}', n)) between byte 1 and the masking key.",
        )
    other_size, other_form = (8, "!Q") if size == 2 else (2, "!H")
    if got[2 : 2 + other_size] == struct.pack(other_form, n):
        why = f"the extended length takes {other_size} bytes, expected {size} after {code}"
        return why, f"{code} is followed by {size} bytes of length: struct.pack('{form}', n)."
    if got[2:start] == want[2:start][::-1]:
        return (
            f"the extended length bytes are {_hex(got[2:start])}: {n} in little-endian",
            "Network byte order is big-endian: struct.pack('!H', n) / struct.pack('!Q', n).",
        )
    return (
        f"the extended length bytes are {_hex(got[2:start])}: expected {n} in {size} bytes",
        f"After {code} come {size} bytes holding the length itself: struct.pack('{form}', n).",
    )


@lesson.exercise(
    hint="""
    Byte 0: 0x81 (FIN + text). Byte 1: 0x80 (MASK) | length if the payload has at most 125
    bytes; 0x80 | 126 followed by the length in 2 bytes (struct.pack('!H', n)) up to 65 535;
    0x80 | 127 followed by 8 bytes (struct.pack('!Q', n)) above. Then the 4-byte key, then
    the payload with byte i XOR-ed with key[i % 4]. RFC 6455, sections 5.2 and 5.3.""",
    solution=(solutions.mask_frame,),
)
def mask_frame(my_mask_frame: Any) -> str:
    """Check ``mask_frame(payload: bytes, key: bytes) -> bytes`` (RFC 6455, 5.2-5.3)."""
    for what, payload, key in MASK_CASES:
        want = _frame(True, 1, payload, key)
        got = call(my_mask_frame, payload, key, name="mask_frame")
        tried = f"mask_frame({show(payload, 30)}, {show(key)}) for {what}"
        if isinstance(got, str):
            raise WrongAnswer(
                f"{tried}\nreturned the str {show(got)}; a frame is bytes",
                hint="Build the frame with bytes: struct.pack(...) + key + masked payload.",
            )
        if not isinstance(got, bytes | bytearray | memoryview):
            raise WrongAnswer(f"{tried}\nreturned {show(got)}; a frame is bytes")
        got = bytes(got)
        if got == want:
            continue
        what_went_wrong, advice = _mask_mistake(payload, key, got, want)
        raise WrongAnswer(
            f"{tried}\nreturned {_hex(got)}\nexpected {_hex(want)}\n"
            f"{first_difference(got, want)}\n{what_went_wrong}",
            hint=advice,
        )
    return (
        f"{len(MASK_CASES)} frames built byte for byte, from RFC 6455's masked 'Hello' to "
        "64 KiB: a server would accept every one."
    )
