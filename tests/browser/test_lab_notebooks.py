"""Every notebook of the kit runs top to bottom in JupyterLab without an error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .helpers import Lab, run_notebook

if TYPE_CHECKING:
    from playwright.sync_api import Page

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
#: Notebooks with a test of their own that runs them and then drives their widgets.
DRIVEN = {"01_handshake.ipynb", "02_echo.ipynb", "03_chat_room.ipynb"}
NOTEBOOKS = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb") if p.name not in DRIVEN)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_lab(page: Page, lab: Lab, artifacts_dir: Path, name: str) -> None:
    """Run-all in a real Lab executes every code cell with no error and no broken widget."""
    run = run_notebook(page, lab, name, timeout=240, screenshot_dir=artifacts_dir)
    assert run.code_cells > 0, f"{name} has no code cells"
    assert not run.errors, f"{name}:\n" + "\n".join(run.errors)
    assert not run.not_run, f"{name}: code cells never ran: {list(run.not_run)}"
