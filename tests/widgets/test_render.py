"""Tests for labkit.widgets.render: every piece of user text is escaped."""

from __future__ import annotations

from labkit.widgets.messages import ChatMessage
from labkit.widgets.render import STATE_COLOURS, render_header, render_log

HOSTILE = '<img src=x onerror="window.__pwned=1">'


def test_log_escapes_text_and_sender():
    """Names and messages render as their characters, never as markup."""
    html = render_log([ChatMessage("other", HOSTILE, sender=HOSTILE)])
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in html


def test_header_escapes_name_users_and_typing_and_colours_the_state():
    """The header shows the state dot colour and escapes every name."""
    html = render_header(HOSTILE, "OPEN", [HOSTILE], f"{HOSTILE} typing…")
    assert "<img" not in html
    assert STATE_COLOURS["OPEN"] in html and 'data-state="OPEN"' in html
    assert "1 online" in html


def test_log_shows_newest_last_and_skips_typing_notices():
    """Entries are reversed for the column-reverse box; typing notices stay out."""
    entries = [
        ChatMessage("own", "first", "me"),
        ChatMessage("typing", "bob is typing…", "bob"),
        ChatMessage("private", "psst", "bob", to="me"),
    ]
    html = render_log(entries)
    assert html.index("psst") < html.index("first")  # reversed for column-reverse
    assert "typing" not in html
    assert "bob → me" in html
    assert "tex2jax_ignore" in html  # `$` in messages is not typeset as maths


def test_a_header_never_claims_open_once_the_widgets_are_disconnected():
    """A "kernel gone" note, hidden until Lab marks the widget disconnected, then shown
    instead of the state (checked in a browser by restarting the kernel, in
    tests/browser/test_lesson_chat.py)."""
    html = render_header("ada", "OPEN", status="reconnecting (1/4)…")
    assert '<span class="lk-gone">kernel gone: run the cell again</span>' in html
    assert ".jupyter-widgets-disconnected :is(.lk-state,.lk-users){display:none}" in html
    assert ".jupyter-widgets-disconnected .lk-gone{display:inline}" in html
    assert "· reconnecting (1/4)…" in html


def test_the_header_in_chinese_keeps_the_state_name_and_adds_words(chinese):
    """zh-CN: "已连接 OPEN", a Chinese count and kernel note; data-state stays the API name."""
    html = render_header("ada", "OPEN", ["ada", "bob"], status="正在重新连接（1/4）…")
    assert 'data-state="OPEN">已连接 OPEN</span>' in html
    assert "· 2 人在线" in html and 'title="ada、bob"' in html
    assert '<span class="lk-gone">内核已断开：请重新运行这个单元格</span>' in html
    for state, shown in [("CONNECTING", "正在连接"), ("CLOSING", "正在关闭"), ("CLOSED", "已关闭")]:
        assert f'data-state="{state}">{shown} {state}</span>' in render_header("ada", state)
