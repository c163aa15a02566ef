"""Lesson 3 in a real JupyterLab: three panels chat, the embedded page joins them, and both
survive a re-run server cell; typing at machine speed sends exactly what was typed; a
kernel restart leaves no panel claiming to be OPEN.

One notebook run serves every step (a run costs more than all the steps together). The
run stops above the clean-up cell, which stops the room; nbval and the re-run test run it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import (
    Lab,
    fill_and_click,
    kernel_execute,
    restart_kernel,
    run_cell,
    run_notebook,
    screenshot_notebook,
    wait_for_text,
)

if TYPE_CHECKING:
    from playwright.sync_api import FrameLocator, Page

NOTEBOOK = "03_chat_room.ipynb"
PANEL = ".labkit-chat-panel"
CLEAN_UP = "labkit.stop_all()"
SERVER_CELL = "re-running this cell replaces the room"
NAMES = ("alice", "bob", "carol")

# Every box of the panels and mirrors whose content must fit its width.
_WIDER_THAN_BOX = """() => [...document.querySelectorAll(
    '.labkit-chat-panel, .labkit-chat-panel .lk-scroll, .labkit-chat-panel .widget-hbox,'
    + ' .labkit-chat-mirror, .labkit-chat-mirror .lk-scroll')]
  .filter((e) => e.scrollWidth > e.clientWidth)
  .map((e) => `${e.className}: ${e.scrollWidth} > ${e.clientWidth}`)"""

# The hint under a panel's box: shown, and not cut off by the panel.
_HINT = """(panel) => {
  const hint = panel.querySelector('.labkit-chat-hint');
  const r = hint.getBoundingClientRect(), p = panel.getBoundingClientRect();
  return {text: hint.textContent, shown: r.width > 0 && r.right <= p.right + 0.5};
}"""


def panel_of(name: str) -> str:
    """A selector for the panel whose header shows ``name``."""
    return f'{PANEL}:has(.lk-name:text-is("{name}"))'


def the_page(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[title='labkit page']").first


@pytest.mark.timeout(300)
def test_chat_notebook_panels_and_page_chat_together(
    page: Page, lab: Lab, artifacts_dir: Path
) -> None:
    """Run-all is clean, three panels render, a typed line reaches the others and the page,
    and everything is back, chatting, after the server cell runs again."""
    run = run_notebook(
        page, lab, NOTEBOOK, timeout=240, screenshot_dir=artifacts_dir, until=CLEAN_UP
    )
    assert run.ok, "\n".join(run.errors) + f"\nnot run: {run.not_run}"
    assert page.get_by_text("Error displaying widget").count() == 0
    for name in NAMES:
        assert page.locator(panel_of(name)).count() == 1, name
        page.locator(f'{panel_of(name)} .lk-state[data-state="OPEN"]').wait_for(timeout=15_000)

    # A learner types into Alice's panel: Bob and Carol see it, as someone else's message.
    fill_and_click(page, panel_of("alice"), "typed in the browser <i>hi</i>", button="Send")
    for name in ("bob", "carol"):
        wait_for_text(
            page, f"{panel_of(name)} .lk-other .lk-text", "typed in the browser <i>hi</i>"
        )
    assert page.locator(f"{PANEL} .labkit-chat-log i").count() == 0  # shown as text

    check_layout(page)
    check_machine_speed_typing(page)
    chat_with_the_page(page)
    page.locator(".labkit-chat-row").first.screenshot(
        path=str(artifacts_dir / "03_chat-panels.png")
    )

    # The server cell runs again: the panels and the page follow it, with no click.
    run_cell(page, NOTEBOOK, SERVER_CELL)
    check_all_back_after_the_rerun(page)
    screenshot_notebook(page, NOTEBOOK, artifacts_dir / "03_chat_room-after-rerun.png")
    page.locator(".labkit-chat-row").first.screenshot(
        path=str(artifacts_dir / "03_chat-panels-after-rerun.png")
    )

    # The kernel restarts: the views outlive it, and none may still say OPEN.
    restart_kernel(page, NOTEBOOK)
    check_no_panel_claims_open(page)
    page.locator(".labkit-chat-row").first.screenshot(
        path=str(artifacts_dir / "03_chat-panels-kernel-restarted.png")
    )


def check_layout(page: Page) -> None:
    """No horizontal scrollbar anywhere in a panel; the /msg hint shows in full."""
    assert page.evaluate(_WIDER_THAN_BOX) == []
    for name in NAMES:
        hint = page.locator(panel_of(name)).evaluate(_HINT)
        assert hint == {"text": "Enter sends · /msg NAME text: private", "shown": True}, name
    # Each demo cell shows what the panels got there, frozen as it was after that cell.
    rows = page.locator(".labkit-chat-mirrors")
    assert rows.count() >= 5
    assert "Hello everyone!" in rows.first.inner_text()
    assert "typed in the browser" not in rows.first.inner_text()


def check_machine_speed_typing(page: Page) -> None:
    """Lines typed with no delay, each ended by Enter, arrive once each, in order, as typed."""
    box = page.locator(f"{panel_of('alice')} .labkit-chat-input input")
    box.click()
    lines = [f"line {n:02d}: typed at machine speed, no pause <b>{n}</b>" for n in range(20)]
    for line in lines:
        page.keyboard.type(line, delay=0)
        page.keyboard.press("Enter")
    wait_for_text(page, f"{panel_of('carol')} .lk-other .lk-text", lines[-1], timeout=30)
    assert box.input_value() == ""
    kernel_execute(
        page,
        NOTEBOOK,
        f"lines = {lines!r}\n"
        "for panel in (bob, carol):\n"
        "    panel.wait_for(lambda m: m.text == lines[-1])\n"
        "    got = [m.text for m in panel.received if m.text.startswith('line ')]\n"
        "    assert got == lines, got\n"
        "assert [m.text for m in alice.messages if m.text.startswith('line ')] == lines",
    )


def chat_with_the_page(page: Page) -> None:
    """A person joins from the page embedded in the notebook and talks to the panels."""
    frame = the_page(page)
    frame.locator("#who").filter(has_text="join to see who is here").wait_for(timeout=30_000)
    frame.locator("#name").fill("visitor")
    frame.locator("#join").click()
    frame.locator("#send-form").wait_for(state="visible", timeout=15_000)
    frame.locator("#count").filter(has_text="4").wait_for(timeout=15_000)
    wait_for_text(page, f"{panel_of('alice')} .lk-system", "visitor joined")
    frame.locator("#text").fill("hello from the page")
    frame.locator("#send").click()
    for name in NAMES:
        wait_for_text(page, f"{panel_of(name)} .lk-other .lk-text", "hello from the page")
    fill_and_click(page, panel_of("bob"), "hello, visitor", button="Send")
    frame.locator("#messages").get_by_text("hello, visitor").wait_for(timeout=15_000)


def check_all_back_after_the_rerun(page: Page) -> None:
    """Each panel says why it closed and that it is back; the page too; they chat."""
    for name in NAMES:
        wait_for_text(page, f"{panel_of(name)} .lk-system", "the server went away")
        wait_for_text(page, f"{panel_of(name)} .lk-system", "reconnected to ws://")
        page.locator(f'{panel_of(name)} .lk-state[data-state="OPEN"]').wait_for(timeout=15_000)
    frame = the_page(page)
    frame.locator("#messages .system").filter(has_text="reconnected to ws").wait_for(timeout=30_000)
    frame.locator("#state").filter(has_text="OPEN (1)").wait_for(timeout=15_000)
    frame.locator("#users").filter(has_text="visitor (you)").wait_for(timeout=15_000)
    frame.locator("#text").fill("back after the re-run")
    frame.locator("#send").click()
    wait_for_text(page, f"{panel_of('alice')} .lk-other .lk-text", "back after the re-run")
    box = page.locator(f"{panel_of('carol')} .labkit-chat-input input")
    box.click()
    page.keyboard.type("carol is back too", delay=0)
    page.keyboard.press("Enter")
    frame.locator("#messages").get_by_text("carol is back too").wait_for(timeout=15_000)


def check_no_panel_claims_open(page: Page) -> None:
    """After a restart every panel and mirror shows a grey dot and "kernel gone", no state."""
    gone = page.locator(f"{PANEL} .lk-gone")
    for index in range(len(NAMES)):
        gone.nth(index).wait_for(state="visible", timeout=30_000)
    shown = page.evaluate(
        """() => [...document.querySelectorAll('.lk-state')]
          .filter((e) => e.getBoundingClientRect().width > 0)
          .map((e) => e.dataset.state)"""
    )
    assert shown == [], f"states still shown after the restart: {shown}"
    dots = page.evaluate(
        """() => [...document.querySelectorAll('.labkit-chat-panel .lk-dot')]
          .map((e) => getComputedStyle(e).backgroundColor)"""
    )
    assert dots == ["rgb(170, 170, 170)"] * len(NAMES), dots
    assert page.locator(".labkit-chat-mirror .lk-gone").first.is_visible()
