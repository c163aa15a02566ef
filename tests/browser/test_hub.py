"""Lesson 3 as a JupyterHub user sees it: every page through Jupyter's own URL.

JupyterLab runs with jupyter-server-proxy under ``/user/learner/``, with token
auth and remote access on, as a single-user server behind a hub does. Chromium
reaches it as ``http://hub.test:PORT/user/learner/lab`` (``hub.test`` is mapped
to 127.0.0.1 by a resolver rule), and a route aborts every request to any other
host or port: the chat page can only come through Jupyter. A test on
127.0.0.1 alone would pass falsely, since Host and Origin would be loopback.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM_ARGS, find_chromium

from .helpers import kernel_execute, run_notebook
from .lab import (
    _KERNEL_PROBE,
    Lab,
    LabStartError,
    _check_kernel,
    _isolated_env,
    _write_user_settings,
)

pytestmark = pytest.mark.browser

BASE = "/user/learner/"
HOST = "hub.test"


def _start_hub_lab(base: Path, notebooks: Path, log_path: Path, token: str) -> Lab:
    """``jupyter lab`` as a hub's single-user server: base URL, token, remote access."""
    root = base / "root"
    shutil.copytree(notebooks, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = base / "user-settings"
    _write_user_settings(settings)
    env = _isolated_env(base)
    probe = subprocess.Popen(
        [sys.executable, "-c", _KERNEL_PROBE],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",
        "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={BASE}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_remote_access=True",
        "--ServerApp.terminals_enabled=False",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={base / 'ws'}",
        "--LabApp.extension_manager=readonly",
        "--allow-root",
    ]
    log = log_path.open("wb")
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    lab = Lab(url="", root_dir=root, log_path=log_path, process=process, _log=log)
    try:
        _check_kernel(probe)
        runtime = Path(env["JUPYTER_RUNTIME_DIR"])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not lab.url:
            for info in runtime.glob("jpserver-*.json"):
                try:
                    port = json.loads(info.read_text())["port"]
                except (OSError, ValueError, KeyError):
                    continue
                status = f"http://127.0.0.1:{port}{BASE}api/status?token={token}"
                try:
                    with urllib.request.urlopen(status, timeout=2):
                        lab.url = f"http://{HOST}:{port}{BASE}"
                except OSError:
                    pass
            if not lab.url:
                try:
                    code = process.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    continue
                raise LabStartError(f"jupyter lab exited with {code}:\n{lab.log_tail()}")
        if not lab.url:
            raise LabStartError(f"jupyter lab did not answer:\n{lab.log_tail()}")
    except BaseException:
        lab.stop()
        raise
    return lab


@pytest.fixture(scope="module")
def hub(tmp_path_factory, pytestconfig, artifacts_dir) -> Iterator[tuple[Lab, str]]:
    executable, reason = find_chromium()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    token = secrets.token_hex(16)
    lab = _start_hub_lab(
        tmp_path_factory.mktemp("hub"),
        pytestconfig.rootpath / "notebooks",
        artifacts_dir / "jupyter-hub-lab.log",
        token,
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
