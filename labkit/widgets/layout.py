"""Lay several chat panels out side by side, or their compact mirrors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

if TYPE_CHECKING:
    from .panel import ChatPanel

__all__ = ["mirrors", "side_by_side"]


def side_by_side(*panels: widgets.Widget) -> widgets.HBox:
    """Put ``panels`` in one row, sharing the width equally (wrapping when narrow)."""
    for panel in panels:
        panel.layout.flex = "1 1 0"
        panel.layout.min_width = "240px"
    box = widgets.HBox(list(panels), layout=widgets.Layout(width="100%", flex_flow="row wrap"))
    box.add_class("labkit-chat-row")
    return box


def mirrors(*panels: ChatPanel, last: int = 6, height: str = "120px") -> widgets.HBox:
    """One row of compact, live copies of ``panels`` (:meth:`ChatPanel.mirror`).

    A cell that drives panels shown far above ends with this, so what each
    panel got shows right under the cell.
    """
    views = [panel.mirror(last, height) for panel in panels]
    for view in views:
        view.layout.flex = "1 1 0"
    box = widgets.HBox(views, layout=widgets.Layout(width="100%", flex_flow="row wrap"))
    box.add_class("labkit-chat-mirrors")
    return box
