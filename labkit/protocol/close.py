"""Close codes and the payload of a close frame.

RFC 6455, section 5.5.1: a close frame's payload is empty, or a 2-byte
big-endian status code followed by a UTF-8 reason. Section 7.4 lists the codes;
some exist only to *report* what happened (1005, 1006, 1015) and must never
appear on the wire.
"""

from __future__ import annotations

import struct
from enum import IntEnum

from labkit.errors import FrameError
from labkit.i18n import N_
from labkit.protocol.utf8 import decode_utf8

__all__ = [
    "MAX_REASON_SIZE",
    "CloseCode",
    "build_close",
    "close_code_name",
    "is_valid_close_code",
    "parse_close",
]

#: A control frame carries at most 125 bytes (section 5.5); 2 go to the code.
MAX_REASON_SIZE = 123


class CloseCode(IntEnum):
    """Status codes from RFC 6455, section 7.4.1, and the IANA registry."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    RESERVED = 1004  # reserved, meaning may be defined later: never sent
    NO_STATUS_RCVD = 1005  # "the close frame had no code": never sent
    ABNORMAL_CLOSURE = 1006  # "no close frame at all": never sent
    INVALID_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015  # "the TLS handshake failed": never sent


# Codes 1000-2999 that may travel in a close frame; the rest of that range is
# reserved for the RFC (1004) or only reports a local condition (1005, 1006,
# 1015), or is not assigned yet (1016-2999).
_WIRE_CODES = frozenset(CloseCode) - {
    CloseCode.RESERVED,
    CloseCode.NO_STATUS_RCVD,
    CloseCode.ABNORMAL_CLOSURE,
    CloseCode.TLS_HANDSHAKE,
}


def is_valid_close_code(code: int) -> bool:
    """Tell whether ``code`` may appear in a close frame (RFC 6455, section 7.4).

    Valid: the registered codes that are not reserved for reporting, and
    3000-4999 (3000-3999 for libraries and frameworks, 4000-4999 private).
    """
    return code in _WIRE_CODES or 3000 <= code <= 4999


def close_code_name(code: int) -> str:
    """A readable name: ``"NORMAL_CLOSURE"``, ``"application (4000)"``..."""
    try:
        return CloseCode(code).name
    except ValueError:
        if 3000 <= code <= 3999:
            return "registered"
        if 4000 <= code <= 4999:
            return "private"
        return "invalid"


def parse_close(payload: bytes) -> tuple[int, str]:
    """Read the code and reason of a close frame's payload (section 5.5.1).

    An empty payload means "no status code": it reads as 1005 with no reason
    (section 7.1.5), which is how the peer's close reports it.

    Returns:
        ``(code, reason)``; ``code`` is a :class:`CloseCode` when it is one.

    Raises:
        FrameError: a 1-byte payload, a payload over 125 bytes, or a code that
            must not be sent (close code 1002).
        InvalidUTF8: the reason is not UTF-8 (close code 1007).
    """
    if not payload:
        return CloseCode.NO_STATUS_RCVD, ""
    if len(payload) == 1:
        raise FrameError(N_("close payload of 1 byte: a status code needs 2"))
    if len(payload) > 2 + MAX_REASON_SIZE:
        raise FrameError(N_("close payload of {size} bytes; at most 125"), size=len(payload))
    (code,) = struct.unpack("!H", payload[:2])
    if not is_valid_close_code(code):
        raise FrameError(N_("close code {code} must not be sent in a close frame"), code=code)
    reason = decode_utf8(payload[2:], what="close reason")
    try:
        return CloseCode(code), reason
    except ValueError:
        return code, reason


def build_close(code: int | None = CloseCode.NORMAL_CLOSURE, reason: str = "") -> bytes:
    """Build a close frame's payload (section 5.5.1).

    ``None`` or 1005 builds the empty payload ("no status code"), which is
    the right echo of a close frame that had none.

    Raises:
        FrameError: the code must not be sent, or the reason needs more than
            123 bytes in UTF-8, or a reason comes without a code.
    """
    if code is None or code == CloseCode.NO_STATUS_RCVD:
        if reason:
            raise FrameError(N_("a close reason needs a status code before it"))
        return b""
    if not is_valid_close_code(code):
        raise FrameError(N_("close code {code} must not be sent in a close frame"), code=code)
    data = reason.encode("utf-8")
    if len(data) > MAX_REASON_SIZE:
        raise FrameError(
            N_("close reason is {size} bytes in UTF-8; at most {limit}"),
            size=len(data),
            limit=MAX_REASON_SIZE,
        )
    return struct.pack("!H", code) + data
