"""A live table of what the inspector saw, as an ipywidgets view.

Records arrive on the kit's loop thread. Widgets sync trait changes from any
thread, so the view only ever *sets a trait* (``HTML.value``); it never writes
with ``with output:`` from a thread, which would lose output. Redrawing is
throttled to a few times a second: a burst of frames costs one redraw, not one
per frame.

Scrolling works like a terminal's, with no script: the table opens at its top
(the handshake, which the lessons ask the reader to look at first), stays where
the reader scrolled to, and follows new rows only while the reader is at the
bottom. The scroll box is a widget of its own that outlives every redraw, and
below the table it holds a one-pixel *anchor*, the only element CSS scroll
anchoring may pin (``overflow-anchor``): while the anchor is in view the
browser keeps it there as rows are added above it; at the top (offset 0) the
browser anchors nothing, so the first rows stay put.

The view reads only a :class:`~labkit.inspector.store.RecordLog` (and the
record types): :meth:`Inspector.view() <labkit.inspector.proxy.Inspector.view>`
hands it the tap's store and target, so the view never imports the proxy.

Every decoded value (payload previews, close reasons, header lines) is user
data and reaches the page only through :func:`html.escape`, so a message like
``<img src=x onerror=...>`` shows as those characters and runs nothing. The
table sits in a ``tex2jax_ignore`` box so that a ``$`` in a payload is not
typeset as maths either.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Iterable

import ipywidgets as widgets

from labkit.inspector.records import (
    ConnRecord,
    Direction,
    ErrorRecord,
    FrameRecord,
    HandshakeRecord,
    Record,
)
from labkit.inspector.store import RecordLog
from labkit.runner import kit_loop

from ..i18n import N_, _

__all__ = ["REDRAW_EVERY", "InspectorView", "render_records"]

#: Seconds between two redraws at most (the first change draws at once).
REDRAW_EVERY = 0.2

_STYLE = """<style>
.labkit-inspector .lk-scroller{overflow:hidden auto;border:1px solid #ddd;border-radius:4px;
 background:#fafafa;box-sizing:border-box}
.labkit-inspector .lk-scroller>*{margin:0}
.labkit-inspector .labkit-inspector-table,.labkit-inspector .labkit-inspector-table *{
 overflow-anchor:none}
.labkit-inspector .labkit-inspector-anchor{overflow-anchor:auto;min-height:1px;height:1px}
.labkit-inspector table{border-collapse:collapse;font-family:monospace;font-size:12px;width:100%}
.labkit-inspector th{position:sticky;top:0;background:#eee;text-align:left;padding:2px 6px}
.labkit-inspector td{padding:1px 6px;white-space:pre-wrap;word-break:break-all;
 vertical-align:top;border-top:1px solid #eee;line-height:1.35}
.labkit-inspector .lk-c2s .lk-dir{color:#1f6fb2}
.labkit-inspector .lk-s2c .lk-dir{color:#2e9d4f}
.labkit-inspector .lk-handshake td{background:#f3f0ff}
.labkit-inspector .lk-error td{background:#fdecea;color:#b00020}
.labkit-inspector .lk-conn td{color:#888;font-style:italic}
.labkit-inspector .lk-note{color:#b00020}
.labkit-inspector .lk-head{font-family:sans-serif;font-size:.85em;color:#666;margin:2px 0}
</style>"""

# The table's columns. FIN and MASK are the bits' names in RFC 6455 (section 5.2).
_COLUMNS = (
    # TRANSLATORS: an inspector column: the connection's number, shown as #1, #2...
    N_("#conn"),
    # TRANSLATORS: an inspector column: which way the bytes went (c→s, s→c).
    N_("dir"),
    "FIN",
    N_("opcode"),
    # TRANSLATORS: an inspector column: keep MASK (the bit's name); "key" is the masking key.
    N_("MASK / key"),
    # TRANSLATORS: an inspector column: the payload length in bytes.
    N_("len"),
    # TRANSLATORS: an inspector column: the payload preview, or a close frame's code and reason.
    N_("payload / close"),
)

# A direction's name, shown when the pointer rests on its arrow.
_DIRECTIONS = {
    Direction.CLIENT_TO_SERVER: N_("client→server"),
    Direction.SERVER_TO_CLIENT: N_("server→client"),
}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _row(record: Record) -> str:
    """One table row; every decoded value goes through :func:`_e`."""
    direction = getattr(record, "direction", None)
    css = {"c→s": "lk-c2s", "s→c": "lk-s2c"}.get(direction.short if direction else "", "")
    arrow = (
        f'<td class="lk-dir" title="{_e(_(_DIRECTIONS[direction]))}">{_e(direction.short)}</td>'
        if direction
        else "<td></td>"
    )
    conn = f"<td>#{record.conn}</td>"
    if isinstance(record, FrameRecord):
        rsv = "".join(f" RSV{i}" for i, bit in enumerate(record.rsv, 1) if bit)
        mask = f"MASK {record.mask_key}" if record.mask_key else "-"
        note = f' <span class="lk-note">⚠ {_e(record.note)}</span>' if record.note else ""
        return (
            f'<tr class="lk-frame {css}" data-kind="frame" data-opcode="{_e(record.opcode)}">'
            f"{conn}{arrow}<td>{int(record.fin)}</td><td>{_e(record.opcode)}{_e(rsv)}</td>"
            f"<td>{_e(mask)}</td><td>{record.length}</td>"
            f'<td class="lk-preview">{_e(record.preview)}{note}</td></tr>'
        )
    if isinstance(record, HandshakeRecord):
        title = _e(record.head)
        return (
            f'<tr class="lk-handshake {css}" data-kind="handshake">{conn}{arrow}'
            f'<td colspan="5" title="{title}">{_e(record.start_line)}'
            f'<br><span class="lk-headers">{_headers(record)}</span></td></tr>'
        )
    if isinstance(record, ErrorRecord):
        data = f" [{_e(record.data[:16].hex(' '))}]" if record.data else ""
        # (not inside the f-string: the catalog's extractor would not see it there)
        error = _("error: {message}").format(message=record.message)
        return (
            f'<tr class="lk-error {css}" data-kind="error">{conn}{arrow}'
            f'<td colspan="5">{_e(error)}{data}</td></tr>'
        )
    assert isinstance(record, ConnRecord)
    return (
        f'<tr class="lk-conn {css}" data-kind="conn">{conn}{arrow}'
        f'<td colspan="5">{_e(record.what())} {_e(record.detail)}</td></tr>'
    )


def _headers(record: HandshakeRecord) -> str:
    return "<br>".join(f"{_e(name)}: {_e(value)}" for name, value in record.headers)


def render_records(records: Iterable[Record]) -> str:
    """The records as an HTML table, oldest first (the view's scroll box scrolls it)."""
    head = "".join(f"<th>{_e(_(c))}</th>" for c in _COLUMNS)
    rows = "".join(_row(r) for r in records)
    return (
        f'{_STYLE}<div class="lk-scroll tex2jax_ignore mathjax_ignore">'
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )


class InspectorView(widgets.VBox):
    """The inspector's live table, with a Clear button.

    Args:
        store: the records to show (an inspector's ``store``).
        target: where the inspector forwards to, shown in the header.
        shown: how many of the last records the table shows.
        height: the table's height (CSS).
    """

    def __init__(
        self, store: RecordLog, target: str, shown: int = 200, height: str = "320px"
    ) -> None:
        self.store = store
        self.target = target
        self.shown = shown
        self._height = height
        self._lock = threading.Lock()
        self._pending = False
        self._last_draw = 0.0
        self._closed = False
        self._summary = widgets.HTML()
        self._summary.add_class("labkit-inspector-summary")
        self._table = widgets.HTML()
        self._table.add_class("labkit-inspector-table")
        self._anchor = widgets.HTML(layout=widgets.Layout(height="1px", min_height="1px"))
        self._anchor.add_class("labkit-inspector-anchor")
        self._scroller = widgets.VBox(
            [self._table, self._anchor], layout=widgets.Layout(max_height=height)
        )
        self._scroller.add_class("lk-scroller")
        self._clear = widgets.Button(description=_("Clear"), icon="trash")
        self._clear.add_class("labkit-inspector-clear")
        self._clear.on_click(lambda _b: self.clear())
        super().__init__([self._summary, self._scroller, self._clear])
        self.add_class("labkit-inspector")
        store.watch(self)
        self.refresh()

    @property
    def html(self) -> str:
        """The table's HTML as last drawn."""
        return self._table.value

    def refresh(self) -> None:
        """Redraw now, from the records kept."""
        if self._closed:
            return
        with self._lock:
            self._pending = False
            self._last_draw = time.monotonic()
        records = self.store.snapshot(self.shown)
        total = len(self.store)
        # More records than shown means more than one: only the short line has a "1 record".
        if total > self.shown:
            line = _("inspector → {target} · {count} records (last {shown} shown)")
        elif total == 1:
            line = _("inspector → {target} · {count} record")
        else:
            line = _("inspector → {target} · {count} records")
        summary = line.format(target=self.target, count=total, shown=self.shown)
        self._summary.value = f'<div class="lk-head">{_e(summary)}</div>'
        self._table.value = render_records(records)

    def clear(self) -> None:
        """Forget the inspector's records (the Clear button) and redraw at once."""
        self.store.clear()
        self.refresh()

    def records_changed(self) -> None:
        """Redraw soon: now if the last redraw is old enough, else once, a bit later."""
        with self._lock:
            if self._pending:
                return
            wait = self._last_draw + REDRAW_EVERY - time.monotonic()
            if wait > 0:
                self._pending = True
        if wait <= 0:
            self.refresh()
        else:
            kit_loop().call_soon_threadsafe(kit_loop().call_later, wait, self._redraw_later)

    def _redraw_later(self) -> None:
        if self._pending:
            self.refresh()

    def close(self) -> None:
        """Stop following the inspector and close the widgets."""
        self._closed = True
        self.store.unwatch(self)
        for child in (self._summary, self._table, self._anchor, self._scroller, self._clear):
            child.close()
        super().close()
