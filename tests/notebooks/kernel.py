"""A Jupyter kernel driven cell by cell, as a learner drives it (nbclient).

nbval runs a notebook once, top to bottom. The tests here need more: run the
cells again in the same kernel, or run a cell that is not in the notebook (a
pasted solution). :class:`Kernel` starts one real kernel from this virtualenv
and runs one source at a time in it, keeping every output::

    with Kernel(NOTEBOOKS_DIR) as kernel:
        kernel.run("x = 1")
        outputs = kernel.run("x + 1")

A cell that raises makes :meth:`Kernel.run` raise :class:`CellFailed`, which
says which cell it was (its index and first line) and what it raised.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import TracebackType
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

__all__ = [
    "NOTEBOOKS",
    "NOTEBOOKS_DIR",
    "CellFailed",
    "Kernel",
    "code_cells",
    "notebook_id",
    "notebook_language",
    "source_head",
]

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"

#: Every lesson and its Chinese twin, so that a new notebook is tested without
#: touching the tests.
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb")) + sorted(NOTEBOOKS_DIR.glob("zh/*.ipynb"))


def notebook_id(path: Path) -> str:
    """A lesson's name in test ids: ``02_echo.ipynb``, ``zh/02_echo.ipynb``."""
    return path.relative_to(NOTEBOOKS_DIR).as_posix()


def notebook_language(path: Path) -> str:
    """The language a lesson speaks: ``"zh-CN"`` in notebooks/zh/, else ``"en"``."""
    return "zh-CN" if path.parent.name == "zh" else "en"


#: The colours of IPython's tracebacks, which a test log shows as noise.
ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Seconds one cell may take: the slowest lesson cell takes a few seconds.
CELL_TIMEOUT = 90


def source_head(source: str, limit: int = 70) -> str:
    """The first non-blank line of a cell, cut to ``limit`` characters."""
    lines = [line for line in source.splitlines() if line.strip()]
    head = lines[0].strip() if lines else "(empty)"
    return head if len(head) <= limit else head[: limit - 1] + "…"


def code_cells(notebook: NotebookNode) -> list[tuple[int, NotebookNode]]:
    """``(index in the notebook, cell)`` for every code cell, in order."""
    return [(i, cell) for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]


class CellFailed(AssertionError):
    """A cell raised: which one (index, first line) and what it raised."""

    def __init__(self, label: str, source: str, error: CellExecutionError) -> None:
        self.ename = error.ename
        self.evalue = error.evalue
        super().__init__(
            f"{label} `{source_head(source)}` raised {error.ename}: {error.evalue}\n\n"
            + ANSI.sub("", str(error))
        )


class Kernel:
    """One kernel of this virtualenv, started in ``cwd`` and shut down on exit."""

    def __init__(self, cwd: Path = NOTEBOOKS_DIR, timeout: int = CELL_TIMEOUT) -> None:
        self.notebook = nbformat.v4.new_notebook()
        self.client = NotebookClient(
            self.notebook,
            timeout=timeout,
            kernel_name="python3",  # ipykernel's own spec: this interpreter
            resources={"metadata": {"path": str(cwd)}},
        )
        self._context: Any = None

    def __enter__(self) -> Kernel:
        self._context = self.client.setup_kernel()
        self._context.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._context.__exit__(kind, value, traceback)

    def run(self, source: str, label: str = "cell") -> list[NotebookNode]:
        """Run ``source`` as the next cell and return its outputs.

        Raises:
            CellFailed: the cell raised; the message starts with ``label``.
        """
        cell = nbformat.v4.new_code_cell(source)
        self.notebook.cells.append(cell)
        try:
            self.client.execute_cell(cell, len(self.notebook.cells) - 1)
        except CellExecutionError as error:
            raise CellFailed(label, source, error) from None
        return cell.outputs
