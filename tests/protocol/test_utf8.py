"""Tests for labkit.protocol.utf8: incremental, fail-fast UTF-8 checks."""

import pytest

from labkit.errors import InvalidUTF8
from labkit.protocol.utf8 import Utf8Decoder, decode_utf8


def test_decode_utf8_whole():
    """Complete UTF-8 decodes; invalid bytes raise InvalidUTF8 with code 1007."""
    assert decode_utf8("κόσμε".encode()) == "κόσμε"
    with pytest.raises(InvalidUTF8) as info:
        decode_utf8(b"\xc3\x28")
    assert info.value.close_code == 1007


def test_character_split_across_fragments():
    """A 4-byte character split over fragments decodes once complete."""
    data = "a😀b".encode()
    d = Utf8Decoder()
    assert [d.feed(data[i : i + 1]) for i in range(len(data) - 1)] == ["a", "", "", "", "😀"]
    assert d.feed(data[-1:], final=True) == "b"


def test_fails_on_the_first_bad_fragment():
    """Bad bytes fail at once, not when the message ends."""
    d = Utf8Decoder()
    d.feed(b"hello ")
    with pytest.raises(InvalidUTF8, match="byte 6"):
        d.feed(b"\xff more")


def test_surrogates_fail_fast():
    """ED A0 can only start a surrogate, which UTF-8 forbids: fail before the 3rd byte."""
    d = Utf8Decoder()
    with pytest.raises(InvalidUTF8, match="surrogate"):
        d.feed(b"ok\xed\xa0")


def test_truncated_character_at_the_end_fails():
    """A message may not end inside a character."""
    d = Utf8Decoder()
    assert d.feed(b"\xe2\x82") == ""
    with pytest.raises(InvalidUTF8):
        d.feed(b"", final=True)


@pytest.mark.usefixtures("chinese")
def test_invalid_utf8_is_explained_in_chinese():
    """Section 8.1's 1007: the learner reads which byte, in Chinese, for text and close reasons."""
    with pytest.raises(InvalidUTF8, match=r"^文本不是有效的 UTF-8：第 0 字节处 ") as text:
        decode_utf8(b"\xff")
    assert text.value.english.startswith("text is not valid UTF-8: ")
    with pytest.raises(InvalidUTF8, match=r"^关闭原因不是有效的 UTF-8：第 1 字节处 "):
        decode_utf8(b"a\xff", what="close reason")
    with pytest.raises(InvalidUTF8, match=r"^文本不是有效的 UTF-8：第 0 字节处是代理项$"):
        Utf8Decoder().feed(b"\xed\xa0")
