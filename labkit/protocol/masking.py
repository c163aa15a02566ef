"""Masking: what a client does to every frame's payload (RFC 6455, section 5.3).

A client masks each frame it sends with a fresh 4-byte key; a server never
masks. The key must be unpredictable, so a script in a browser cannot choose
the bytes a proxy sees (section 10.3).
"""

from __future__ import annotations

import secrets

from labkit.i18n import _

__all__ = ["apply_mask", "random_mask_key"]


def random_mask_key() -> bytes:
    """Four fresh random bytes for a client's masking key (section 5.3).

    The key must be unpredictable so a script in a browser cannot choose the
    bytes a proxy sees (section 10.3). Tests patch
    ``labkit.protocol.frames.random_mask_key``, the name frames are built with.
    """
    return secrets.token_bytes(4)


def apply_mask(data: bytes, key: bytes) -> bytes:
    """Mask or unmask ``data`` with a 4-byte key (RFC 6455, section 5.3).

    Octet *i* is XORed with octet *i* mod 4 of the key. XOR twice gives the
    original back, so the same function masks and unmasks.
    """
    if len(key) != 4:
        raise ValueError(_("a masking key has 4 bytes, got {size}").format(size=len(key)))
    n = len(data)
    if n == 0:
        return b""
    # XOR as one big integer: far faster in pure Python than a byte loop.
    stream = (key * (n // 4 + 1))[:n]
    masked = int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")
    return masked.to_bytes(n, "big")
