"""Tests for tools.notebooks, the notebook cleanliness gate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools.notebooks import clean_paths, find_notebooks, main, problems, strip, verify_paths

#: The repository's root, which holds the ``tools`` folder.
ROOT = Path(__file__).resolve().parents[2]


def _clean_notebook() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        new_markdown_cell("# Handshake", id="intro"),
        new_code_cell("x = 1 + 1", id="first", metadata={"tags": ["keep-me"]}),
        new_code_cell(
            "print('solution')",
            id="solution",
            metadata={"jupyter": {"source_hidden": True}, "tags": ["solution"]},
        ),
    ]
    return nb


def _dirty_notebook() -> nbformat.NotebookNode:
    nb = _clean_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.metadata["language_info"]["version"] = "3.11.7"
    first, solution = nb.cells[1], nb.cells[2]
    first.execution_count = 3
    first.outputs = [new_output("execute_result", {"text/plain": "2"}, execution_count=3)]
    first.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00Z"}
    first.metadata["scrolled"] = True
    solution.metadata["jupyter"]["outputs_hidden"] = True
    solution.outputs = [new_output("stream", name="stdout", text="solution\n")]
    return nb


def _write(path: Path, nb: nbformat.NotebookNode) -> Path:
    nbformat.write(nb, path)
    return path


def test_clean_notebook_has_no_problems(tmp_path: Path) -> None:
    """A notebook without outputs or run state passes verification untouched."""
    path = _write(tmp_path / "clean.ipynb", _clean_notebook())
    before = path.read_bytes()
    assert verify_paths([tmp_path]) == []
    assert clean_paths([tmp_path]) == []
    assert path.read_bytes() == before
    assert main(["--verify", str(tmp_path)]) == 0


def test_dirty_notebook_is_reported_with_every_problem(tmp_path: Path) -> None:
    """Outputs, execution counts, widget state and timings are each named in the report."""
    _write(tmp_path / "dirty.ipynb", _dirty_notebook())
    [finding] = verify_paths([tmp_path])
    assert finding.path == tmp_path / "dirty.ipynb"
    assert finding.problems == (
        "metadata.widgets",
        "metadata.language_info.version",
        "cell 1 (id first) has outputs",
        "cell 1 (id first) has an execution count",
        "cell 1 (id first) has metadata.execution",
        "cell 1 (id first) has metadata.scrolled",
        "cell 2 (id solution) has outputs",
        "cell 2 (id solution) has metadata.jupyter.outputs_hidden",
    )


def test_clean_strips_run_state_and_keeps_the_lesson(tmp_path: Path) -> None:
    """Cleaning removes run state but keeps sources, ids, tags and hidden solutions."""
    path = _write(tmp_path / "dirty.ipynb", _dirty_notebook())
    assert clean_paths([path]) == [path]
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert problems(nb) == []
    expected = _clean_notebook()
    assert [c.id for c in nb.cells] == [c.id for c in expected.cells]
    assert [c.source for c in nb.cells] == [c.source for c in expected.cells]
    assert [c.metadata for c in nb.cells] == [c.metadata for c in expected.cells]
    assert nb.metadata == expected.metadata
    # A second pass finds nothing to do: cleaning is idempotent.
    assert clean_paths([path]) == []


def test_strip_drops_an_emptied_jupyter_block(tmp_path: Path) -> None:
    """A ``metadata.jupyter`` left empty by stripping is removed rather than kept as ``{}``."""
    nb = _clean_notebook()
    nb.cells[1].metadata["jupyter"] = {"outputs_hidden": True}
    assert strip(nb) is True
    assert "jupyter" not in nb.cells[1].metadata
    assert strip(nb) is False


def test_command_line_verify_then_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m`` exits 1 listing only the dirty notebook; after --clean, --verify exits 0."""
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    _write(nb_dir / "dirty.ipynb", _dirty_notebook())
    _write(nb_dir / "clean.ipynb", _clean_notebook())

    # One real subprocess proves the module entry point the Makefile calls; importing
    # nbformat is slow, so the other steps call main() in-process.
    verify = subprocess.run(
        [sys.executable, "-m", "tools.notebooks", "--verify", str(nb_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,  # where the Makefile runs it: tools/ is a folder of the checkout
    )
    assert verify.returncode == 1
    assert "dirty.ipynb: metadata.widgets;" in verify.stdout
    assert "clean.ipynb" not in verify.stdout

    assert main(["--clean", str(nb_dir)]) == 0
    assert capsys.readouterr().out.strip() == f"cleaned {nb_dir / 'dirty.ipynb'}"
    assert main(["--verify", str(nb_dir)]) == 0


def test_checkpoints_are_ignored_and_missing_paths_refused(tmp_path: Path) -> None:
    """Jupyter's own checkpoint copies are skipped, and a mistyped path is an error."""
    checkpoints = tmp_path / ".ipynb_checkpoints"
    checkpoints.mkdir()
    _write(checkpoints / "dirty-checkpoint.ipynb", _dirty_notebook())
    assert find_notebooks([tmp_path]) == []
    with pytest.raises(FileNotFoundError):
        find_notebooks([tmp_path / "missing"])
    assert main(["--verify", str(tmp_path / "missing")]) == 2


def test_unreadable_notebook_is_reported(tmp_path: Path) -> None:
    """A file that is not notebook JSON fails verification instead of passing silently."""
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    [finding] = verify_paths([tmp_path])
    assert finding.problems[0].startswith("not a readable notebook")
    assert main(["--clean", str(tmp_path)]) == 1
