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

Every sentence a learner reads (verdicts, hints, the reasons above) is a
catalog message (:mod:`labkit.i18n`), translated when the check runs or the
hint is shown. Hints are declared with :func:`~labkit.i18n.N_` and kept in
English on the :class:`Exercise`; :attr:`Exercise.hint` translates them.
"""

from __future__ import annotations

import ast
import functools
import inspect
import logging
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from ..errors import ExerciseError
from ..i18n import _
from .display import Note, Verdict, emit
from .source import solution_source

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
        return _("{head}… ({count} bytes)").format(
            head=repr(bytes(value[: limit // 3])), count=len(value)
        )
    try:
        text = repr(value)
    except Exception as exc:  # a learner's object whose __repr__ fails
        text = _("<{type} whose repr() raised {error}>").format(
            type=type(value).__name__, error=type(exc).__name__
        )
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


def placeholder(obj: Any, name: str | None = None) -> str | None:
    """Tell whether ``obj`` is still the notebook's placeholder, and why.

    Args:
        obj: what the learner handed in.
        name: what the sentence calls it (the checker's parameter,
            ``my_accept_key``); by default the function's own name.

    Returns:
        a sentence saying so ("my_accept_key is still None") for ``None``,
        ``...`` and functions whose body holds only ``...``, ``pass``, a
        docstring or ``raise NotImplementedError``; ``None`` for anything else.
        A function whose source cannot be read counts as attempted: calling
        it will tell.
    """
    if obj is None or obj is Ellipsis:
        return _("{name} is still {value}").format(name=name or _("the value"), value=repr(obj))
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
                return _(
                    "{name} still has its placeholder body: write your code in place of `...`, "
                    "run that cell, then this one"
                ).format(name=name or function.__name__)
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
        raise NotAttempted(_("{name} still raises NotImplementedError").format(name=name)) from None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise WrongAnswer(_("{call} raised {error}").format(call=label, error=error)) from None
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()  # no "coroutine was never awaited" warning on the learner's screen
        raise WrongAnswer(
            _(
                "{call} returned a coroutine: {name} should be a plain `def`, not `async def`"
            ).format(call=label, name=name)
        )
    if expect_value and result is None:
        raise NotAttempted(
            _("{call} returned None (write the body, and end it with `return`)").format(call=label)
        )
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


# --- the registry --------------------------------------------------------------------

#: Every lesson by name, for tools that list all exercises.
REGISTRY: dict[str, Lesson] = {}


@dataclass(frozen=True)
class Exercise:
    """One exercise: its checker, its hint and the reference solution(s).

    ``hint_message`` is the hint as declared (an English catalog message);
    :attr:`hint` is that hint in the language spoken now.
    """

    name: str
    lesson: str
    checker: Callable[..., str]
    hint_message: str
    solution: tuple[Callable[..., Any], ...]
    params: tuple[str, ...] = field(default=())

    @property
    def hint(self) -> str:
        """The hint, translated, without the indentation of its declaration."""
        return textwrap.dedent(_(self.hint_message)).strip()

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
                message=_("this check takes {count} argument(s): {usage}").format(
                    count=len(self.params), usage=self.usage
                ),
            )
        todo = []
        for param, obj in zip(self.params, objs, strict=True):
            reason = placeholder(obj, param)
            if reason is not None:
                todo.append(reason)
            elif not callable(obj):
                return Result(
                    self.name,
                    ok=False,
                    message=_(
                        "{param} should be your function itself, but it is {type} {value}. "
                        "Pass the name without parentheses: {usage}"
                    ).format(
                        param=param, type=type(obj).__name__, value=show(obj), usage=self.usage
                    ),
                    hint=_("Write `check.x(my_function)`, not `check.x(my_function(...))`."),
                )
        if todo:
            # TRANSLATORS: between two "not attempted yet" sentences on one line.
            message = _("; ").join(todo)
            return Result(self.name, ok=False, attempted=False, message=message)
        try:
            praise = self.checker(*objs)
        except WrongAnswer as wrong:
            hint = self.hint if wrong.hint is None else wrong.hint
            return Result(self.name, ok=False, message=wrong.message, hint=hint)
        except NotAttempted as todo_:
            return Result(self.name, ok=False, attempted=False, message=todo_.message)
        except Exception as exc:  # the check itself broke: say so rather than raise
            log.exception(_("the check for %s could not finish"), self.name)
            return Result(
                self.name,
                ok=False,
                message=_("the check could not finish: {error}").format(
                    error=f"{type(exc).__name__}: {exc}"
                ),
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
                _("{lesson} has no exercise {name}; its exercises are: {exercises}").format(
                    lesson=self._lesson.name, name=repr(name), exercises=", ".join(exercises)
                )
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
            self.exercises[checker.__name__] = Exercise(
                checker.__name__, self.name, checker, hint, solution, params
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
            title = _("Hint: {exercise}").format(exercise=exercise.name)
            emit(Note(title, exercise.hint, kind="hint"))

        hint.__doc__ = f"Show the hint for {exercise.name}."
        return hint

    def _solution_function(self, exercise: Exercise) -> Callable[[], None]:
        def solution() -> None:
            title = _("Solution: {exercise}").format(exercise=exercise.name)
            emit(Note(title, solution_source(exercise), kind="code"))

        solution.__doc__ = f"Show a reference solution for {exercise.name}."
        return solution

    def __repr__(self) -> str:
        return f"<Lesson {self.name}: {', '.join(self.exercises)}>"
