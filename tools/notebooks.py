"""Keep the lesson notebooks stored clean: no outputs, no run state.

A notebook saved after a run carries outputs, execution counts, timings and
the state of every widget. None of it belongs in the repository: it makes
diffs unreadable, it goes stale the moment the code changes, and a learner
should see each result appear when *they* run the cell. Usage::

    python -m tools.notebooks --verify notebooks   # exit 1 and list dirty ones
    python -m tools.notebooks --clean notebooks    # strip them in place

What is kept: cell sources, cell ids, and the cell metadata that is part of
the lesson (``tags``, ``jupyter.source_hidden`` for collapsed solutions,
``editable``, ``deletable``, ...). What is stripped is listed in
:data:`VOLATILE_NOTEBOOK_KEYS` and :data:`VOLATILE_CELL_KEYS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

__all__ = [
    "VOLATILE_CELL_KEYS",
    "VOLATILE_JUPYTER_KEYS",
    "VOLATILE_NOTEBOOK_KEYS",
    "Finding",
    "clean_paths",
    "find_notebooks",
    "main",
    "problems",
    "strip",
    "verify_paths",
]

#: Notebook-level metadata written by a run: widget state and trust signatures.
VOLATILE_NOTEBOOK_KEYS: tuple[str, ...] = ("widgets", "signature")

#: Cell-level metadata that records what happened in one session (timings,
#: scroll and collapse state of outputs), not what the lesson says.
VOLATILE_CELL_KEYS: tuple[str, ...] = (
    "execution",
    "ExecuteTime",
    "collapsed",
    "scrolled",
    "heading_collapsed",
    "hidden",
)

#: Keys under a cell's ``metadata.jupyter`` that describe outputs, which are
#: stripped anyway. ``source_hidden`` is deliberately absent: it hides solutions.
VOLATILE_JUPYTER_KEYS: tuple[str, ...] = ("outputs_hidden",)


@dataclass(frozen=True)
class Finding:
    """One notebook and what makes it dirty.

    Attributes:
        path: the notebook file.
        problems: one short human sentence per problem, in file order.
    """

    path: Path
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.path}: " + "; ".join(self.problems)


def _cell_name(index: int, cell: NotebookNode) -> str:
    cell_id = cell.get("id")
    return f"cell {index}" + (f" (id {cell_id})" if cell_id else "")


def problems(nb: NotebookNode) -> list[str]:
    """List what a notebook carries that a stored lesson must not.

    Args:
        nb: a notebook as read by :func:`nbformat.read`.

    Returns:
        One sentence per problem; empty when the notebook is clean.
    """
    found: list[str] = []
    meta = nb.get("metadata", {})
    for key in VOLATILE_NOTEBOOK_KEYS:
        if key in meta:
            found.append(f"metadata.{key}")
    if "version" in meta.get("language_info", {}):
        # The interpreter version of whoever saved last: changes from machine to machine.
        found.append("metadata.language_info.version")
    for index, cell in enumerate(nb.get("cells", [])):
        name = _cell_name(index, cell)
        if cell.get("cell_type") == "code":
            if cell.get("outputs"):
                found.append(f"{name} has outputs")
            if cell.get("execution_count") is not None:
                found.append(f"{name} has an execution count")
        cell_meta = cell.get("metadata", {})
        found.extend(f"{name} has metadata.{key}" for key in VOLATILE_CELL_KEYS if key in cell_meta)
        jupyter = cell_meta.get("jupyter", {})
        found.extend(
            f"{name} has metadata.jupyter.{key}" for key in VOLATILE_JUPYTER_KEYS if key in jupyter
        )
    return found


def strip(nb: NotebookNode) -> bool:
    """Remove outputs, execution counts and volatile metadata, in place.

    Args:
        nb: the notebook to clean; cell ids, sources and lesson metadata stay.

    Returns:
        ``True`` if anything was removed.
    """
    if not problems(nb):
        return False
    meta = nb.get("metadata", {})
    for key in VOLATILE_NOTEBOOK_KEYS:
        meta.pop(key, None)
    meta.get("language_info", {}).pop("version", None)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell_meta = cell.get("metadata", {})
        for key in VOLATILE_CELL_KEYS:
            cell_meta.pop(key, None)
        jupyter = cell_meta.get("jupyter")
        if jupyter is not None:
            for key in VOLATILE_JUPYTER_KEYS:
                jupyter.pop(key, None)
            if not jupyter:
                # An empty ``jupyter: {}`` left behind would only be noise in the diff.
                del cell_meta["jupyter"]
    return True


def find_notebooks(paths: Iterable[Path]) -> list[Path]:
    """Expand files and directories into a sorted list of notebooks.

    Directories are searched recursively; ``.ipynb_checkpoints`` copies are
    ignored because Jupyter writes them on its own.

    Raises:
        FileNotFoundError: a path does not exist (a typo should not pass as clean).
    """
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.is_file():
            found.add(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
    return sorted(found)


def _read(path: Path) -> NotebookNode:
    """Read a notebook as stored, without upgrading its format version.

    Raises:
        ValueError: the file is not a notebook (bad JSON or no nbformat key).
    """
    try:
        return nbformat.read(path, as_version=nbformat.NO_CONVERT)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{path}: not a readable notebook: {exc}") from exc


def verify_paths(paths: Iterable[Path]) -> list[Finding]:
    """Check notebooks without changing them.

    Returns:
        One :class:`Finding` per dirty or unreadable notebook; empty if all are clean.
    """
    findings: list[Finding] = []
    for path in find_notebooks(paths):
        try:
            nb = _read(path)
        except ValueError as exc:
            findings.append(Finding(path, (f"not a readable notebook: {exc.__cause__ or exc}",)))
            continue
        found = problems(nb)
        if found:
            findings.append(Finding(path, tuple(found)))
    return findings


def clean_paths(paths: Iterable[Path]) -> list[Path]:
    """Strip notebooks in place; files that are already clean are not rewritten.

    Returns:
        The notebooks that were changed.

    Raises:
        ValueError: a file is not a readable notebook (nothing after it is touched).
    """
    changed: list[Path] = []
    for path in find_notebooks(paths):
        nb = _read(path)
        if strip(nb):
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point.

    Returns:
        0 when every notebook is clean (or was cleaned), 1 when ``--verify``
        found dirty notebooks, 2 on a usage error.
    """
    parser = argparse.ArgumentParser(
        prog="python -m tools.notebooks",
        description="Verify or strip outputs and run state from notebooks.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--verify", action="store_true", help="list dirty notebooks, exit 1 if any")
    mode.add_argument("--clean", action="store_true", help="strip dirty notebooks in place")
    parser.add_argument("paths", nargs="+", type=Path, help="notebook files or directories")
    args = parser.parse_args(argv)

    try:
        if args.verify:
            findings = verify_paths(args.paths)
            for finding in findings:
                print(finding)
            if findings:
                print(
                    f"{len(findings)} notebook(s) are not clean; "
                    "run: python -m tools.notebooks --clean " + " ".join(map(str, args.paths)),
                    file=sys.stderr,
                )
                return 1
            return 0
        for path in clean_paths(args.paths):
            print(f"cleaned {path}")
        return 0
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
