"""What every exercise shares: the result, the placeholder test, the registry.

Theory of operation
-------------------
A lesson module declares its exercises on a :class:`Lesson`::

    lesson = Lesson("lesson1")

    @lesson.exercise(hint="Hash key + GUID with SHA-1 ...", solution=(solutions.accept_key,))
    def accept_key(fn) -> str:
        got = call(fn, "dGhlIHNhbXBsZSBub25jZQ==", name="accept_key")
        if got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=":
            raise WrongAnswer("...", hint="...")
        return "the RFC 6455 example works"

and a notebook uses the three namespaces the lesson builds from its registry::

    ex.check.accept_key(accept_key)     # shows ✓ or ✗, returns a Result
    ex.hint.accept_key()                # shows the hint
    ex.solution.accept_key()            # shows the reference solution's source

A checker returns a line of praise, or raises :class:`WrongAnswer` (what was
tried, what was expected, what came back) or :class:`NotAttempted`. The lesson
turns either into a :class:`Result`, shows it and returns it, so a learner's
mistake never becomes a traceback. Both signals derive from
:class:`~labkit.errors.ExerciseError` and never leave this package.

Before the checker runs, each object handed in is tested with
:func:`placeholder`: the notebook's untouched ``def f(...): ...`` (or
``pass``, or ``raise NotImplementedError``), ``None`` and ``...`` all count as
"not attempted yet", which is said kindly and is not a failure to fix.
"""

from __future__ import annotations

import ast
import functools
import inspect
import logging
import re
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from ..errors import ExerciseError
from .display import Note, Verdict, emit

__all__ = [
    "REGISTRY",
    "Exercise",
    "Lesson",
    "NotAttempted",
    "Result",
    "WrongAnswer",
    "call",
    "calls_to",
    "placeholder",
    "show",
    "solution_source",
]

log = logging.getLogger("labkit.exercises")


class WrongAnswer(ExerciseError):
    """The learner's answer is wrong; the message says how (caught by :class:`Lesson`).

    Attributes:
        message: what was tried, what was expected and what came back.
        hint: advice for this very mistake, or ``None`` for the exercise's hint.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotAttempted(ExerciseError):
    """The learner's code is still the placeholder (caught by :class:`Lesson`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Result:
    """The outcome of one check.

    ``bool(result)`` is ``result.ok``, so ``assert ex.check.accept_key(f)``
    means what it says.

    Attributes:
        exercise: the exercise's name, e.g. ``"accept_key"``.
        ok: the answer passed every test.
        attempted: false while the learner's code is still the placeholder.
        message: the praise, or what went wrong (input, expected, got).
        hint: advice shown under a wrong answer ("" when ok).
    """

    exercise: str
    ok: bool
    attempted: bool = True
    message: str = ""
    hint: str = ""

    def __bool__(self) -> bool:
        return self.ok

    @property
    def verdict(self) -> Verdict:
        """The displayable form of this result (✓, ✗ or "not attempted yet")."""
        status = "ok" if self.ok else "wrong" if self.attempted else "todo"
        return Verdict(self.exercise, status, self.message, self.hint)

    def show(self) -> None:
        """Show the result again (in colour in Jupyter, as text elsewhere)."""
        emit(self.verdict)

    def _ipython_display_(self) -> None:
        # The check already showed this result when it ran. A cell ending in
        # `ex.check.x(f)` would show it a second time as the cell's value.
        pass


def show(value: Any, limit: int = 60) -> str:
    """A short, printable ``repr`` of ``value`` for messages (long ones cut with …)."""
    if isinstance(value, bytes | bytearray) and len(value) > limit // 2:
        text = f"{bytes(value[: limit // 3])!r}… ({len(value)} bytes)"
        return text
    try:
        text = repr(value)
    except Exception as exc:  # a learner's object whose __repr__ fails
        text = f"<{type(value).__name__} whose repr() raised {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- placeholders -----------------------------------------------------------------


def _is_filler(statement: ast.stmt) -> bool:
    """``...``, ``pass``, a bare string, or ``raise NotImplementedError[(...)]``."""
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return statement.value.value is Ellipsis or isinstance(statement.value.value, str)
    if isinstance(statement, ast.Raise) and statement.exc is not None:
        target = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
        return isinstance(target, ast.Name) and target.id == "NotImplementedError"
    return False


def placeholder(obj: Any) -> str | None:
    """Tell whether ``obj`` is still the notebook's placeholder, and why.

    Returns:
        a short reason to put after the object's name ("is still None") for ``None``,
        ``...`` and functions whose body holds only ``...``, ``pass``, a
        docstring or ``raise NotImplementedError``; ``None`` for anything else.
        A function whose source cannot be read counts as attempted: calling
        it will tell.
    """
    if obj is None or obj is Ellipsis:
        return f"is still {obj!r}"
    if not callable(obj):
        return None
    function = inspect.unwrap(obj)
    if not inspect.isfunction(function) or function.__name__ == "<lambda>":
        return None
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        is_def = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if is_def and node.name == function.__name__:
            if all(_is_filler(statement) for statement in node.body):
                return (
                    "still has its placeholder body: write your code in place of `...`, "
                    "run that cell, then this one"
                )
            return None
    return None


def call(fn: Callable[..., Any], *args: Any, name: str, expect_value: bool = True) -> Any:
    """Call the learner's ``fn(*args)`` and turn what can go wrong into feedback.

    Raises:
        NotAttempted: ``fn`` raised ``NotImplementedError``, or returned
            ``None`` while a value was expected (often a forgotten ``return``).
        WrongAnswer: ``fn`` raised anything else, or is an ``async def``.
    """
    label = f"{name}({', '.join(show(arg, 40) for arg in args)})"
    try:
        result = fn(*args)
    except NotImplementedError:
        raise NotAttempted(f"{name} still raises NotImplementedError") from None
    except Exception as exc:
        raise WrongAnswer(f"{label} raised {type(exc).__name__}: {exc}") from None
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()  # no "coroutine was never awaited" warning on the learner's screen
        raise WrongAnswer(
            f"{label} returned a coroutine: {name} should be a plain `def`, not `async def`"
        )
    if expect_value and result is None:
        raise NotAttempted(f"{label} returned None (write the body, and end it with `return`)")
    return result


@contextmanager
def calls_to(function: str, modules: Mapping[str, str]) -> Iterator[list[str]]:
    """Collect, in the block, the calls to ``function`` defined in one of ``modules``.

    For an exercise that asks the learner not to use a ready-made function:
    ``modules`` maps a defining module (``"labkit.protocol.handshake"``) to the
    name a message gives it (``"labkit.protocol.accept_key"``); the list
    yielded gets that name for each call. A profile function sees every
    Python call of this thread however it was reached (an alias, an attribute,
    a helper of the learner's); one set before keeps running.
    """
    seen: list[str] = []
    previous: Callable[..., Any] | None = sys.getprofile()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name == function:
            module = frame.f_globals.get("__name__")
            if module in modules:
                seen.append(modules[module])
        if previous is not None:
            previous(frame, event, arg)

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(previous)


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


def solution_source(exercise: Exercise) -> str:
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


# --- the registry --------------------------------------------------------------------

#: Every lesson by name, for tools that list all exercises.
REGISTRY: dict[str, Lesson] = {}


@dataclass(frozen=True)
class Exercise:
    """One exercise: its checker, its hint and the reference solution(s)."""

    name: str
    lesson: str
    checker: Callable[..., str]
    hint: str
    solution: tuple[Callable[..., Any], ...]
    params: tuple[str, ...] = field(default=())

    @property
    def usage(self) -> str:
        """How a notebook calls the check, e.g. ``ex.check.accept_key(accept_key)``."""
        return f"ex.check.{self.name}({', '.join(self.params)})"

    def run(self, *objs: Any) -> Result:
        """Check ``objs`` (the learner's functions) and return the result, unshown."""
        if len(objs) != len(self.params):
            return Result(
                self.name,
                ok=False,
                attempted=False,
                message=f"this check takes {len(self.params)} argument(s): {self.usage}",
            )
        todo = []
        for param, obj in zip(self.params, objs, strict=True):
            reason = placeholder(obj)
            if reason is not None:
                todo.append(f"{param} {reason}")
            elif not callable(obj):
                return Result(
                    self.name,
                    ok=False,
                    message=(
                        f"{param} should be your function itself, but it is "
                        f"{type(obj).__name__} {show(obj)}. Pass the name without "
                        f"parentheses: {self.usage}"
                    ),
                    hint="Write `check.x(my_function)`, not `check.x(my_function(...))`.",
                )
        if todo:
            return Result(self.name, ok=False, attempted=False, message="; ".join(todo))
        try:
            praise = self.checker(*objs)
        except WrongAnswer as wrong:
            hint = self.hint if wrong.hint is None else wrong.hint
            return Result(self.name, ok=False, message=wrong.message, hint=hint)
        except NotAttempted as todo_:
            return Result(self.name, ok=False, attempted=False, message=todo_.message)
        except Exception as exc:  # the check itself broke: say so rather than raise
            log.exception("the check for %s could not finish", self.name)
            return Result(
                self.name,
                ok=False,
                message=f"the check could not finish: {type(exc).__name__}: {exc}",
                hint=self.hint,
            )
        return Result(self.name, ok=True, message=praise)


class _Namespace:
    """``check``, ``hint`` or ``solution``: one attribute per exercise of a lesson."""

    def __init__(self, lesson: Lesson, kind: str) -> None:
        self._lesson = lesson
        self._kind = kind

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):  # copy, pickle and IPython probe private names
            raise AttributeError(name)
        exercises = self._lesson.exercises
        if name not in exercises:
            raise AttributeError(
                f"{self._lesson.name} has no exercise {name!r}; "
                f"its exercises are: {', '.join(exercises)}"
            )
        return getattr(self._lesson, f"_{self._kind}_function")(exercises[name])

    def __dir__(self) -> list[str]:
        return sorted(self._lesson.exercises)

    def __repr__(self) -> str:
        return f"<{self._kind} for {self._lesson.name}: {', '.join(self._lesson.exercises)}>"


class Lesson:
    """The exercises of one lesson, with ``check``, ``hint`` and ``solution`` namespaces."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.exercises: dict[str, Exercise] = {}
        self.check = _Namespace(self, "check")
        self.hint = _Namespace(self, "hint")
        self.solution = _Namespace(self, "solution")
        REGISTRY[name] = self

    def exercise(
        self, *, hint: str, solution: tuple[Callable[..., Any], ...]
    ) -> Callable[[Callable[..., str]], Callable[..., str]]:
        """Register the decorated checker under its own name.

        The checker's parameter names are the names the notebook uses for the
        learner's functions (``my_accept_key``), and ``solution`` holds one
        reference function per parameter, in the same order: the solution shown
        takes those names. The checker's docstring is the exercise's help text.
        """

        def register(checker: Callable[..., str]) -> Callable[..., str]:
            params = tuple(inspect.signature(checker).parameters)
            text = textwrap.dedent(hint).strip()
            self.exercises[checker.__name__] = Exercise(
                checker.__name__, self.name, checker, text, solution, params
            )
            return checker

        return register

    def _check_function(self, exercise: Exercise) -> Callable[..., Result]:
        @functools.wraps(exercise.checker)
        def check(*objs: Any) -> Result:
            result = exercise.run(*objs)
            result.show()
            return result

        return check

    def _hint_function(self, exercise: Exercise) -> Callable[[], None]:
        def hint() -> None:
            emit(Note(f"Hint: {exercise.name}", exercise.hint, kind="hint"))

        hint.__doc__ = f"Show the hint for {exercise.name}."
        return hint

    def _solution_function(self, exercise: Exercise) -> Callable[[], None]:
        def solution() -> None:
            emit(Note(f"Solution: {exercise.name}", solution_source(exercise), kind="code"))

        solution.__doc__ = f"Show a reference solution for {exercise.name}."
        return solution

    def __repr__(self) -> str:
        return f"<Lesson {self.name}: {', '.join(self.exercises)}>"
