"""Tests for labkit.inspector.view: the live table, fed by real traffic through a real tap."""

from __future__ import annotations

import threading

from websockets.sync.client import connect

from labkit.inspector import ConnRecord, Direction, ErrorRecord, HandshakeRecord, Inspector
from labkit.inspector.view import InspectorView, render_records
from labkit.runner import ServerHandle
from tests.inspector.helpers import frame_is

C2S = Direction.CLIENT_TO_SERVER
S2C = Direction.SERVER_TO_CLIENT
ATTACK = "<img src=x onerror=alert(1)>"


def test_the_view_is_a_box_with_the_css_class_and_a_mathjax_free_table(tap: Inspector):
    """The root carries `labkit-inspector`; the table sits in a tex2jax_ignore box."""
    view = tap.view()
    assert isinstance(view, InspectorView) and "labkit-inspector" in view._dom_classes
    assert 'class="lk-scroll tex2jax_ignore' in view.html
    for column in ("#conn", "FIN", "opcode", "MASK / key", "len"):
        assert f"<th>{column}</th>" in view.html
    view.close()


def test_payloads_and_close_reasons_are_escaped(tapped: ServerHandle, tap: Inspector):
    """An HTML payload and close reason show as text in the table, never as markup."""
    view = tap.view()
    with connect(tapped.url, compression=None) as ws:
        ws.send(ATTACK)
        assert ws.recv(timeout=5) == ATTACK
        ws.close(4000, "<b>bye</b>")
    tap.wait_for(frame_is(S2C, "CLOSE"))
    view.refresh()
    assert "&#x27;&lt;img src=x onerror=alert(1)&gt;&#x27;" in view.html
    assert "&lt;b&gt;bye&lt;/b&gt;" in view.html
    assert "<img" not in view.html and "<b>" not in view.html
    view.close()


def test_the_table_updates_itself_from_the_kit_thread(tapped: ServerHandle, tap: Inspector):
    """Traffic redraws the table by setting its trait, with no call from the test."""
    view = tap.view()
    seen = threading.Event()
    view._table.observe(lambda change: "live-marker" in change["new"] and seen.set(), names="value")
    with connect(tapped.url, compression=None) as ws:
        ws.send("live-marker")
        assert ws.recv(timeout=5) == "live-marker"
        assert seen.wait(5)
    assert 'data-opcode="TEXT"' in view.html and "MASK " in view.html
    tap.wait_for(lambda r: isinstance(r, ConnRecord) and r.event == "closed")
    view._clear.click()
    assert tap.records == [] and "live-marker" not in view.html
    view.close()


def test_every_kind_of_record_renders_as_a_row():
    """Handshake, error and TCP rows render with their kind; a head's text is escaped too."""
    html = render_records(
        [
            HandshakeRecord(1, C2S, "GET /<x> HTTP/1.1", (("Origin", "<evil>"),), "GET /<x>"),
            ErrorRecord(1, S2C, "bad <frame>", b"\x00"),
            ConnRecord(1, None, "closed", "c→s 1 B"),
        ]
    )
    assert [html.count(f'data-kind="{k}"') for k in ("handshake", "error", "conn")] == [1, 1, 1]
    assert "GET /&lt;x&gt; HTTP/1.1" in html and "Origin: &lt;evil&gt;" in html
    assert "bad &lt;frame&gt;" in html and "<evil>" not in html and "<x>" not in html


def test_the_table_scrolls_like_a_terminal_in_a_box_that_outlives_redraws(tap: Inspector):
    """Oldest row first, no column-reverse (which opened at the bottom); the scroll box is a
    widget of its own holding the table and, last, the only element scroll anchoring may pin.
    Chromium's behaviour with it is checked in tests/browser/test_lesson_handshake.py."""
    view = tap.view(height="200px")
    table, anchor = view._scroller.children
    assert table is view._table and view._scroller.layout.max_height == "200px"
    assert "labkit-inspector-anchor" in anchor._dom_classes
    assert "column-reverse" not in view.html
    assert (
        "overflow-anchor:none" in view.html
        and ".labkit-inspector-anchor{overflow-anchor:auto" in (view.html)
    )
    html = render_records(
        [ConnRecord(1, None, "open", "a → b"), ConnRecord(1, None, "closed", "done")]
    )
    assert html.index("TCP open") < html.index("TCP closed")  # oldest first, top down
    view.close()


def test_the_header_row_summary_and_rows_are_chinese(tapped: ServerHandle, tap: Inspector, chinese):
    """zh-CN: the column headers, the summary, Clear and the TCP rows read in Chinese;
    FIN, MASK, opcodes and the c→s arrows stay as RFC 6455 names them."""
    view = tap.view()
    with connect(tapped.url, compression=None) as ws:
        ws.send("你好")
        assert ws.recv(timeout=5) == "你好"
    tap.wait_for(lambda r: isinstance(r, ConnRecord) and r.event == "closed")
    view.refresh()
    header = "".join(
        f"<th>{c}</th>"
        for c in ("#连接", "方向", "FIN", "操作码", "MASK / 掩码键", "长度", "负载 / 关闭")
    )
    assert f"<thead><tr>{header}</tr></thead>" in view.html
    assert "TCP 连接打开" in view.html and "TCP 连接关闭 c→s " in view.html
    assert 'title="客户端→服务器">c→s</td>' in view.html and 'data-opcode="TEXT"' in view.html
    total = len(tap.records)
    assert view._summary.value == (
        f'<div class="lk-head">检查器 → {tap.target} · 共 {total} 条记录</div>'
    )
    assert view._clear.description == "清空"
    error = render_records([ErrorRecord(1, S2C, "坏帧", b"")])
    assert '<td colspan="5">错误：坏帧</td>' in error
    view.close()


def test_the_summary_counts_records_in_english(tap: Inspector):
    """One record, several, and more than the table shows: each reads as a whole line."""
    view = tap.view(shown=2)
    assert view._summary.value.endswith(f"inspector → {tap.target} · 0 records</div>")
    tap.store.add([ConnRecord(1, None, "open", "a → b")])
    view.refresh()
    assert view._summary.value.endswith(f"inspector → {tap.target} · 1 record</div>")
    tap.store.add([ConnRecord(1, None, "eof", "x"), ConnRecord(1, None, "closed", "y")])
    view.refresh()
    assert view._summary.value.endswith("· 3 records (last 2 shown)</div>")
    view.close()
