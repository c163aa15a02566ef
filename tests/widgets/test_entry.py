"""Tests for labkit.widgets.entry and the panel's mirrors, against a real echo server.

The browser half of the entry line (its script) is driven in a real JupyterLab
by tests/browser/test_lesson_chat.py; here the kernel half gets the custom
messages that script sends, exactly as ipywidgets hands them over.
"""

from __future__ import annotations

import uuid

import pytest

import labkit
from labkit.widgets import ChatPanel, mirrors
from labkit.widgets.entry import ENTRY_ESM, EntryGuard


@pytest.fixture
def echo():
    server = labkit.start(labkit.echo_app(), name=f"entry-echo-{uuid.uuid4().hex[:8]}")
    yield server
    server.stop()


def typed(panel: ChatPanel, content: object) -> None:
    """What the entry's script sends on Enter: one custom message (ipywidgets' own call)."""
    panel._guard._handle_custom_msg(content, [])


def test_each_line_from_the_browser_is_sent_once_and_exactly(echo):
    """Lines come in custom messages, in order; the kernel's copy of the box is not used."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    panel._text.value = "a stale value the kernel still holds"
    lines = [f"line {n} <i>as typed</i>" for n in range(20)]
    for line in lines:
        typed(panel, {"line": line})
    panel.wait_for(lambda m: m.kind == "other" and m.text == lines[-1])
    assert [m.text for m in panel.messages if m.kind == "own"] == lines
    assert [m.text for m in panel.messages if m.kind == "other"] == lines
    assert panel._text.value == "a stale value the kernel still holds"  # the browser clears it
    panel.disconnect()


def test_blank_or_malformed_messages_send_nothing(echo):
    """Only a non-blank string under "line" counts: the browser is not trusted blindly."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    for content in ({"line": "   "}, {"line": 3}, {"text": "x"}, ["line"], "line"):
        typed(panel, content)
    typed(panel, {"line": "marker"})
    panel.wait_for(lambda m: m.kind == "other" and m.text == "marker")
    assert [m.text for m in panel.messages if m.kind == "own"] == ["marker"]
    panel.disconnect()


def test_a_line_that_cannot_be_sent_is_shown_with_the_reason(echo):
    """While not connected the line is not lost silently: the log shows it and why."""
    panel = ChatPanel(echo, "ada", connect=False)
    typed(panel, {"line": "too early"})
    assert panel.messages[-1].kind == "error"
    assert panel.messages[-1].text.endswith("connect first; not sent: too early")


def test_chat_lines_understand_msg(echo):
    """`/msg NAME text` from the browser is a private message, as from the box."""
    room = labkit.start(labkit.chat_app(), name=f"entry-room-{uuid.uuid4().hex[:8]}")
    try:
        ann = ChatPanel(room, "ann")
        bob = ChatPanel(room, "bob")
        for panel in (ann, bob):
            panel.wait_for(lambda m: m.text.startswith("welcome"))
        typed(ann, {"line": "/msg bob just you"})
        got = bob.wait_for(lambda m: m.kind == "private")
        assert (got.sender, got.to, got.text) == ("ann", "bob", "just you")
    finally:
        room.stop()


def test_the_guard_is_a_hidden_anywidget_in_the_panel(echo):
    """The panel holds one hidden guard; its script listens on the panel, in the capture phase."""
    panel = ChatPanel(echo, "ada", connect=False)
    assert isinstance(panel._guard, EntryGuard) and panel._guard in panel.children
    assert panel._guard.layout.display == "none"
    assert "addEventListener(type, listener, true)" in ENTRY_ESM
    assert 'data-state="CLOSED"' in panel._header.value  # the script acts only on OPEN


def test_mirrors_follow_their_panels(echo):
    """A mirror shows the panel's header and its last lines, and keeps up with new ones."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    row = mirrors(panel, last=2)
    [view] = row.children
    assert (
        "labkit-chat-mirror" in view._dom_classes and "labkit-chat-panel" not in view._dom_classes
    )
    for text in ("first line", "second line", "three <b>bold</b>"):
        panel.say(text)
        panel.wait_for(lambda m, text=text: m.kind == "other" and m.text == text)
    assert 'data-state="OPEN"' in view.value and "ada" in view.value
    assert "three &lt;b&gt;bold&lt;/b&gt;" in view.value and "<b>" not in view.value
    assert view.value.count("lk-msg lk-") == 2 and "first line" not in view.value  # last two
    panel.disconnect()
    panel.wait_state("CLOSED")
    assert 'data-state="CLOSED"' in view.value


def test_a_new_mirror_freezes_the_previous_one_as_it_was(echo):
    """Each lesson cell keeps showing what happened in it: only the newest mirror follows."""
    panel = ChatPanel(echo, "ada")
    panel.wait_state("OPEN")
    first = panel.mirror()
    panel.say("in the first cell")
    panel.wait_for(lambda m: m.kind == "other" and m.text == "in the first cell")
    second = panel.mirror()
    assert "as of " in first.value and "as of " not in second.value
    panel.say("in the second cell")
    panel.wait_for(lambda m: m.kind == "other" and m.text == "in the second cell")
    assert "in the second cell" in second.value and "in the second cell" not in first.value
    assert "in the first cell" in first.value
    panel.disconnect()
