"""Every lesson has a Chinese twin in ``notebooks/zh/`` that runs the same code.

The two may differ only in what a reader reads: Markdown, comments and string
literals. Everything else (names, numbers, calls, the order of the cells) is
compared token by token, so a change to one lesson that is not made to its
twin fails here with the cell and the first line that differ.
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from tests.notebooks.kernel import NOTEBOOKS_DIR

ZH_DIR = NOTEBOOKS_DIR / "zh"
ENGLISH = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
CHINESE = sorted(ZH_DIR.glob("*.ipynb"))

#: Tokens a reader reads, which a twin translates.
_PROSE = {tokenize.COMMENT, tokenize.STRING}
#: Tokens that only lay the code out.
_LAYOUT = {tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def code_shape(source: str) -> list[tuple[int, str]]:
    """``(line, token)`` for each token of ``source`` that is code, not prose.

    Every string (f-strings whole) becomes ``"<str>"`` and comments vanish, so
    two cells with the same shape differ only in what they say to the reader.
    IPython's ``%magic`` and ``!shell`` lines are first turned into Python.
    """
    python = TransformerManager().transform_cell(source)
    shape: list[tuple[int, str]] = []
    depth = 0
    for token in tokenize.generate_tokens(io.StringIO(python).readline):
        if token.type == _FSTRING_START:
            if depth == 0:
                shape.append((token.start[0], "<str>"))
            depth += 1
        elif token.type == _FSTRING_END:
            depth -= 1
        elif depth or token.type == tokenize.COMMENT or token.type in _LAYOUT:
            continue
        elif token.type in _PROSE:
            shape.append((token.start[0], "<str>"))
        else:
            shape.append((token.start[0], token.string))
    return shape


def _first_difference(english: str, chinese: str) -> str | None:
    """The first line of each cell where their code differs, or None."""
    left, right = code_shape(english), code_shape(chinese)
    for (line_en, token_en), (line_zh, token_zh) in zip(left, right, strict=False):
        if token_en != token_zh:
            return (
                f"English line {line_en}: {english.splitlines()[line_en - 1].strip()!r}\n"
                f"Chinese line {line_zh}: {chinese.splitlines()[line_zh - 1].strip()!r}"
            )
    if len(left) != len(right):
        longer, name = (english, "English") if len(left) > len(right) else (chinese, "Chinese")
        line = (left if len(left) > len(right) else right)[min(len(left), len(right))][0]
        return f"the {name} cell goes on at line {line}: {longer.splitlines()[line - 1].strip()!r}"
    return None


def test_every_lesson_has_a_chinese_twin_and_no_twin_is_an_orphan() -> None:
    """notebooks/zh/ holds exactly the lessons of notebooks/, by file name."""
    assert [p.name for p in CHINESE] == [p.name for p in ENGLISH]


def _cells_of_the_pair(english: Path) -> tuple[list, list]:
    """The cells of a lesson and of its Chinese twin (a missing twin fails the test)."""
    chinese = ZH_DIR / english.name
    if not chinese.exists():
        pytest.fail(f"no Chinese twin: {chinese.relative_to(NOTEBOOKS_DIR.parent)}")
    return nbformat.read(english, as_version=4).cells, nbformat.read(chinese, as_version=4).cells


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.name)
def test_the_twin_runs_the_same_code_in_the_same_cells(english: Path) -> None:
    """Cell by cell: the same kinds in the same order, code equal but for prose."""
    left, right = _cells_of_the_pair(english)
    assert [c.cell_type for c in right] == [c.cell_type for c in left], "cells differ in kind"
    for index, (cell_en, cell_zh) in enumerate(zip(left, right, strict=True)):
        if cell_en.cell_type != "code":
            continue
        difference = _first_difference(cell_en.source, cell_zh.source)
        assert difference is None, f"code cell {index} differs:\n{difference}"


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: p.name)
def test_the_twin_says_it_in_chinese(english: Path) -> None:
    """Every Markdown cell with English prose is Chinese in the twin, not a copy."""
    left, right = _cells_of_the_pair(english)
    untranslated = [
        index
        for index, (cell_en, cell_zh) in enumerate(zip(left, right, strict=False))
        if cell_en.cell_type == "markdown"
        and len(cell_en.source.split()) >= 3
        and not _has_chinese(cell_zh.source)
    ]
    assert untranslated == [], f"Markdown cells still in English: {untranslated}"


@pytest.mark.parametrize(
    ("path", "language"),
    [(p, "en") for p in ENGLISH] + [(p, "zh-CN") for p in CHINESE],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_each_lesson_speaks_its_own_language_from_the_first_cell(path: Path, language: str) -> None:
    """The first code cell sets the kit's language, whatever the machine's locale."""
    cells = nbformat.read(path, as_version=4).cells
    first = next(cell.source for cell in cells if cell.cell_type == "code")
    assert f'labkit.set_language("{language}")' in first


def test_the_shape_ignores_prose_and_sees_code() -> None:
    """Comments and strings may change; a name, a number or an extra call may not."""
    base = 'x = f(1, "hello")  # say hello\nprint(f"{x} done")\n'
    assert code_shape(base) == code_shape('x = f(1, "你好")  # 打个招呼\nprint(f"{x} 完成")\n')
    assert code_shape(base) != code_shape('x = f(2, "hello")\nprint(f"{x} done")\n')
    assert code_shape(base) != code_shape('y = f(1, "hello")\nprint(f"{y} done")\n')
    assert code_shape("%time x = 1\n") == code_shape("%time x = 1  # 计时\n")
