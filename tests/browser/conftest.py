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

__all__ = ["lab", "shutdown_kernels_after_test"]


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


@pytest.fixture(autouse=True)
def shutdown_kernels_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used Lab, stop its kernels: the next test starts fresh.

    Kernels run the kit's servers in background threads; leaving them up
    would make tests depend on each other and load the two CPU cores.
    """
    yield
    if "lab" in request.fixturenames:
        server: Lab = request.getfixturevalue("lab")
        server.shutdown_kernels()
