"""Lesson 3 in a real JupyterLab: three panels chat, and the embedded page joins them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import Lab, fill_and_click, run_notebook, wait_for_text

if TYPE_CHECKING:
    from playwright.sync_api import Page

NOTEBOOK = "03_chat_room.ipynb"
PANEL = ".labkit-chat-panel"


def panel_of(name: str) -> str:
    """A selector for the panel whose header shows ``name``."""
    return f'{PANEL}:has(.lk-name:text-is("{name}"))'


@pytest.mark.timeout(300)
def test_chat_notebook_panels_and_page_chat_together(
    page: Page, lab: Lab, artifacts_dir: Path
) -> None:
    """Run-all is clean, three panels render, a typed line reaches the others and the page."""
    run = run_notebook(page, lab, NOTEBOOK, timeout=240, screenshot_dir=artifacts_dir)
    assert run.ok, "\n".join(run.errors) + f"\nnot run: {run.not_run}"
    assert page.get_by_text("Error displaying widget").count() == 0
    for name in ("alice", "bob", "carol"):
        assert page.locator(panel_of(name)).count() == 1, name
        page.locator(f'{panel_of(name)} .lk-state[data-state="OPEN"]').wait_for(timeout=15_000)

    # A learner types into Alice's panel: Bob and Carol see it, as someone else's message.
    fill_and_click(page, panel_of("alice"), "typed in the browser <i>hi</i>", button="Send")
    for name in ("bob", "carol"):
        wait_for_text(
            page, f"{panel_of(name)} .lk-other .lk-text", "typed in the browser <i>hi</i>"
        )
    assert page.locator(f"{PANEL} .labkit-chat-log i").count() == 0  # shown as text

    # A person joins from the page embedded in the notebook and talks to the panels.
    frame = page.frame_locator("iframe").first
    frame.locator("#join").click()
    frame.locator("#send-form").wait_for(state="visible", timeout=15_000)
    wait_for_text(page, f"{panel_of('alice')} .lk-system", "visitor joined")
    frame.locator("#text").fill("hello from the page")
    frame.locator("#send").click()
    for name in ("alice", "bob", "carol"):
        wait_for_text(page, f"{panel_of(name)} .lk-other .lk-text", "hello from the page")
    fill_and_click(page, panel_of("bob"), "hello, visitor", button="Send")
    frame.locator("#messages").get_by_text("hello, visitor").wait_for(timeout=15_000)
    page.locator(".labkit-chat-row").first.screenshot(
        path=str(artifacts_dir / "03_chat-panels.png")
    )
