"""Fixtures shared by the whole test suite: a headless browser and an artifacts folder.

Only fixtures every folder may need live here; each test folder keeps its own
in its own ``conftest.py``.

Browser tests need a Chromium binary. It is looked up in this order:
``$LABKIT_CHROMIUM``, ``/usr/bin/chromium``, ``chromium`` on ``PATH``. Without
one the browser tests are skipped, except when ``CI=true``, where a missing
browser is a failure (a green run must mean the notebooks were really seen).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = [
    "CHROMIUM_ARGS",
    "artifacts_dir",
    "browser",
    "chinese",
    "find_chromium",
    "page",
    "zh_page",
]

# The suite reads the kit in English whatever this machine's locale is; a
# test that wants Chinese asks for it (the ``chinese`` fixture, or
# LABKIT_LANG=zh-CN in a subprocess's environment).
os.environ["LABKIT_LANG"] = "en"


@pytest.fixture
def chinese() -> Iterator[None]:
    """The kit speaks Chinese (zh-CN) for one test, then English again."""
    import labkit

    labkit.set_language("zh-CN")
    try:
        yield
    finally:
        labkit.set_language(None)


#: Flags for a headless Chromium in a container: no sandbox (often running as
#: root), no GPU, and no background traffic to Google services.
CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

_INSTALL_HINT = (
    "headless Chromium not found: install chromium (apt-get install chromium) "
    "or set LABKIT_CHROMIUM=/path/to/chrome"
)


def find_chromium() -> tuple[str | None, str]:
    """Locate the Chromium binary for the browser tests.

    Returns:
        ``(path, "")`` when found, else ``(None, reason)`` with a one-line
        reason that says how to fix it.
    """
    configured = os.environ.get("LABKIT_CHROMIUM")
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured, ""
        return None, f"LABKIT_CHROMIUM={configured} is not an executable file; {_INSTALL_HINT}"
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium", ""
    on_path = shutil.which("chromium")
    if on_path:
        return on_path, ""
    return None, _INSTALL_HINT


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the browser, and run them all last.

    The mark lets ``-m "not browser"`` leave them out. Running them last
    matters: Playwright's sync API keeps an asyncio loop registered on the
    main thread while the session's browser is open, and ``asyncio.run`` in
    any later test would then fail with "cannot be called from a running
    event loop".
    """
    uses_browser = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
    for item in uses_browser:
        item.add_marker(pytest.mark.browser)
    chosen = set(map(id, uses_browser))
    items[:] = [item for item in items if id(item) not in chosen] + uses_browser


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep each phase's report on the item, so ``page`` can tell whether the test failed."""
    report = yield
    setattr(item, f"_labkit_report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def artifacts_dir(pytestconfig: pytest.Config) -> Path:
    """The repository's ``artifacts/`` folder (git-ignored) for screenshots and logs."""
    path = pytestconfig.rootpath / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session, driven by Playwright's sync API."""
    executable, reason = find_chromium()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _page_in(
    browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path, **context: Any
) -> Iterator[Page]:
    """A fresh context (``context`` passed on: ``locale=``...) and page; a failing test
    leaves ``artifacts/<test name>.png``."""
    browser_context = browser.new_context(viewport={"width": 1280, "height": 900}, **context)
    new_page = browser_context.new_page()
    try:
        yield new_page
    finally:
        report = getattr(request.node, "_labkit_report_call", None)
        if report is not None and report.failed:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid).strip("_")
            try:
                new_page.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)
            except Exception as exc:  # a dead page must not hide the test's own failure
                print(f"could not save failure screenshot: {exc}")
        browser_context.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Page]:
    """A fresh browser context and page per test; a failing test leaves a screenshot.

    The screenshot goes to ``artifacts/<test name>.png``.
    """
    yield from _page_in(browser, request, artifacts_dir)


@pytest.fixture
def zh_page(
    browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path
) -> Iterator[Page]:
    """Like ``page``, in a browser whose language is Chinese (zh-CN).

    ``navigator.languages`` and ``Accept-Language`` say zh-CN, as for the Chinese
    lessons' readers, so a chat page embedded in a notebook speaks Chinese too.
    """
    yield from _page_in(browser, request, artifacts_dir, locale="zh-CN")
