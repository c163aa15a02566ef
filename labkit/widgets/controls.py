"""The widgets a chat panel is made of, each with the CSS class that styles and finds it.

Kept apart from :mod:`labkit.widgets.panel`, which wires them up: tests and
the browser tests find each part by its class (``labkit-chat-input``,
``labkit-chat-send``, ``labkit-chat-connect``...).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets

from ..i18n import _
from .entry import EntryGuard

__all__ = ["Controls", "build_controls"]


@dataclass(frozen=True)
class Controls:
    """A panel's widgets, top to bottom."""

    header: widgets.HTML
    log: widgets.HTML
    text: widgets.Text
    send: widgets.Button
    hint: widgets.HTML
    toggle: widgets.Button
    clear: widgets.Button
    guard: EntryGuard

    def rows(self) -> list[widgets.Widget]:
        """The panel's children: the entry line and the buttons each in a row."""
        return [
            self.header,
            self.log,
            widgets.HBox([self.text, self.send]),
            self.hint,
            widgets.HBox([self.toggle, self.clear]),
            self.guard,
        ]


def build_controls(chat: bool, on_line: Callable[[str], None]) -> Controls:
    """Make the widgets of a panel (``chat``: the room's protocol, with ``/msg``).

    The placeholder stays short so that it fits a third of a notebook's width;
    the hint below the box says the rest. Every text is in the language the
    kit speaks when the panel is made.
    """
    log = widgets.HTML()
    log.add_class("labkit-chat-log")
    text = widgets.Text(
        placeholder=_("type a message"),
        layout=widgets.Layout(flex="1 1 auto", width="auto", min_width="0"),
    )
    text.add_class("labkit-chat-input")
    send = widgets.Button(
        description=_("Send"),
        button_style="primary",
        icon="paper-plane",
        layout=widgets.Layout(width="auto", flex="0 0 auto"),
    )
    send.add_class("labkit-chat-send")
    # TRANSLATORS: keep "/msg" (what one types); NAME and text stand for a user name and a message.
    words = _("Enter sends · /msg NAME text: private") if chat else _("Enter sends")
    hint = widgets.HTML(
        f'<span class="labkit-chat-hint">{html.escape(words)}</span>',
        layout=widgets.Layout(min_height="0", margin="0 2px 4px"),
    )
    hint.add_class("labkit-chat-hint-box")
    toggle = widgets.Button(description=_("Connect"))
    toggle.add_class("labkit-chat-connect")
    clear = widgets.Button(description=_("Clear"))
    clear.add_class("labkit-chat-clear")
    # Brings typed lines to the kernel exactly (labkit.widgets.entry).
    guard = EntryGuard(on_line, layout=widgets.Layout(display="none"))
    return Controls(widgets.HTML(), log, text, send, hint, toggle, clear, guard)
