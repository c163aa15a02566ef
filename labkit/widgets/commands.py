"""What a line typed into a chat panel means: a message, ``/msg NAME text``, ``/help``.

The page and the tutorial's client send what is typed; a panel in ``chat``
mode also understands ``/msg NAME text`` (a private message, the room's
``"to"`` field). A line that starts with ``/`` but is no command it knows is
not sent to the whole room by mistake: the panel says what it can do instead,
and ``//`` sends a text that starts with ``/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import _

__all__ = ["Typed", "parse"]


@dataclass(frozen=True)
class Typed:
    """A typed line: the text to send and its receiver, or a notice shown instead."""

    text: str
    to: str | None = None
    notice: str | None = None  # set: nothing is sent, the panel shows this line


def _help() -> str:
    return _(
        "commands: /msg NAME text sends a private message to NAME; /help shows this; "
        "//text sends a text that starts with /"
    )


def parse(line: str, chat: bool) -> Typed:
    """What ``line`` asks for; in echo mode (``chat=False``) every line is a message."""
    if not chat or not line.startswith("/"):
        return Typed(line)
    if line.startswith("//"):
        return Typed(line[1:])
    command, _sep, rest = line.partition(" ")
    if command == "/msg":
        to, _sep, text = rest.strip().partition(" ")
        if to and text.strip():
            return Typed(text, to)
        return Typed("", notice=_("usage: /msg NAME text (a private message to NAME)"))
    if command == "/help":
        return Typed("", notice=_help())
    known = _("unknown command {command}").format(command=command)
    return Typed("", notice=_("{problem}; {help}").format(problem=known, help=_help()))
