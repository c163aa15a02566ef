"""Reference solutions for lesson 1: the opening handshake and frames (RFC 6455)."""

from __future__ import annotations

import base64
import hashlib
import struct

__all__ = ["accept_key", "decode_frame", "mask_frame"]


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455, sections 1.3 and 4.2.2)."""
    guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # the same for every server
    digest = hashlib.sha1((key + guid).encode("ascii")).digest()  # 20 raw bytes
    return base64.b64encode(digest).decode("ascii")  # 28 characters, ending in "="


def decode_frame(data: bytes) -> tuple[bool, int, bytes]:
    """Read one frame: (FIN, opcode, unmasked payload) (RFC 6455, section 5.2)."""
    fin = bool(data[0] & 0x80)  # top bit of byte 0
    opcode = data[0] & 0x0F  # low 4 bits of byte 0
    masked = bool(data[1] & 0x80)  # top bit of byte 1
    length = data[1] & 0x7F  # low 7 bits: the length, or 126 / 127
    offset = 2
    if length == 126:  # the real length is in the next 2 bytes, big-endian
        (length,) = struct.unpack("!H", data[2:4])
        offset = 4
    elif length == 127:  # the real length is in the next 8 bytes, big-endian
        (length,) = struct.unpack("!Q", data[2:10])
        offset = 10
    key = b""
    if masked:  # the 4-byte masking key comes after the length
        key = data[offset : offset + 4]
        offset += 4
    payload = data[offset : offset + length]
    if masked:  # section 5.3: XOR byte i with key[i % 4]
        payload = bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))
    return fin, opcode, payload


def mask_frame(payload: bytes, key: bytes) -> bytes:
    """A final, masked text frame as a client sends it (RFC 6455, sections 5.2 and 5.3)."""
    n = len(payload)
    if n <= 125:  # the length fits in the 7 bits
        header = struct.pack("!BB", 0x81, 0x80 | n)  # FIN + text, MASK + length
    elif n <= 0xFFFF:  # 126, then the length in 2 bytes
        header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:  # 127, then the length in 8 bytes
        header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    masked = bytes(byte ^ key[i % 4] for i, byte in enumerate(payload))
    return header + key + masked
