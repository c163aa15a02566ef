"""Every notebook survives a learner re-running its cells in one kernel.

A learner runs a lesson, then goes back and runs a cell again: a start cell
must replace its server (not fail with "address already in use"), an exercise
must not have replaced a name an earlier section uses, and every assertion
must hold again. nbval runs each notebook once; this runs it top to bottom,
then runs every code cell but the first (the imports and the first server)
again, in order, in the same kernel, with whatever state the first run left.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from .kernel import NOTEBOOKS, CellFailed, Kernel, code_cells, notebook_id


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_every_cell_can_be_run_again(path: Path) -> None:
    """After a full run, re-running each code cell but the first, in order, raises nothing."""
    cells = code_cells(nbformat.read(path, as_version=4))
    with Kernel(path.parent) as kernel:
        for index, cell in cells:
            kernel.run(cell.source, label=f"{path.name}, first run, cell {index}")
        for index, cell in cells[1:]:
            try:
                kernel.run(cell.source, label=f"{path.name}: cell {index}, run again,")
            except CellFailed as failed:
                pytest.fail(str(failed), pytrace=False)
