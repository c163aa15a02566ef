"""Browser tests: the kit's notebooks run in a real JupyterLab, seen by a real Chromium.

How to run::

    .venv/bin/python -m pytest tests/browser -q

These tests need a Chromium binary: ``/usr/bin/chromium`` (Debian:
``apt-get install chromium``), ``chromium`` on ``PATH``, or any Chrome/Chromium
named by ``LABKIT_CHROMIUM=/path/to/chrome``. Without one they are skipped
(and fail when ``CI=true``). Leave them out with ``-m "not browser"``.

One JupyterLab server is started for the whole session, over *copies* of
``notebooks/`` in a temporary folder, with its own config, data, runtime and
IPython folders, so neither your personal Jupyter setup nor the repository's
notebooks are touched. Its log goes to ``artifacts/jupyter-lab.log``;
screenshots of each notebook after its run go to ``artifacts/<notebook>.png``.

Fixtures:
    ``lab`` (session): the running :class:`~.helpers.Lab`; kernels started
    during a test are shut down after it.
    ``lab_zh`` (session): a second Lab whose own menus speak Chinese.

Helpers (``from .helpers import ...``): ``run_notebook``, ``fill_and_click``,
``wait_for_text``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import Lab, start_lab

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["lab", "lab_zh", "shutdown_kernels_after_test"]


@pytest.fixture(scope="session")
def lab(
    browser: Browser,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
    artifacts_dir: Path,
) -> Iterator[Lab]:
    """One JupyterLab for the whole session, serving copies of ``notebooks/``.

    It asks for ``browser`` first so that, without Chromium, the tests are
    skipped before paying for a server start.
    """
    del browser  # requested only for its skip/fail decision
    server = start_lab(
        tmp_path_factory.mktemp("lab"),
        pytestconfig.rootpath / "notebooks",
        artifacts_dir / "jupyter-lab.log",
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab_zh(
    browser: Browser,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
    artifacts_dir: Path,
) -> Iterator[Lab]:
    """A JupyterLab whose own menus speak Chinese (jupyterlab-language-pack-zh-CN).

    This is how a Chinese reader runs the lessons in ``notebooks/zh/``.
    """
    del browser  # requested only for its skip/fail decision
    server = start_lab(
        tmp_path_factory.mktemp("lab-zh"),
        pytestconfig.rootpath / "notebooks",
        artifacts_dir / "jupyter-lab-zh.log",
        locale="zh_CN",
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def shutdown_kernels_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used Lab, stop its kernels: the next test starts fresh.

    Kernels run the kit's servers in background threads; leaving them up
    would make tests depend on each other and load the two CPU cores.
    """
    yield
    for name in ("lab", "lab_zh"):
        if name in request.fixturenames:
            server: Lab = request.getfixturevalue(name)
            server.shutdown_kernels()
