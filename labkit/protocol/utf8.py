"""UTF-8 checks for text messages and close reasons.

RFC 6455, section 5.6: a text message is UTF-8 as a whole; a multi-byte
character may be split across two frames. Section 8.1: on invalid data the
endpoint fails the connection with 1007, and it should do so as soon as the bad
byte arrives, not after buffering the rest of the message.
"""

from __future__ import annotations

import codecs

from labkit.errors import InvalidUTF8
from labkit.i18n import N_

__all__ = ["Utf8Decoder", "decode_utf8"]

# One whole sentence for each kind of data checked: never "{what} is not...".
_NOT_UTF8 = {
    "text": N_("text is not valid UTF-8: {reason} at byte {where}"),
    "close reason": N_("close reason is not valid UTF-8: {reason} at byte {where}"),
}


def decode_utf8(data: bytes, *, what: str = "text") -> str:
    """Decode complete UTF-8 data.

    Args:
        data: the bytes to decode.
        what: what they are, for the error: ``"text"`` or ``"close reason"``.

    Raises:
        InvalidUTF8: ``data`` is not valid UTF-8 (close code 1007).
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = _NOT_UTF8.get(what, _NOT_UTF8["text"])
        raise InvalidUTF8(message, reason=exc.reason, where=exc.start) from None


class Utf8Decoder:
    """Decode a text message fragment by fragment, failing on the first bad byte.

    >>> d = Utf8Decoder()
    >>> d.feed(b"caf\\xc3")   # "é" is split: nothing to show yet
    'caf'
    >>> d.feed(b"\\xa9", final=True)
    'é'
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._offset = 0

    def feed(self, data: bytes, *, final: bool = False) -> str:
        """Decode the next fragment.

        Args:
            data: the fragment's payload.
            final: ``True`` for the last fragment, which must not end in the
                middle of a character.

        Returns:
            The characters completed by this fragment.

        Raises:
            InvalidUTF8: the bytes so far cannot start any valid UTF-8 text.
        """
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            where = self._offset + exc.start
            raise InvalidUTF8(_NOT_UTF8["text"], reason=exc.reason, where=where) from None
        pending, _ = self._decoder.getstate()
        # Python's decoder waits for a third byte before rejecting ED A0..ED BF
        # (the start of a UTF-16 surrogate, never valid in UTF-8); we know
        # already, so fail now.
        if len(pending) >= 2 and pending[0] == 0xED and pending[1] >= 0xA0:
            where = self._offset + len(data) - len(pending)
            raise InvalidUTF8(N_("text is not valid UTF-8: surrogate at byte {where}"), where=where)
        self._offset += len(data)
        return text
