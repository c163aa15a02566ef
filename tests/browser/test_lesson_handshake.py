"""Lesson 1 in a real JupyterLab: the wire inspector opens at the handshake and scrolls
like a terminal (it follows new rows only while the reader is at the bottom)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .helpers import Lab, kernel_execute, run_notebook

if TYPE_CHECKING:
    from playwright.sync_api import Page

NOTEBOOK = "01_handshake.ipynb"
SCROLLER = ".labkit-inspector .lk-scroller"

# Where the inspector's scroll box stands, and which rows show at its top.
_WHERE = """(box) => {
  const rows = [...box.querySelectorAll('tbody tr')];
  const top = box.querySelector('thead').getBoundingClientRect().bottom;
  const bottom = box.getBoundingClientRect().bottom;
  const visible = rows.filter((r) => {
    const b = r.getBoundingClientRect();
    return b.bottom > top + 1 && b.top < bottom - 1;
  });
  const whole = (r) => r.getBoundingClientRect().top >= top - 1
    && r.getBoundingClientRect().bottom <= bottom + 1;
  return {
    top: box.scrollTop, height: box.scrollHeight, seen: box.clientHeight,
    width: box.scrollWidth, box: box.clientWidth, rows: rows.length,
    first: visible.length ? visible[0].textContent : null,
    handshakes: rows.filter((r) => r.dataset.kind === 'handshake').map(whole),
    atBottom: box.scrollHeight - box.scrollTop - box.clientHeight < 2,
  };
}"""

# Traffic through the tap: each message is two more frame rows (there and back).
_TRAFFIC = """
more = labkit.WebSocket(tap.url).wait_open()
for n in range({count}):
    more.send(f"more traffic {{n}}")
more.wait_for(lambda m: m == "more traffic {last}")
more.close()
more.wait_closed()
mine = max(r.conn for r in inspector.records if r.kind == "conn")
inspector.wait_for(lambda r: r.kind == "conn" and r.event == "closed" and r.conn == mine)
"""


def traffic(page: Page, count: int) -> None:
    kernel_execute(page, NOTEBOOK, _TRAFFIC.format(count=count, last=count - 1))


def where(page: Page) -> dict[str, Any]:
    return page.locator(SCROLLER).first.evaluate(_WHERE)


def wait_rows(page: Page, more_than: int) -> None:
    page.wait_for_function(
        "([sel, n]) => document.querySelector(sel).querySelectorAll('tbody tr').length > n",
        arg=[SCROLLER, more_than],
    )


@pytest.mark.timeout(300)
def test_handshake_notebook_inspector_opens_at_the_handshake(
    page: Page, lab: Lab, artifacts_dir: Path
) -> None:
    """Run-all is clean; the table shows its first rows, the handshake, with no sideways
    scrollbar; it stays put while the reader is up, and follows once they are at the bottom."""
    run = run_notebook(page, lab, NOTEBOOK, timeout=240, screenshot_dir=artifacts_dir)
    assert run.ok, "\n".join(run.errors) + f"\nnot run: {run.not_run}"
    inspector = page.locator(".labkit-inspector").first
    inspector.scroll_into_view_if_needed()
    state = where(page)
    assert state["top"] == 0 and state["first"].startswith("#1TCP open"), state
    assert state["handshakes"][0], state  # the client's request, right below, wholly in view
    assert state["width"] <= state["box"], state
    root = inspector.evaluate("(e) => [e.scrollWidth, e.clientWidth]")
    assert root[0] <= root[1], root
    inspector.screenshot(path=str(artifacts_dir / "01_inspector-top.png"))

    # More rows arrive while the reader is at the top: the view does not move.
    traffic(page, 10)
    wait_rows(page, state["rows"])
    state = where(page)
    assert state["height"] > state["seen"], "the table should overflow its box by now"
    assert state["top"] == 0 and state["first"].startswith("#1TCP open"), state

    # At the bottom, it follows new rows, as a terminal does.
    page.locator(SCROLLER).first.evaluate("(box) => { box.scrollTop = box.scrollHeight; }")
    assert where(page)["atBottom"]
    rows = where(page)["rows"]
    traffic(page, 5)
    wait_rows(page, rows)
    state = where(page)
    assert state["atBottom"] and state["top"] > 0, state
    inspector.screenshot(path=str(artifacts_dir / "01_inspector-following.png"))

    # Scrolled up to read: new rows do not pull the reader away.
    page.locator(SCROLLER).first.evaluate("(box) => { box.scrollTop = 40; }")
    rows = where(page)["rows"]
    traffic(page, 3)
    wait_rows(page, rows)
    assert where(page)["top"] == 40
