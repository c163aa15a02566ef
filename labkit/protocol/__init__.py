"""RFC 6455 without I/O: the handshake, frames and messages as values and bytes.

Every function here takes bytes and returns values (or the reverse); none
reads a socket, so each rule of the RFC can be tried in a notebook cell or a
test with a few bytes. :mod:`labkit.raw` shows how little asyncio code it takes
to turn this into a working server.

Modules, in the order a connection needs them:

* :mod:`~labkit.protocol.http11` – the HTTP/1.1 head of the handshake.
* :mod:`~labkit.protocol.handshake` – keys, requests, responses (section 4).
* :mod:`~labkit.protocol.policy` – who may connect: Host and Origin (section 10.2).
* :mod:`~labkit.protocol.frames` – frames and parsing (section 5.2).
* :mod:`~labkit.protocol.masking` – a client's masking key (section 5.3).
* :mod:`~labkit.protocol.close` – close codes and payloads (sections 5.5.1, 7.4).
* :mod:`~labkit.protocol.utf8` – incremental UTF-8 checks (sections 5.6, 8.1).
* :mod:`~labkit.protocol.events` – messages, pings, pongs, closes.
* :mod:`~labkit.protocol.messages` – reassembly of fragments (section 5.4).
"""

from labkit.protocol.close import (
    MAX_REASON_SIZE,
    CloseCode,
    build_close,
    close_code_name,
    is_valid_close_code,
    parse_close,
)
from labkit.protocol.events import Close, Event, Message, Ping, Pong
from labkit.protocol.frames import (
    MAX_CONTROL_PAYLOAD,
    Frame,
    FrameParser,
    IncompleteFrame,
    Opcode,
    Role,
    apply_mask,
    decode_frame,
    random_mask_key,
)
from labkit.protocol.handshake import (
    GUID,
    VERSION,
    HandshakeRequest,
    HandshakeResponse,
    accept_key,
    build_accept_response,
    build_error_response,
    build_reject_response,
    build_request,
    check_accept_response,
    check_version,
    make_key,
    parse_request,
    parse_response,
)
from labkit.protocol.http11 import MAX_HEAD_SIZE, MAX_HEADERS, Headers, find_head_end, parse_head
from labkit.protocol.messages import MessageAssembler
from labkit.protocol.policy import LOCAL_NAMES, RequestPolicy, is_loopback, require_host
from labkit.protocol.utf8 import Utf8Decoder, decode_utf8

__all__ = [
    "GUID",
    "LOCAL_NAMES",
    "MAX_CONTROL_PAYLOAD",
    "MAX_HEADERS",
    "MAX_HEAD_SIZE",
    "MAX_REASON_SIZE",
    "VERSION",
    "Close",
    "CloseCode",
    "Event",
    "Frame",
    "FrameParser",
    "HandshakeRequest",
    "HandshakeResponse",
    "Headers",
    "IncompleteFrame",
    "Message",
    "MessageAssembler",
    "Opcode",
    "Ping",
    "Pong",
    "RequestPolicy",
    "Role",
    "Utf8Decoder",
    "accept_key",
    "apply_mask",
    "build_accept_response",
    "build_close",
    "build_error_response",
    "build_reject_response",
    "build_request",
    "check_accept_response",
    "check_version",
    "close_code_name",
    "decode_frame",
    "decode_utf8",
    "find_head_end",
    "is_loopback",
    "is_valid_close_code",
    "make_key",
    "parse_close",
    "parse_head",
    "parse_request",
    "parse_response",
    "random_mask_key",
    "require_host",
]
