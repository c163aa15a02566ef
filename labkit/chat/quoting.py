"""How client data appears inside a human message: short, quoted, always encodable.

The chat's error events quote what a client sent (a name, a type, a recipient),
and a client may send anything: megabytes, or text holding a lone surrogate that
could never be encoded as UTF-8 (RFC 6455, section 8.1). :func:`shown` makes
such a quote safe to put into any message.
"""

from __future__ import annotations

import json

__all__ = ["shown"]


def shown(value: object, limit: int = 40) -> str:
    """Quote client data for a human error message, safely.

    The result is short, and a lone surrogate is escaped (``\\ud800``) so the
    error event itself can always be encoded as UTF-8.

    Args:
        value: what the client sent.
        limit: keep at most this many characters before adding an ellipsis.
    """
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return json.dumps(text, ensure_ascii=False)
