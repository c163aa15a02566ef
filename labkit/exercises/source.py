"""The reference solution as a learner sees it: source that runs when pasted.

:func:`solution_source` gives the text ``ex.solution.accept_key()`` shows:
the imports and constants the reference functions use, then each function,
renamed to the name the notebook's exercise cell gives it. The code is
shown as it is written (its comments too); only the title around it is
translated (:mod:`labkit.exercises.core`).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["solution_source"]


class _Solved(Protocol):
    """What of an :class:`~labkit.exercises.core.Exercise` the source needs."""

    @property
    def solution(self) -> tuple[Callable[..., Any], ...]: ...

    @property
    def params(self) -> tuple[str, ...]: ...


def _annotation_names(fn: Callable[..., Any]) -> set[str]:
    """The global names the annotations of ``fn`` use (``Context`` in ``ctx: Context``).

    Annotations are not in the code object's names, and with ``from __future__
    import annotations`` they are not evaluated either; pasted into a cell they
    are, so their names must be imported there.
    """
    names: set[str] = set()
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            annotations = [arg.annotation for arg in every if arg is not None]
            annotations.append(node.returns)
            for annotation in annotations:
                if annotation is not None:
                    names.update(n.id for n in ast.walk(annotation) if isinstance(n, ast.Name))
    return names


def _code_names(code: Any) -> list[str]:
    """The global and attribute names ``code`` and the code nested in it load."""
    names = list(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):  # a comprehension, a lambda, an inner function
            names += _code_names(const)
    return names


def _preamble(functions: tuple[Callable[..., Any], ...]) -> list[str]:
    """The imports and constants the functions use, so the source shown runs as is."""
    lines: list[str] = []
    for fn in functions:
        for name in [*_code_names(fn.__code__), *sorted(_annotation_names(fn))]:
            if name not in fn.__globals__:
                continue  # an attribute or a builtin
            value = fn.__globals__[name]
            if inspect.ismodule(value):
                line = f"import {value.__name__}"
                if value.__name__ != name:
                    line += f" as {name}"
            elif inspect.isclass(value) or inspect.isfunction(value):
                line = f"from {value.__module__} import {value.__name__}"
                if value.__name__ != name:
                    line += f" as {name}"
            elif isinstance(value, str | int | float | bytes):
                line = f"{name} = {value!r}"
            else:
                continue
            if line not in lines:
                lines.append(line)
    return sorted(lines, key=lambda line: (not line.startswith(("import", "from")), line))


def _renamed(source: str, old: str, new: str) -> str:
    """``source`` with the function it defines renamed from ``old`` to ``new``."""
    if old == new:
        return source
    pattern = rf"^((?:async\s+)?def\s+){re.escape(old)}(\s*\()"
    return re.sub(pattern, rf"\g<1>{new}\g<2>", source, count=1, flags=re.MULTILINE)


def solution_source(exercise: _Solved) -> str:
    """The reference solution as it is shown: runnable, named as in the notebook.

    Imports and constants come first, then each function. A function takes
    the name the notebook's exercise cell gives it (the checker's parameter:
    ``my_accept_key`` for the reference ``accept_key``), so the text pasted in
    place of that cell's placeholder is checked by the cell below it as it is.
    """
    functions = exercise.solution
    names = (
        exercise.params
        if len(exercise.params) == len(functions)
        else tuple(fn.__name__ for fn in functions)
    )
    parts = [
        _renamed(textwrap.dedent(inspect.getsource(fn)).strip(), fn.__name__, name)
        for fn, name in zip(functions, names, strict=True)
    ]
    preamble = _preamble(functions)
    return "\n\n\n".join(["\n".join(preamble), *parts] if preamble else parts)
