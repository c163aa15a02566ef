"""Tests for labkit.widgets.commands: what a line typed into a panel asks for."""

from __future__ import annotations

import pytest

from labkit.widgets.commands import Typed, parse


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hello all", Typed("hello all")),
        ("/msg carol just for you", Typed("just for you", "carol")),
        ("/msg  carol  two  spaces", Typed(" two  spaces", "carol")),
        ("//etc/hosts is a file", Typed("/etc/hosts is a file")),
    ],
)
def test_messages_and_private_messages(line: str, expected: Typed) -> None:
    """Plain text goes to the room, /msg NAME text to one user, // escapes a slash."""
    assert parse(line, chat=True) == expected


@pytest.mark.parametrize("line", ["/msg", "/msg carol", "/msg carol   ", "/msg "])
def test_a_half_typed_msg_is_not_sent_and_says_how(line: str) -> None:
    """No receiver or no text: nothing goes to the room; the notice shows the usage."""
    typed = parse(line, chat=True)
    assert typed.notice == "usage: /msg NAME text (a private message to NAME)"
    assert (typed.text, typed.to) == ("", None)


def test_help_and_unknown_commands_list_the_commands() -> None:
    """/help answers locally; /shrug is not broadcast by mistake."""
    assert "/msg NAME text" in parse("/help", chat=True).notice
    unknown = parse("/shrug", chat=True).notice
    assert unknown.startswith("unknown command /shrug; commands: /msg NAME text")


def test_an_echo_panel_sends_every_line_as_it_is() -> None:
    """The echo has no commands: a slash is just text."""
    assert parse("/msg carol hi", chat=False) == Typed("/msg carol hi")


def test_the_notices_speak_chinese(chinese) -> None:
    """zh-CN: usage and help are Chinese, the commands themselves stay as typed."""
    usage = parse("/msg", chat=True).notice
    assert "/msg" in usage and any("\u4e00" <= c <= "\u9fff" for c in usage)
    unknown = parse("/shrug", chat=True).notice
    assert "/shrug" in unknown and "/msg" in unknown and "unknown" not in unknown
