"""The panel's entry line: Enter sends exactly what the box holds, however fast one types.

Why not just ``Text.on_submit``
-------------------------------
ipywidgets sends a text box's value as *state*, and at most one state message
per widget is in flight: while the kernel has not answered, newer values wait
in the browser and only the latest is sent. Enter, though, is a *custom*
message, sent at once. Typed at machine speed, "submit" overtakes the last
value: the kernel sends a stale text and clears the box, then the waiting
value arrives and fills the box again.

How the entry line avoids it
----------------------------
:class:`EntryGuard` is a hidden anywidget inside the panel. Its few lines of
browser script catch Enter in the panel's text box, and clicks on Send, before
ipywidgets sees them (listeners in the capture phase, on the panel's root), and
send the box's content *with* the event as one custom message
(``{"line": TEXT}``), then empty the box right there. Custom messages are
delivered in order and none is merged with another, so every line reaches the
kernel once, exactly as typed.

The script only acts while the panel's header says OPEN and its widgets are
live; otherwise (and in a front-end that does not run anywidgets, or for a
panel driven from Python) Enter and Send take ipywidgets' own path, which keeps
the text in the box and shows why it was not sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget

__all__ = ["ENTRY_ESM", "EntryGuard"]

#: The browser side (an anywidget module): one set of listeners per view.
ENTRY_ESM = r"""
const INPUT = ".labkit-chat-input input";

function render({ model, el }) {
  el.classList.add("labkit-chat-guard");
  let panel = null, frame = 0, caught = null;

  function live() {
    if (!panel || panel.querySelector(".jupyter-widgets-disconnected")) return false;
    const state = panel.querySelector(".lk-state");
    return !!state && state.dataset.state === "OPEN";
  }
  function send() {
    const input = panel.querySelector(INPUT);
    if (!input || input.disabled) return false;
    const text = input.value;
    if (!text.trim()) return false;  // ipywidgets' path ignores it too
    model.send({ line: text });
    input.value = "";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }
  function keydown(event) {
    if (event.key !== "Enter" || event.isComposing || !event.target.matches(INPUT)) return;
    if (!live() || !send()) return;
    event.preventDefault();
    event.stopPropagation();
    caught = event.target;
  }
  function keypress(event) {  // ipywidgets' Text submits on keypress: not this one
    if (event.key === "Enter" && event.target === caught) {
      event.preventDefault();
      event.stopPropagation();
    }
  }
  function keyup(event) {
    if (event.key === "Enter") caught = null;
  }
  function click(event) {
    if (!event.target.closest || !event.target.closest(".labkit-chat-send")) return;
    if (!live() || !send()) return;
    event.preventDefault();
    event.stopPropagation();
  }
  const listeners = { keydown, keypress, keyup, click };
  let tries = 0;
  function attach() {  // the view is put in its panel after render returns
    panel = el.closest(".labkit-chat-panel");
    if (!panel) {
      if (++tries < 600) frame = requestAnimationFrame(attach);  // ~10 s, then never mind
      return;
    }
    for (const [type, listener] of Object.entries(listeners)) {
      panel.addEventListener(type, listener, true);
    }
  }
  attach();
  return () => {
    cancelAnimationFrame(frame);
    if (!panel) return;
    for (const [type, listener] of Object.entries(listeners)) {
      panel.removeEventListener(type, listener, true);
    }
  };
}
export default { render };
"""


class EntryGuard(anywidget.AnyWidget):
    """The hidden widget that brings a panel's typed lines to the kernel exactly.

    Args:
        on_line: called (on the kernel's main thread) with each line, in order.
    """

    _esm = ENTRY_ESM

    def __init__(self, on_line: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_line = on_line
        self.on_msg(self._receive)

    def _receive(self, _widget: Any, content: Any, _buffers: Any) -> None:
        line = content.get("line") if isinstance(content, dict) else None
        if isinstance(line, str) and line.strip():
            self._on_line(line)
