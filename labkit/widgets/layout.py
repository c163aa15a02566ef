"""Lay several chat panels out side by side."""

from __future__ import annotations

import ipywidgets as widgets

__all__ = ["side_by_side"]


def side_by_side(*panels: widgets.Widget) -> widgets.HBox:
    """Put ``panels`` in one row, sharing the width equally (wrapping when narrow)."""
    for panel in panels:
        panel.layout.flex = "1 1 0"
        panel.layout.min_width = "240px"
    box = widgets.HBox(list(panels), layout=widgets.Layout(width="100%", flex_flow="row wrap"))
    box.add_class("labkit-chat-row")
    return box
