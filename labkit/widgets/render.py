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

from ..i18n import N_, _
from .messages import ChatMessage, join_names

__all__ = ["STATE_COLOURS", "render_header", "render_log"]

#: The dot's colour for each readyState name.
STATE_COLOURS = {
    "CONNECTING": "#f0ad4e",
    "OPEN": "#2e9d4f",
    "CLOSING": "#f0ad4e",
    "CLOSED": "#c9302c",
}

# What the header shows for each readyState. The names are the API (the lessons
# teach them: ``panel.state``, ``wait_state("OPEN")``), so a translation keeps
# the name and may add words to it.
_STATE_SHOWN = {
    # TRANSLATORS: a readyState in a panel's header: keep the name, add words (已连接 OPEN).
    "CONNECTING": N_("CONNECTING"),
    # TRANSLATORS: a readyState in a panel's header: keep the name, add words (已连接 OPEN).
    "OPEN": N_("OPEN"),
    # TRANSLATORS: a readyState in a panel's header: keep the name, add words (已连接 OPEN).
    "CLOSING": N_("CLOSING"),
    # TRANSLATORS: a readyState in a panel's header: keep the name, add words (已连接 OPEN).
    "CLOSED": N_("CLOSED"),
}

_STYLE = """<style>
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-head{display:flex;align-items:center;gap:.5em;
 flex-wrap:wrap;font-family:sans-serif}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-dot{display:inline-block;width:.75em;height:.75em;
 border-radius:50%}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-name{font-weight:600}
:is(.labkit-chat-panel,.labkit-chat-mirror) :is(.lk-state,.lk-users){color:#666;font-size:.85em}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-scroll{height:var(--lk-height,220px);
 overflow:hidden auto;display:flex;flex-direction:column-reverse;border:1px solid #ddd;
 border-radius:4px;padding:4px;background:#fafafa;font-family:sans-serif;font-size:.9em;
 box-sizing:border-box}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-msg{white-space:pre-wrap;word-break:break-word;
 margin:2px 0;padding:2px 6px;border-radius:6px;max-width:90%;line-height:1.35}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-own{align-self:flex-end;background:#d8ecff}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-other{align-self:flex-start;background:#fff;
 border:1px solid #e4e4e4}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-private{align-self:flex-start;background:#f3e8ff}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-system{align-self:center;color:#666;
 font-style:italic}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-error{align-self:center;color:#b00020}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-time{color:#999;font-size:.8em;margin-right:.4em}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-from{font-weight:600;margin-right:.4em}
:is(.labkit-chat-panel,.labkit-chat-mirror) .lk-gone{display:none;color:#b00020;font-size:.85em}
.labkit-chat-hint{color:#777;font-size:.8em;line-height:1.3;white-space:normal}
.jupyter-widgets-disconnected :is(.lk-state,.lk-users){display:none}
.jupyter-widgets-disconnected .lk-dot{background:#aaa!important}
.jupyter-widgets-disconnected .lk-gone{display:inline}
.labkit-chat-panel .jupyter-widgets-disconnected::before{content:none}
</style>"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render_header(
    name: str,
    state: str,
    users: Iterable[str] | None = None,
    typing: str = "",
    *,
    status: str = "",
) -> str:
    """The panel's header: coloured dot, state name, user name, who is online and typing.

    Args:
        name: the user name.
        state: the readyState's name; the dot's colour follows it.
        users: the room's members (chat mode), shown as a count.
        typing: who is typing, as a short line.
        status: a short note on the connection ("reconnecting…", "replaced").

    The header also holds a "kernel gone" note that only shows, with a grey dot
    instead of the state, once Lab marks the widget disconnected (the CSS class
    ``jupyter-widgets-disconnected``, set when the kernel restarts or dies): a
    view that outlives its kernel never claims to be OPEN.
    """
    colour = STATE_COLOURS.get(state, "#999")
    shown = _(_STATE_SHOWN[state]) if state in _STATE_SHOWN else state
    gone = _("kernel gone: run the cell again")
    parts = [
        _STYLE,
        '<div class="lk-head tex2jax_ignore">',
        f'<span class="lk-dot" style="background:{colour}" title="{_e(shown)}"></span>',
        f'<span class="lk-name">{_e(name)}</span>',
        f'<span class="lk-state" data-state="{_e(state)}">{_e(shown)}</span>',
        f'<span class="lk-gone">{_e(gone)}</span>',
    ]
    if users is not None:
        listed = list(users)
        online = _("{count} online").format(count=len(listed))
        parts.append(
            # The count fits a narrow panel; the names show on hover.
            f'<span class="lk-users" title="{_e(join_names(listed))}">· {_e(online)}</span>'
        )
    if status:
        parts.append(f'<span class="lk-users lk-status">· {_e(status)}</span>')
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
