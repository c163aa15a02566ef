"""Every solution the kit shows runs as pasted into its exercise cell, and passes its check.

For each exercise of each lesson notebook, a fresh kernel runs the notebook's
``from labkit.exercises import lessonN as ex`` cell, then ``ex.solution.NAME()``.
The code it shows (the ``<pre>`` a learner copies in JupyterLab) is run as a
cell of its own, in place of the exercise's placeholder, and then the
notebook's own check cell for that exercise runs: it must show ✓. Nothing else
of the notebook runs first, so a solution that needs a name the notebook
happens to define (an import, a constant, an annotation's class) fails here.
"""

from __future__ import annotations

import html
import importlib
import pkgutil
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

import labkit.exercises
from tests.notebooks.kernel import NOTEBOOKS, Kernel, code_cells, notebook_id, notebook_language

_IMPORT = re.compile(r"from labkit\.exercises import (lesson\d+) as ex")
_PRE = re.compile(r"<pre[^>]*>(.*?)</pre>", re.DOTALL)


def _lesson_modules() -> list[str]:
    """Every ``lessonN`` module of labkit.exercises."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules(labkit.exercises.__path__)
        if re.fullmatch(r"lesson\d+", info.name)
    )


def _notebook_lessons() -> dict[tuple[str, str], tuple[Path, list[NotebookNode]]]:
    """``(language, lessonN)`` -> (its notebook, the notebook's code cells), from the import cell.

    Each lesson is there twice: the English notebook and its Chinese twin.
    """
    found = {}
    for path in NOTEBOOKS:
        cells = [cell for _, cell in code_cells(nbformat.read(path, as_version=4))]
        for cell in cells:
            match = _IMPORT.fullmatch(cell.source.strip())
            if match:
                found[notebook_language(path), match[1]] = (path, cells)
    return found


def _cases() -> list[object]:
    cases = []
    for (language, lesson), (path, cells) in sorted(_notebook_lessons().items()):
        module = importlib.import_module(f"labkit.exercises.{lesson}")
        for name in module.lesson.exercises:
            checks = [c.source for c in cells if c.source.strip().startswith(f"ex.check.{name}(")]
            check = checks[0] if checks else None
            label = f"{notebook_id(path).removesuffix('.ipynb')}.{name}"
            cases.append(pytest.param(path, language, lesson, name, check, id=label))
    return cases


def _display(outputs: list[NotebookNode]) -> dict[str, str]:
    """The one rich output a call shows (its MIME bundle)."""
    shown = [out for out in outputs if out.output_type == "display_data"]
    assert len(shown) == 1, f"expected one display, got {outputs}"
    return shown[0].data


def shown_code(outputs: list[NotebookNode]) -> str:
    """The code ``ex.solution.NAME()`` shows: the text of its ``<pre>``, as a learner copies it.

    The text form (``text/plain``) must hold the same code under its title line.
    """
    data = _display(outputs)
    blocks = _PRE.findall(data["text/html"])
    assert len(blocks) == 1, data["text/html"]
    code = html.unescape(blocks[0])
    plain = data["text/plain"].split("\n", 1)[1]
    assert textwrap.dedent(plain).strip() == code.strip(), "text and HTML show different code"
    return code


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_every_lesson_with_exercises_has_a_notebook(language: str) -> None:
    """Each lessonN module of labkit.exercises is imported as `ex` by a lesson in each language."""
    lessons = sorted(lesson for spoken, lesson in _notebook_lessons() if spoken == language)
    assert lessons == _lesson_modules()


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("path", "language", "lesson", "name", "check_cell"), _cases())
def test_the_solution_shown_pastes_and_passes(
    path: Path, language: str, lesson: str, name: str, check_cell: str | None
) -> None:
    """The code solution.NAME() shows, run as the exercise cell, makes the notebook's check ✓.

    The Chinese twin's solutions are shown by a kit that speaks Chinese, as in the lesson.
    """
    assert check_cell is not None, f"{path.name} has no `ex.check.{name}(...)` cell"
    with Kernel(path.parent) as kernel:
        kernel.run(f"import labkit; labkit.set_language({language!r})", label="the language")
        kernel.run(f"from labkit.exercises import {lesson} as ex", label="the import cell")
        code = shown_code(kernel.run(f"ex.solution.{name}()", label="the solution call"))
        kernel.run(code, label=f"{lesson}'s solution of {name}, pasted,")
        verdict = _display(kernel.run(check_cell, label=f"{path.name}'s check cell"))
    text = verdict["text/plain"]
    assert text.startswith(f"✓ {name}"), f"{path.name}: {check_cell}\n{text}"
    if language == "en":
        assert text.startswith(f"✓ {name}: correct!"), f"{path.name}: {check_cell}\n{text}"
