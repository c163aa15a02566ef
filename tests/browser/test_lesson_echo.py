"""Lesson 2 in a real JupyterLab: the echo notebook runs and its chat panel works."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import Lab, fill_and_click, kernel_execute, run_notebook, wait_for_text

if TYPE_CHECKING:
    from playwright.sync_api import Page

NOTEBOOK = "02_echo.ipynb"
PANEL = ".labkit-chat-panel"


def state_is(page: Page, state: str, timeout: float = 15.0) -> None:
    page.locator(f'{PANEL} .lk-state[data-state="{state}"]').first.wait_for(
        state="visible", timeout=timeout * 1000
    )


@pytest.mark.timeout(300)
def test_echo_notebook_panel_echoes_and_follows_the_server(
    page: Page, lab: Lab, artifacts_dir: Path
) -> None:
    """Run-all is clean; text sent from the panel comes back; the dot follows stop/reconnect."""
    run = run_notebook(page, lab, NOTEBOOK, timeout=240, screenshot_dir=artifacts_dir)
    assert run.ok, "\n".join(run.errors) + f"\nnot run: {run.not_run}"
    assert page.locator(PANEL).count() == 1
    assert page.get_by_text("Error displaying widget").count() == 0
    state_is(page, "OPEN")

    # A learner types into the box and presses Send: the echo shows in the log.
    fill_and_click(page, PANEL, "hello from Chromium <b>bold?</b>", button="Send")
    wait_for_text(page, f"{PANEL} .lk-other .lk-text", "hello from Chromium <b>bold?</b>")
    assert page.locator(f"{PANEL} .labkit-chat-log b").count() == 0  # text, not HTML

    # Stop the server from the kernel: the dot turns CLOSED, and once the panel's few
    # attempts have failed it says that nothing is listening any more.
    kernel_execute(page, NOTEBOOK, "port = echo_server.port; echo_server.stop()")
    state_is(page, "CLOSED")
    wait_for_text(page, f"{PANEL} .lk-system", "disconnected (1001)")
    wait_for_text(page, f"{PANEL} .lk-system", "nothing is listening at ws://")

    # Start it again on the same port and press Connect: OPEN again, echo works.
    kernel_execute(page, NOTEBOOK, "echo_server = labkit.start(app, port=port)")
    page.locator(PANEL).get_by_role("button", name="Connect", exact=True).click()
    state_is(page, "OPEN")
    fill_and_click(page, PANEL, "back again", button="Send")
    wait_for_text(page, f"{PANEL} .lk-other .lk-text", "back again")

    # Run the server's cell again (the same name): the panel follows it with no click.
    kernel_execute(page, NOTEBOOK, "echo_server = labkit.start(app)")
    wait_for_text(page, f"{PANEL} .lk-system", "reconnected to ws://")
    state_is(page, "OPEN")
    fill_and_click(page, PANEL, "after the re-run", button="Send")
    wait_for_text(page, f"{PANEL} .lk-other .lk-text", "after the re-run")
    page.locator(PANEL).first.screenshot(path=str(artifacts_dir / "02_echo-panel.png"))
