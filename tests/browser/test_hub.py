"""Lesson 3 as a JupyterHub user sees it: every page through Jupyter's own URL.

JupyterLab runs with jupyter-server-proxy under ``/user/learner/``, with token
auth and remote access on, as a single-user server behind a hub does. Chromium
reaches it as ``http://hub.test:PORT/user/learner/lab`` (``hub.test`` is mapped
to 127.0.0.1 by a resolver rule), and a route aborts every request to any other
host or port: the chat page can only come through Jupyter. A test on
127.0.0.1 alone would pass falsely, since Host and Origin would be loopback.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from tests.conftest import CHROMIUM_ARGS, find_chromium

from .helpers import kernel_execute, run_notebook
from .lab import Lab, start_lab

pytestmark = pytest.mark.browser

BASE = "/user/learner/"
HOST = "hub.test"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, pytestconfig, artifacts_dir) -> Iterator[tuple[Lab, str]]:
    executable, reason = find_chromium()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    token = secrets.token_hex(16)
    lab = start_lab(
        tmp_path_factory.mktemp("hub"),
        pytestconfig.rootpath / "notebooks",
        artifacts_dir / "jupyter-hub-lab.log",
        base_url=BASE,
        token=token,
        public_host=HOST,
    )
    try:
        yield lab, token
    finally:
        lab.stop()


@pytest.fixture
def hub_page(hub, artifacts_dir) -> Iterator[tuple[object, list[str]]]:
    """A Chromium that resolves hub.test to 127.0.0.1 and may reach Jupyter's port only."""
    from playwright.sync_api import sync_playwright

    lab, token = hub
    executable, _ = find_chromium()
    allowed = lab.url.split(BASE)[0]  # http://hub.test:PORT
    blocked: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def only_jupyter(route) -> None:
            if route.request.url.startswith(allowed + "/"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        def only_jupyter_ws(ws) -> None:
            if ws.url.startswith(allowed.replace("http", "ws", 1) + "/"):
                ws.connect_to_server()
            else:
                blocked.append(ws.url)
                ws.close()

        context.route("**/*", only_jupyter)
        context.route_web_socket("**/*", only_jupyter_ws)
        page = context.new_page()
        page.goto(f"{lab.url}lab?token={token}")  # logs in: Jupyter sets its cookie
        try:
            yield page, blocked
        finally:
            try:
                page.screenshot(path=str(artifacts_dir / "hub-lesson3.png"), full_page=True)
            finally:
                context.close()
                browser.close()


def test_lesson_3_under_a_hub_prefix_chats_through_the_proxy(hub, hub_page, artifacts_dir) -> None:
    """Under /user/learner/, lesson 3 runs, and its embedded page joins and chats both ways."""
    lab, _token = hub
    page, blocked = hub_page
    run = run_notebook(page, lab, "03_chat_room.ipynb", timeout=240, until="labkit.stop_all()")
    assert run.ok, "\n".join(run.errors) or f"cells not run: {run.not_run}"
    frame_element = page.locator("iframe[title='labkit page']").first
    frame_element.wait_for(timeout=30_000)
    src = frame_element.get_attribute("src") or ""
    assert src.startswith(f"{lab.url}proxy/"), src
    frame = frame_element.content_frame
    frame.locator("#state[data-state='1']").wait_for(timeout=30_000)
    frame.locator("#name").fill("hubvisitor")
    frame.locator("#join").click()
    frame.locator("#send-form:not([hidden])").wait_for(timeout=30_000)
    frame.locator("#text").fill("hello from the hub page")
    frame.locator("#send").click()
    # A panel in the kernel got it; then a panel speaks and the page shows it.
    kernel_execute(
        page,
        "03_chat_room.ipynb",
        "alice.wait_for(lambda m: m.text == 'hello from the hub page', timeout=30)\n"
        "alice.say('hello back to the page')",
    )
    frame.get_by_text("hello back to the page").wait_for(timeout=30_000)
    frame_element.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "hub-lesson3-chatting.png"), full_page=False)
    assert blocked == [], f"requests that did not go through Jupyter's port: {blocked}"
