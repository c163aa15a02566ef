"""HTML for a chat panel's header and log, built from values with every text escaped.

User text (names, messages, server errors) only ever reaches the page through
:func:`html.escape`, so ``<img src=x onerror=...>`` shows as those characters
and runs nothing. The log sits in a ``tex2jax_ignore`` box so that a ``$`` in a
message is not typeset as maths either.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable

from .messages import ChatMessage

__all__ = ["STATE_COLOURS", "render_header", "render_log"]

#: The dot's colour for each readyState name.
STATE_COLOURS = {
    "CONNECTING": "#f0ad4e",
    "OPEN": "#2e9d4f",
    "CLOSING": "#f0ad4e",
    "CLOSED": "#c9302c",
}

_STYLE = """<style>
.labkit-chat-panel .lk-head{display:flex;align-items:center;gap:.5em;font-family:sans-serif}
.labkit-chat-panel .lk-dot{display:inline-block;width:.75em;height:.75em;border-radius:50%}
.labkit-chat-panel .lk-name{font-weight:600}
.labkit-chat-panel .lk-state,.labkit-chat-panel .lk-users{color:#666;font-size:.85em}
.labkit-chat-panel .lk-scroll{height:var(--lk-height,220px);overflow-y:auto;display:flex;
 flex-direction:column-reverse;border:1px solid #ddd;border-radius:4px;padding:4px;
 background:#fafafa;font-family:sans-serif;font-size:.9em}
.labkit-chat-panel .lk-msg{white-space:pre-wrap;word-break:break-word;margin:2px 0;
 padding:2px 6px;border-radius:6px;max-width:90%}
.labkit-chat-panel .lk-own{align-self:flex-end;background:#d8ecff}
.labkit-chat-panel .lk-other{align-self:flex-start;background:#fff;border:1px solid #e4e4e4}
.labkit-chat-panel .lk-private{align-self:flex-start;background:#f3e8ff}
.labkit-chat-panel .lk-system{align-self:center;color:#666;font-style:italic}
.labkit-chat-panel .lk-error{align-self:center;color:#b00020}
.labkit-chat-panel .lk-time{color:#999;font-size:.8em;margin-right:.4em}
.labkit-chat-panel .lk-from{font-weight:600;margin-right:.4em}
</style>"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_header(
    name: str, state: str, users: Iterable[str] | None = None, typing: str = ""
) -> str:
    """The panel's header: coloured dot, state name, user name, who is online and typing."""
    colour = STATE_COLOURS.get(state, "#999")
    parts = [
        _STYLE,
        '<div class="lk-head tex2jax_ignore">',
        f'<span class="lk-dot" style="background:{colour}" title="{_e(state)}"></span>',
        f'<span class="lk-name">{_e(name)}</span>',
        f'<span class="lk-state" data-state="{_e(state)}">{_e(state)}</span>',
    ]
    if users is not None:
        listed = list(users)
        parts.append(
            # The count fits a narrow panel; the names show on hover.
            f'<span class="lk-users" title="{_e(", ".join(listed))}">· {len(listed)} online</span>'
        )
    if typing:
        parts.append(f'<span class="lk-users lk-typing">· {_e(typing)}</span>')
    parts.append("</div>")
    return "".join(parts)


def _clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def render_log(entries: Iterable[ChatMessage], height: str = "220px") -> str:
    """The message log, newest at the bottom, kept scrolled to the newest entry.

    ``flex-direction: column-reverse`` anchors the scroll position at the
    bottom, so new messages stay in view without any script.
    """
    rows = []
    for entry in entries:
        if entry.kind == "typing":
            continue
        sender = entry.sender or ""
        if entry.kind == "private":
            sender = f"{sender} → {entry.to}"
        who = (
            f'<span class="lk-from">{_e(sender)}</span>'
            if sender and entry.kind != "system"
            else ""
        )
        rows.append(
            f'<div class="lk-msg lk-{entry.kind}" data-kind="{entry.kind}">'
            f'<span class="lk-time">{_clock(entry.ts)}</span>{who}'
            f'<span class="lk-text">{_e(entry.text)}</span></div>'
        )
    rows.reverse()
    return (
        f'<div class="lk-scroll tex2jax_ignore mathjax_ignore" style="--lk-height:{_e(height)}">'
        + "".join(rows)
        + "</div>"
    )
