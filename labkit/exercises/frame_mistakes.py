"""Lesson 1's guesses at why a frame is wrong: a misread payload, a misbuilt header.

The checkers of :mod:`labkit.exercises.lesson1` first say what came back and
what was expected, byte by byte; then they ask here for the likely cause,
as a pair of catalog messages (:mod:`labkit.i18n`), translated when the check
runs: what went wrong (one line under the difference) and the advice that
becomes the hint.
"""

from __future__ import annotations

import struct

from ..i18n import _

__all__ = ["hex_head", "mask_mistake", "payload_mistake"]


def hex_head(data: bytes, limit: int = 16) -> str:
    """``81 85 37 fa … (131 bytes)``: the first bytes of a frame, in hex."""
    head = bytes(data[:limit]).hex(" ")
    if len(data) <= limit:
        return head
    return _("{head} … ({count} bytes)").format(head=head, count=len(data))


def payload_mistake(frame: bytes, got: bytes, want: bytes) -> tuple[str, str]:
    """Explain a wrong payload read from ``frame``: the mask ignored, or the length misread."""
    masked = bool(frame[1] & 0x80)
    code = frame[1] & 0x7F
    start = {126: 4, 127: 10}.get(code, 2)
    if masked and got == frame[start + 4 : start + 4 + len(want)]:
        return (
            _("that is the payload still masked"),
            _(
                "The MASK bit (top bit of byte 1) is set: the 4 bytes after the length are the "
                "masking key; XOR payload byte i with key[i % 4] (RFC 6455, section 5.3)."
            ),
        )
    if len(got) != len(want):
        why = _("the payload should be {expected} bytes long, got {count}").format(
            expected=len(want), count=len(got)
        )
        if code in (126, 127):
            return why, _(
                "A 7-bit length of {code} means: the real length is in the next {size} "
                "bytes, big-endian (struct.unpack('{form}', ...)); the masking key, if any, "
                "comes after them (RFC 6455, section 5.2)."
            ).format(code=code, size=2 if code == 126 else 8, form="!H" if code == 126 else "!Q")
        return why, _(
            "The payload length is the low 7 bits of byte 1 (data[1] & 0x7F) when it is "
            "125 or less; the payload starts after the header (and the masking key)."
        )
    if masked:
        return (
            _("the payload has the right length but the wrong bytes"),
            _(
                "Unmask with the 4 bytes that follow the length (after the extended length "
                "when there is one): payload[i] ^ key[i % 4] (RFC 6455, section 5.3)."
            ),
        )
    return (
        _("the payload has the right length but the wrong bytes"),
        _("The payload starts right after the header: 2 bytes, +2 for length 126, +8 for 127."),
    )


def _first_byte_mistake(got: int, want: int) -> tuple[str, str]:
    if got == 0x01:
        advice = _("Set FIN (0x80) too: this frame is the whole message. 0x80 | 0x1 = 0x81.")
    elif got & 0x0F == 0x2:
        advice = _("Opcode 0x2 is binary; a text frame has opcode 0x1: first byte 0x81.")
    else:
        advice = _("The first byte is FIN (0x80) | opcode text (0x1) = 0x81.")
    why = _("the first byte is {got}, expected {want}").format(
        got=f"0x{got:02x}", want=f"0x{want:02x}"
    )
    return why, advice


def _length_code_mistake(code: int, want_code: int, n: int) -> tuple[str, str]:
    if want_code == 126:
        advice = _(
            "126 to 65 535 bytes: put 126 in the 7 bits and the length in the next 2 "
            "bytes (struct.pack('!H', n))."
        )
    elif want_code == 127:
        advice = _(
            "65 536 bytes or more: put 127 in the 7 bits and the length in the next 8 "
            "bytes (struct.pack('!Q', n))."
        )
    else:
        advice = _("Up to 125 bytes, the length goes straight into the 7 bits.")
    why = _("the 7-bit length is {code}, expected {expected} for {count} bytes").format(
        code=code, expected=want_code, count=n
    )
    return why, advice


def mask_mistake(payload: bytes, key: bytes, got: bytes, want: bytes) -> tuple[str, str]:
    """Explain the first part of a client frame that differs from the expected one."""
    n = len(payload)
    if not got:
        return _("the frame is empty"), _("A frame has at least 2 header bytes.")
    if got[0] != want[0]:
        return _first_byte_mistake(got[0], want[0])
    if len(got) < 2:
        return _("the frame stops after 1 byte"), _("Byte 1 holds the MASK bit and the length.")
    if not got[1] & 0x80:
        return (
            _("the MASK bit is not set (byte 1 is {got}, expected {want})").format(
                got=f"0x{got[1]:02x}", want=f"0x{want[1]:02x}"
            ),
            _(
                "A client must mask every frame it sends (RFC 6455, section 5.3): set the top "
                "bit of byte 1, 0x80 | length."
            ),
        )
    code, want_code = got[1] & 0x7F, want[1] & 0x7F
    if code != want_code:
        return _length_code_mistake(code, want_code, n)
    start = {126: 4, 127: 10}.get(want_code, 2)
    if got[2:start] != want[2:start]:
        return _extended_length_mistake(key, got, want, start)
    if got[start : start + 4] != key:
        return (
            _(
                "the masking key is not right after the length (bytes {start} to {end} "
                "are {got}, expected {want})"
            ).format(
                start=start, end=start + 3, got=hex_head(got[start : start + 4]), want=hex_head(key)
            ),
            _("After the length comes the 4-byte masking key, then the masked payload."),
        )
    body = got[start + 4 :]
    if body == payload and payload and payload != want[start + 4 :]:
        return (
            _("the payload is not masked"),
            _("XOR each payload byte with the key: payload[i] ^ key[i % 4] (section 5.3)."),
        )
    if len(body) != n:
        return (
            _("after the key come {count} bytes, expected {expected}").format(
                count=len(body), expected=n
            ),
            _("The masked payload is exactly as long as the payload."),
        )
    return (
        _("the masked payload bytes are wrong"),
        _("XOR payload byte i with key[i % 4]; i counts from the start of the payload."),
    )


def _extended_length_mistake(key: bytes, got: bytes, want: bytes, start: int) -> tuple[str, str]:
    """Explain wrong bytes where the 2- or 8-byte extended length belongs."""
    size, form, code = (2, "!H", 126) if start == 4 else (8, "!Q", 127)
    n = int.from_bytes(want[2:start], "big")
    if got[2:6] == key:
        return (
            _(
                "the {size}-byte extended length is missing: the masking key comes right "
                "after byte 1"
            ).format(size=size),
            _(
                "A 7-bit length of {code} says 'the real length follows in {size} bytes': "
                "write them (struct.pack('{form}', n)) between byte 1 and the masking key."
            ).format(code=code, size=size, form=form),
        )
    other_size, other_form = (8, "!Q") if size == 2 else (2, "!H")
    if got[2 : 2 + other_size] == struct.pack(other_form, n):
        return (
            _("the extended length takes {count} bytes, expected {size} after {code}").format(
                count=other_size, size=size, code=code
            ),
            _("{code} is followed by {size} bytes of length: struct.pack('{form}', n).").format(
                code=code, size=size, form=form
            ),
        )
    if got[2:start] == want[2:start][::-1]:
        return (
            _("the extended length bytes are {got}: {count} in little-endian").format(
                got=hex_head(got[2:start]), count=n
            ),
            _("Network byte order is big-endian: struct.pack('!H', n) / struct.pack('!Q', n)."),
        )
    return (
        _("the extended length bytes are {got}: expected {count} in {size} bytes").format(
            got=hex_head(got[2:start]), count=n, size=size
        ),
        _(
            "After {code} come {size} bytes holding the length itself: struct.pack('{form}', n)."
        ).format(code=code, size=size, form=form),
    )
