"""Every notebook can be run twice in one kernel: re-running cells is safe.

A learner re-runs cells all the time: a start cell must replace its server,
not fail with "address already in use", and every check must hold again.
nbval runs each notebook once; this runs each one top to bottom twice in the
same kernel, which re-runs every cell with the state the first run left.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_twice_in_one_kernel(path: Path) -> None:
    """Running all cells a second time in the same kernel raises nothing."""
    notebook = nbformat.read(path, as_version=4)
    twice = nbformat.v4.new_notebook(metadata=notebook.metadata)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    twice.cells = copy.deepcopy(code) + copy.deepcopy(code)
    client = NotebookClient(
        twice,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any failure
    errors = [
        output
        for cell in twice.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
