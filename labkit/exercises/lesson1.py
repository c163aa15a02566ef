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
guess cannot hide what actually happened. The guesses about frames live in
:mod:`labkit.exercises.frame_mistakes`; every sentence is a catalog message
(:mod:`labkit.i18n`), translated when the check runs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from typing import Any

from ..i18n import N_, _
from ..protocol.frames import apply_mask
from ..protocol.handshake import GUID
from .core import Lesson, WrongAnswer, call, calls_to, show
from .display import first_difference
from .frame_mistakes import hex_head, mask_mistake, payload_mistake
from .solutions import lesson1 as solutions

__all__ = ["GUID", "READY_MADE", "check", "hint", "lesson", "solution"]


lesson = Lesson("lesson1")
check, hint, solution = lesson.check, lesson.hint, lesson.solution


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
                _("that is the right value, but as bytes, not str"),
                _(
                    "base64.b64encode() returns bytes; end with .decode('ascii') so the "
                    "header value is a str."
                ),
            )
        return None
    if not isinstance(got, str):
        return None
    sha = hashlib.sha1((key + GUID).encode())
    if got.lower() == sha.hexdigest():
        return (
            _("that is the SHA-1 digest in hex (40 characters), not in base64 (28)"),
            _(
                "Use hashlib.sha1(...).digest() (20 raw bytes) and base64-encode those, "
                "not .hexdigest()."
            ),
        )
    if got == base64.b64encode(sha.hexdigest().encode()).decode():
        return (
            _("that is the base64 of the hex digest"),
            _(
                "Base64-encode the 20 raw bytes of .digest(), not the 40 hex characters "
                "of .hexdigest()."
            ),
        )
    if got == _b64sha1(key.encode()):
        return (
            _("that is SHA-1 of the key alone: the GUID is missing"),
            _("Append the GUID {guid} to the key before hashing (RFC 6455, section 1.3).").format(
                guid=GUID
            ),
        )
    if got == _b64sha1((GUID + key).encode()):
        return (
            _("that is SHA-1 of GUID + key: the order is reversed"),
            _("Hash key + GUID: the key comes first, then the GUID."),
        )
    if got == want.rstrip("="):
        return (
            _("the '=' padding at the end is missing"),
            _(
                "Keep the base64 output exactly as it is: 20 bytes encode to 28 characters, "
                "the last one '='."
            ),
        )
    if got.strip() == want:
        return (
            _("there is white space around it ({value})").format(value=show(got)),
            _("base64.encodebytes() adds a newline; use base64.b64encode(), which does not."),
        )
    try:
        decoded_key = base64.b64decode(key)
    except (binascii.Error, ValueError):
        decoded_key = b""
    if decoded_key and got == _b64sha1(decoded_key + GUID.encode()):
        return (
            _("you base64-decoded the key before hashing it"),
            _(
                "Use the key exactly as the client sent it, as text: the server never "
                "decodes it (RFC 6455, section 4.2.2)."
            ),
        )
    if got == _b64sha1((key + GUID.lower()).encode()):
        return (
            _("the GUID is in lower case"),
            _("The GUID is exactly {guid}, upper case.").format(guid=GUID),
        )
    try:
        raw = base64.b64decode(got, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 20:
        return (
            _("that is a SHA-1 in base64, but of a different string"),
            _(
                "Check the GUID character by character: {guid}, and hash key + GUID with "
                "nothing in between."
            ).format(guid=GUID),
        )
    return None


#: Ready-made accept_key functions, by the module that defines them, as messages name them.
READY_MADE = {
    "labkit.protocol.handshake": "labkit.protocol.accept_key",
    "websockets.utils": "websockets.utils.accept_key",
}


@lesson.exercise(
    hint=N_(
        "Concatenate the key and the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11, encode that\n"
        "text as ASCII, take its SHA-1 digest (hashlib.sha1(...).digest(), 20 raw bytes) and\n"
        "base64-encode those bytes (base64.b64encode(...).decode('ascii')).\n"
        "RFC 6455, sections 1.3 and 4.2.2."
    ),
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
        tried = _("accept_key({key}) returned {got}\nexpected {want}").format(
            key=repr(key), got=show(got), want=repr(want)
        )
        mistake = _accept_mistake(key, got, want)
        if mistake is None:
            raise WrongAnswer(tried)
        raise WrongAnswer(f"{tried}\n{mistake[0]}", hint=mistake[1])
    if borrowed:
        first_key, first_want = ACCEPT_CASES[0]
        raise WrongAnswer(
            _(
                "accept_key({key}) returned {want}, the right value, but your code got it "
                "by calling {function}: the library computed it, not you"
            ).format(key=repr(first_key), want=repr(first_want), function=borrowed[0]),
            hint=_(
                "This exercise is about doing it yourself: hash key + GUID with "
                "hashlib.sha1(...).digest() and base64-encode the 20 bytes "
                "(base64.b64encode(...).decode('ascii')). The kit's accept_key is there to "
                "compare your answer with, not to give it."
            ),
        )
    return _(
        "{count} keys, including the example of RFC 6455, section 1.3: "
        "your server would pass every browser's handshake check."
    ).format(count=len(ACCEPT_CASES))


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
        N_("an unmasked text frame (RFC 6455, 5.7)"),
        bytes.fromhex("810548656c6c6f"),
        (True, 1, b"Hello"),
    ),
    (
        N_("a masked text frame (RFC 6455, 5.7)"),
        bytes.fromhex("818537fa213d7f9f4d5158"),
        (True, 1, b"Hello"),
    ),
    (N_("a first fragment (RFC 6455, 5.7)"), bytes.fromhex("010348656c"), (False, 1, b"Hel")),
    (N_("a continuation frame (RFC 6455, 5.7)"), bytes.fromhex("80026c6f"), (True, 0, b"lo")),
    (N_("an unmasked ping (RFC 6455, 5.7)"), bytes.fromhex("890548656c6c6f"), (True, 9, b"Hello")),
    (
        N_("a masked close frame with code 1000"),
        _frame(True, 8, b"\x03\xe8", _KEY),
        (True, 8, b"\x03\xe8"),
    ),
    (
        N_("256 bytes of binary, unmasked (length 126)"),
        _frame(True, 2, _BIN_256),
        (True, 2, _BIN_256),
    ),
    (
        N_("300 bytes of text, masked (length 126)"),
        _frame(True, 1, _TEXT_300, _KEY),
        (True, 1, _TEXT_300),
    ),
    (N_("64 KiB of binary, unmasked (length 127)"), _frame(True, 2, _BIN_64K), (True, 2, _BIN_64K)),
    (
        N_("70 000 bytes of binary, masked (length 127)"),
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


@lesson.exercise(
    hint=N_(
        "Byte 0: FIN is the top bit (data[0] & 0x80), the opcode the low 4 bits (data[0] & "
        "0x0F).\n"
        'Byte 1: MASK is the top bit, the low 7 bits are the length; 126 means "the length is '
        "in\n"
        'the next 2 bytes", 127 "in the next 8 bytes" (big-endian: struct.unpack(\'!H\' / '
        "'!Q')).\n"
        "If MASK is set, the next 4 bytes are the masking key: payload[i] ^ key[i % 4].\n"
        "RFC 6455, sections 5.2 and 5.3."
    ),
    solution=(solutions.decode_frame,),
)
def decode_frame(my_decode_frame: Any) -> str:
    """Check ``decode_frame(data: bytes) -> (fin, opcode, payload)`` (RFC 6455, 5.2)."""
    for what, frame, (fin, opcode, payload) in DECODE_CASES:
        got = call(my_decode_frame, frame, name="decode_frame")
        tried = _("decode_frame({frame}), {what}").format(frame=hex_head(frame), what=_(what))
        fields = _fields(got)
        if fields is None:
            returned = _("returned {got}; expected a tuple (fin, opcode, payload)")
            raise WrongAnswer(
                f"{tried}\n{returned.format(got=show(got))}",
                hint=_("End with `return fin, opcode, payload`."),
            )
        got_fin, got_opcode, got_payload = fields
        if not (got_fin is fin or (type(got_fin) is int and got_fin in (0, 1) and got_fin == fin)):
            shifted = got_fin == 0x80
            wrong = _("fin is {got}, expected {want}").format(got=show(got_fin), want=fin)
            raise WrongAnswer(
                f"{tried}\n{wrong}",
                hint=(
                    _("data[0] & 0x80 is 128 or 0; wrap it in bool() to get True or False.")
                    if shifted
                    else _("FIN is the top bit of the first byte: bool(data[0] & 0x80).")
                ),
            )
        if got_opcode != opcode:
            wrong = _("opcode is {got}, expected {want}").format(got=show(got_opcode), want=opcode)
            raise WrongAnswer(
                f"{tried}\n{wrong}",
                hint=(
                    _(
                        "The first byte also holds FIN and three RSV bits: keep only the low "
                        "4 bits, data[0] & 0x0F."
                    )
                    if got_opcode == frame[0]
                    else _("The opcode is the low 4 bits of the first byte: data[0] & 0x0F.")
                ),
            )
        if isinstance(got_payload, str):
            wrong = _("payload is the str {got}; expected bytes").format(got=show(got_payload))
            raise WrongAnswer(
                f"{tried}\n{wrong}",
                hint=_("Return the payload as bytes; decoding text is the next layer's job."),
            )
        if not isinstance(got_payload, bytes | bytearray | memoryview):
            wrong = _("payload is {got}; expected bytes").format(got=show(got_payload))
            raise WrongAnswer(f"{tried}\n{wrong}")
        got_payload = bytes(got_payload)
        if got_payload != payload:
            what_went_wrong, advice = payload_mistake(frame, got_payload, payload)
            wrong = _("payload is {got}\nexpected {want}").format(
                got=show(got_payload), want=show(payload)
            )
            raise WrongAnswer(
                f"{tried}\n{wrong}\n{first_difference(got_payload, payload)}\n{what_went_wrong}",
                hint=advice,
            )
    return _(
        "{count} frames read right: RFC 6455's examples, fragments, control "
        "frames, masks, and lengths that need 126 and 127."
    ).format(count=len(DECODE_CASES))


#: (what, payload, key): the RFC example, then each length encoding's edges.
MASK_CASES: tuple[tuple[str, bytes, bytes], ...] = (
    (N_("'Hello' (RFC 6455, 5.7)"), b"Hello", bytes.fromhex("37fa213d")),
    (N_("an empty message"), b"", bytes.fromhex("00ff00ff")),
    (N_("125 bytes (the most the 7 bits hold)"), b"a" * 125, _KEY),
    (N_("126 bytes (the first that needs 126 + 2 bytes)"), b"b" * 126, _KEY),
    (N_("300 bytes of UTF-8 text"), _TEXT_300, bytes.fromhex("01020304")),
    (N_("65 535 bytes (the most 2 bytes hold)"), b"c" * 65535, _KEY),
    (N_("65 536 bytes (the first that needs 127 + 8 bytes)"), b"d" * 65536, _KEY),
)


@lesson.exercise(
    hint=N_(
        "Byte 0: 0x81 (FIN + text). Byte 1: 0x80 (MASK) | length if the payload has at most "
        "125\n"
        "bytes; 0x80 | 126 followed by the length in 2 bytes (struct.pack('!H', n)) up to "
        "65 535;\n"
        "0x80 | 127 followed by 8 bytes (struct.pack('!Q', n)) above. Then the 4-byte key, "
        "then\n"
        "the payload with byte i XOR-ed with key[i % 4]. RFC 6455, sections 5.2 and 5.3."
    ),
    solution=(solutions.mask_frame,),
)
def mask_frame(my_mask_frame: Any) -> str:
    """Check ``mask_frame(payload: bytes, key: bytes) -> bytes`` (RFC 6455, 5.2-5.3)."""
    for what, payload, key in MASK_CASES:
        want = _frame(True, 1, payload, key)
        got = call(my_mask_frame, payload, key, name="mask_frame")
        tried = _("mask_frame({payload}, {key}) for {what}").format(
            payload=show(payload, 30), key=show(key), what=_(what)
        )
        if isinstance(got, str):
            wrong = _("returned the str {got}; a frame is bytes").format(got=show(got))
            raise WrongAnswer(
                f"{tried}\n{wrong}",
                hint=_("Build the frame with bytes: struct.pack(...) + key + masked payload."),
            )
        if not isinstance(got, bytes | bytearray | memoryview):
            wrong = _("returned {got}; a frame is bytes").format(got=show(got))
            raise WrongAnswer(f"{tried}\n{wrong}")
        got = bytes(got)
        if got == want:
            continue
        what_went_wrong, advice = mask_mistake(payload, key, got, want)
        wrong = _("returned {got}\nexpected {want}").format(got=hex_head(got), want=hex_head(want))
        raise WrongAnswer(
            f"{tried}\n{wrong}\n{first_difference(got, want)}\n{what_went_wrong}",
            hint=advice,
        )
    return _(
        "{count} frames built byte for byte, from RFC 6455's masked 'Hello' to "
        "64 KiB: a server would accept every one."
    ).format(count=len(MASK_CASES))
