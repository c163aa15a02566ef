"""Tests for labkit.protocol.close: close codes and payloads (sections 5.5.1, 7.4)."""

import pytest

from labkit.errors import FrameError, InvalidUTF8
from labkit.protocol.close import (
    CloseCode,
    build_close,
    close_code_name,
    is_valid_close_code,
    parse_close,
)

VALID = [1000, 1001, 1002, 1003, *range(1007, 1015), 3000, 3999, 4000, 4999]
INVALID = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_round_trip(code):
    """Codes allowed on the wire build and parse back unchanged."""
    assert is_valid_close_code(code)
    assert parse_close(build_close(code, "ok")) == (code, "ok")


@pytest.mark.parametrize("code", INVALID)
def test_invalid_codes_are_refused_both_ways(code):
    """Reserved or unassigned codes neither parse (1002) nor build."""
    assert not is_valid_close_code(code)
    with pytest.raises(FrameError) as info:
        parse_close(code.to_bytes(2, "big"))
    assert info.value.close_code == 1002
    if code not in (1005,):
        with pytest.raises(FrameError):
            build_close(code)


def test_empty_payload_means_no_status():
    """An empty close payload reads as 1005, and 1005/None builds it."""
    assert parse_close(b"") == (CloseCode.NO_STATUS_RCVD, "")
    assert build_close(None) == build_close(1005) == b""
    with pytest.raises(FrameError):
        build_close(None, "reason without code")


def test_one_byte_payload_is_refused():
    """A 1-byte close payload cannot hold a code: protocol error."""
    with pytest.raises(FrameError):
        parse_close(b"\x03")


def test_parse_returns_close_code_members():
    """Known codes come back as CloseCode members, others as plain ints."""
    code, reason = parse_close(b"\x03\xe8bye")
    assert code is CloseCode.NORMAL_CLOSURE and reason == "bye"
    assert type(parse_close(b"\x0f\xa0")[0]) is int


def test_reason_limit_is_123_utf8_bytes():
    """A reason may use 123 bytes of UTF-8 and no more."""
    assert len(build_close(1000, "é" * 61 + "a")) == 125
    with pytest.raises(FrameError):
        build_close(1000, "é" * 62)
    with pytest.raises(FrameError):
        parse_close(b"\x03\xe8" + b"a" * 124)


def test_reason_must_be_utf8():
    """A close reason that is not UTF-8 fails with 1007 (section 8.1)."""
    with pytest.raises(InvalidUTF8) as info:
        parse_close(b"\x03\xe8\xff")
    assert info.value.close_code == 1007


def test_close_code_names():
    """Codes get readable names, including the application ranges."""
    assert close_code_name(1000) == "NORMAL_CLOSURE"
    assert close_code_name(3001) == "registered"
    assert close_code_name(4001) == "private"
    assert close_code_name(2000) == "invalid"


@pytest.mark.usefixtures("chinese")
def test_a_bad_close_code_is_refused_in_chinese():
    """Close code 1005 may not travel (section 7.4.1): the learner reads why, in Chinese."""
    with pytest.raises(FrameError, match=r"^关闭码 1005 不能出现在关闭帧中$") as parsed:
        parse_close(b"\x03\xed")
    assert parsed.value.english == "close code 1005 must not be sent in a close frame"
    with pytest.raises(FrameError, match=r"^关闭码 999 不能出现在关闭帧中$"):
        build_close(999)
    with pytest.raises(FrameError, match=r"^关闭帧的负载只有 1 字节：状态码需要 2 字节$"):
        parse_close(b"\x03")
