"""The shared core: placeholders, calling learner code, results, the registry, solutions."""

from __future__ import annotations

import functools
import sys
import warnings

import pytest

import labkit.exercises
import labkit.protocol
from labkit.exercises import lesson1, lesson2, lesson3, lesson4, lesson5
from labkit.exercises.core import (
    REGISTRY,
    Lesson,
    NotAttempted,
    Result,
    WrongAnswer,
    call,
    calls_to,
    placeholder,
    show,
    solution_source,
)
from labkit.exercises.display import first_difference
from labkit.exercises.solutions import lesson1 as solutions1

from .helpers import accepted, chinese_verdict, has_chinese, not_attempted, rejected

# --- placeholder ----------------------------------------------------------------------


def body_ellipsis(key): ...


def body_pass(key):
    pass


def body_docstring_only(key):
    """Return the answer."""


def body_raise_class(key):
    raise NotImplementedError


def body_raise_call(key):
    """Your code here."""
    raise NotImplementedError("write me")


async def body_async_ellipsis(ctx, next): ...


def decorated(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)

    return wrapper


@decorated
def body_decorated(key): ...


@pytest.mark.parametrize(
    "obj",
    [
        None,
        ...,
        body_ellipsis,
        body_pass,
        body_docstring_only,
        body_raise_class,
        body_raise_call,
        body_async_ellipsis,
        body_decorated,
    ],
)
def test_placeholder_recognises_untouched_code(obj: object) -> None:
    """None, ..., and bodies of only ... / pass / docstring / NotImplementedError are untouched."""
    assert placeholder(obj) is not None


def test_placeholder_recognises_a_nested_function() -> None:
    """An indented function (defined inside another) is read and recognised too."""

    def inner(key):
        pass

    assert placeholder(inner) is not None


def written(key):
    """A real attempt, even one line long."""
    return key


class Callable:
    def __call__(self, key):
        return key


def test_placeholder_leaves_attempts_alone() -> None:
    """Code, lambdas, builtins, callable objects and exec-made functions count as attempted."""
    namespace: dict[str, object] = {}
    exec("def from_exec(key):\n    ...\n", namespace)  # no source to read: calling will tell
    for obj in (written, lambda key: ..., len, Callable(), namespace["from_exec"], "text"):
        assert placeholder(obj) is None, obj


# --- call -------------------------------------------------------------------------------


def test_call_turns_an_exception_into_a_wrong_answer() -> None:
    """An exception in learner code becomes a WrongAnswer naming the call and the error."""
    with pytest.raises(WrongAnswer, match=r"f\('x', 1\) raised ZeroDivisionError"):
        call(lambda a, b: 1 / 0, "x", 1, name="f")


def test_call_treats_not_implemented_and_none_as_not_attempted() -> None:
    """NotImplementedError and a None result mean "not attempted", unless None is expected."""

    def unfinished():
        raise NotImplementedError

    with pytest.raises(NotAttempted):
        call(unfinished, name="f")
    with pytest.raises(NotAttempted, match="returned None"):
        call(lambda: None, name="f")
    assert call(lambda: None, name="f", expect_value=False) is None


def test_call_rejects_a_coroutine_without_a_warning() -> None:
    """An async def where a def is expected is rejected, and no 'never awaited' warning leaks."""

    async def coroutine_function():
        return 1

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(WrongAnswer, match="async def"):
            call(coroutine_function, name="f")


def test_show_keeps_messages_short() -> None:
    """Long values are cut, long bytes show their size, and a broken repr does not raise."""

    class BadRepr:
        def __repr__(self) -> str:
            raise RuntimeError

    assert show("x" * 500).endswith("…")
    assert len(show("x" * 500)) == 60
    assert "(1000 bytes)" in show(b"\x00" * 1000)
    assert "repr() raised RuntimeError" in show(BadRepr())


# --- lessons, exercises, results ----------------------------------------------------------


def test_registry_lists_every_lesson_and_exercise() -> None:
    """The three lessons register the exercises the notebooks use, with usage lines."""
    listed = {name: list(lesson.exercises) for name, lesson in REGISTRY.items()}
    assert (
        listed.items()
        >= {
            "lesson1": ["accept_key", "decode_frame", "mask_frame"],
            "lesson2": ["echo", "count_messages", "require_token"],
            "lesson3": ["recipients", "join_leave", "chat_room"],
        }.items()
    )
    assert REGISTRY["lesson3"].exercises["join_leave"].usage == (
        "ex.check.join_leave(on_join, on_leave)"
    )
    assert labkit.exercises.Result is Result


@pytest.fixture
def scratch() -> Lesson:
    lesson = Lesson("scratch")
    yield lesson
    del REGISTRY["scratch"]


def test_a_crashing_checker_gives_a_result_not_a_traceback(scratch: Lesson) -> None:
    """A checker that breaks on an odd answer reports it as ✗ instead of raising."""

    @scratch.exercise(hint="h", solution=(written,))
    def fragile(fn) -> str:
        return {}["missing"]

    result = scratch.check.fragile(written)
    rejected(result, "could not finish", "KeyError")


def test_a_check_explains_wrong_arguments(scratch: Lesson) -> None:
    """Too few arguments or a value instead of a function get a usage line, not a TypeError."""

    @scratch.exercise(hint="h", solution=(written,))
    def pair(first, second) -> str:
        return "fine"

    not_attempted(scratch.check.pair(written))
    assert "ex.check.pair(first, second)" in scratch.check.pair().message
    rejected(scratch.check.pair(written, 42), "second should be your function", "int 42")
    accepted(scratch.check.pair(written, written))


def test_result_truth_is_its_verdict() -> None:
    """bool(result) is result.ok, so `assert ex.check.x(f)` cannot pass by accident."""
    assert Result("x", ok=True)
    assert not Result("x", ok=False)
    assert not Result("x", ok=False, attempted=False)


def test_namespaces_list_exercises_and_refuse_unknown_ones() -> None:
    """check/hint/solution complete to the exercise names and explain a typo."""
    assert dir(lesson1.check) == ["accept_key", "decode_frame", "mask_frame"]
    with pytest.raises(AttributeError, match="its exercises are: accept_key"):
        lesson1.check.accept_keys  # noqa: B018
    with pytest.raises(AttributeError):
        lesson1.check._repr_html_  # noqa: B018
    assert "accept_key" in repr(lesson1.hint)


def test_check_prints_its_verdict_once_outside_jupyter(capsys: pytest.CaptureFixture[str]) -> None:
    """In a plain interpreter a check prints the ✓ line once and returns the Result."""
    result = lesson1.check.accept_key(solutions1.accept_key)
    out = capsys.readouterr().out
    assert result.ok
    assert out.count("✓ accept_key: correct!") == 1


def test_hint_and_solution_print(capsys: pytest.CaptureFixture[str]) -> None:
    """hint.x() shows the hint and solution.x() the reference source with its imports."""
    lesson1.hint.accept_key()
    lesson1.solution.accept_key()
    out = capsys.readouterr().out
    assert "ℹ Hint: accept_key" in out
    assert "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" in out
    assert "import hashlib" in out
    assert "def my_accept_key(key: str) -> str:" in out  # named as in the notebook


def run_as_a_cell(source: str) -> dict[str, object]:
    """Run ``source`` as a notebook cell would: annotations evaluated, no future import."""
    namespace: dict[str, object] = {}
    exec(compile(source, "<cell>", "exec", dont_inherit=True), namespace)
    return namespace


@pytest.mark.parametrize(
    "exercise",
    [
        e
        for module in (lesson1, lesson2, lesson3, lesson4, lesson5)
        for e in module.lesson.exercises.values()
    ],
    ids=lambda e: e.name,
)
def test_every_solution_shown_runs_as_is_and_passes(exercise) -> None:
    """The source solution.x() shows, pasted alone into a cell, passes check.x (live ones too)."""
    namespace = run_as_a_cell(solution_source(exercise))
    functions = [namespace[name] for name in exercise.params]
    accepted(exercise.run(*functions))


def test_a_solution_takes_the_notebooks_names() -> None:
    """The reference accept_key is shown as my_accept_key, the name the notebook's cell uses."""
    exercise = lesson1.lesson.exercises["accept_key"]
    assert exercise.usage == "ex.check.accept_key(my_accept_key)"
    source = solution_source(exercise)
    assert "def my_accept_key(key: str) -> str:" in source
    assert "def accept_key(" not in source


def annotated(result: Result, lesson: Lesson | None = None) -> Result:
    """A solution whose annotations name a class imported from elsewhere."""
    return result


def test_a_solution_imports_what_its_annotations_name(scratch: Lesson) -> None:
    """Names used only in annotations are imported too, so a cell can evaluate them."""

    @scratch.exercise(hint="h", solution=(annotated,))
    def annotation(annotated) -> str:
        return "fine"

    source = solution_source(scratch.exercises["annotation"])
    assert "from labkit.exercises.core import Result" in source
    assert "from labkit.exercises.core import Lesson" in source
    assert run_as_a_cell(source)["annotated"].__annotations__["result"] is Result


def test_a_solution_imports_what_its_comprehensions_use(scratch: Lesson) -> None:
    """A module constant used only inside a generator expression is part of the preamble."""

    @scratch.exercise(hint="h", solution=(uses_a_constant_in_a_generator,))
    def constant(uses_a_constant_in_a_generator) -> str:
        return "fine"

    source = solution_source(scratch.exercises["constant"])
    assert "OFFSET = 3" in source
    assert run_as_a_cell(source)["uses_a_constant_in_a_generator"]([1, 2]) == [4, 5]


OFFSET = 3


def uses_a_constant_in_a_generator(values: list[int]) -> list[int]:
    return list(value + OFFSET for value in values)


def test_calls_to_sees_a_call_however_it_is_reached() -> None:
    """calls_to names a watched function called through an alias or a helper, and only then."""
    from labkit.protocol import accept_key as aliased

    def helper(key: str) -> str:
        return labkit.protocol.accept_key(key)

    watched = {"labkit.protocol.handshake": "the kit's accept_key"}
    with calls_to("accept_key", watched) as seen:
        aliased("dGhlIHNhbXBsZSBub25jZQ==")
        helper("dGhlIHNhbXBsZSBub25jZQ==")
    assert seen == ["the kit's accept_key", "the kit's accept_key"]
    with calls_to("accept_key", watched) as seen:
        solutions1.accept_key("dGhlIHNhbXBsZSBub25jZQ==")
    assert seen == []


def test_calls_to_keeps_an_earlier_profiler_running() -> None:
    """A profile function set before the check still sees calls, and is back afterwards."""
    calls: list[str] = []

    def earlier(frame, event, arg) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    sys.setprofile(earlier)
    try:
        with calls_to("accept_key", {}):
            written("x")
        assert sys.getprofile() is earlier
    finally:
        sys.setprofile(None)
    assert "written" in calls


def test_first_difference_names_the_first_byte_that_differs() -> None:
    """The first differing byte (with its neighbours past 16), or which side is short."""
    assert first_difference(b"\x81\xfe\xa1", b"\x81\xfe\x00") == "byte 2 is 0xa1, expected 0x00"
    far = first_difference(bytes(20) + b"\x01", bytes(21))
    assert far.startswith("byte 20 is 0x01, expected 0x00 (bytes 20-27: 01, expected 00)")
    assert "then it stops: 3 expected" in first_difference(b"ab", b"abc")
    assert "then 1 more" in first_difference(b"abcd", b"abc")


# --- in Chinese ----------------------------------------------------------------------------

EVERY_EXERCISE = [
    e
    for module in (lesson1, lesson2, lesson3, lesson4, lesson5)
    for e in module.lesson.exercises.values()
]


@pytest.mark.parametrize("exercise", EVERY_EXERCISE, ids=lambda e: e.name)
def test_every_hint_speaks_chinese_and_keeps_its_code(exercise, chinese: None) -> None:
    """Each hint has a Chinese translation, and every code line of the English is in it."""
    zh = exercise.hint
    labkit.set_language("en")
    en = exercise.hint
    labkit.set_language("zh-CN")
    assert zh != en
    assert has_chinese(zh)
    for line in en.splitlines():
        if line.startswith("    "):  # a code block to copy
            assert line in zh.splitlines(), f"code line {line!r} lost in:\n{zh}"


@pytest.mark.usefixtures("chinese")
def test_the_solution_shown_in_chinese_is_the_same_code(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the title is translated: the code shown is the English one, byte for byte."""
    exercise = lesson1.lesson.exercises["accept_key"]
    lesson1.solution.accept_key()
    out = capsys.readouterr().out
    title, _, code = out.partition("\n")
    assert title == "✎ 参考答案：accept_key"
    assert "def my_accept_key(key: str) -> str:" in code
    indented = "\n".join(
        f"    {line}" if line else "" for line in solution_source(exercise).splitlines()
    )
    assert code.rstrip("\n") == indented


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize("exercise", EVERY_EXERCISE, ids=lambda e: e.name)
def test_every_solution_shown_passes_with_a_chinese_tick(exercise) -> None:
    """Pasted in a Chinese session, each solution passes, and the ✓ and praise are Chinese."""
    namespace = run_as_a_cell(solution_source(exercise))
    result = exercise.run(*[namespace[name] for name in exercise.params])
    accepted(result)
    chinese_verdict(result, f"{exercise.name}：正确！")


@pytest.mark.usefixtures("chinese")
def test_core_feedback_speaks_chinese(scratch: Lesson) -> None:
    """Wrong arguments, a crashing checker and a typo in a name are told in Chinese."""

    @scratch.exercise(hint="h", solution=(written,))
    def pair(first, second) -> str:
        return {}["missing"]

    todo = scratch.check.pair()
    not_attempted(todo)
    chinese_verdict(todo, "pair：尚未作答", "这个检查需要 2 个参数：ex.check.pair(first, second)")
    value = scratch.check.pair(written, 42)
    rejected(value)
    chinese_verdict(value, "pair：还不对", "second 应该是你的函数本身，但它是 int 42", "不要加括号")
    both = scratch.check.pair(None, ...)
    chinese_verdict(both, "pair：尚未作答", "first 仍然是 None；second 仍然是 Ellipsis")
    crash = scratch.check.pair(written, written)
    assert "检查未能完成：KeyError: 'missing'" in crash.message
    with pytest.raises(
        AttributeError, match="lesson1 中没有练习 'accept_keys'；它的练习有：accept_key"
    ):
        lesson1.check.accept_keys  # noqa: B018


@pytest.mark.usefixtures("chinese")
def test_call_speaks_chinese() -> None:
    """What call() says about learner code: an exception, a coroutine, a missing return."""
    with pytest.raises(WrongAnswer, match=r"f\('x', 1\) 抛出了 ZeroDivisionError"):
        call(lambda a, b: 1 / 0, "x", 1, name="f")
    with pytest.raises(NotAttempted, match="返回了 None（请写好函数体，并以 `return` 结尾）"):
        call(lambda: None, name="f")
    assert "（共 1000 字节）" in show(b"\x00" * 1000)


@pytest.mark.usefixtures("chinese")
def test_first_difference_speaks_chinese() -> None:
    """The first differing byte, its neighbours past 16, and a short or long side, in Chinese."""
    assert first_difference(b"\x81\xfe\xa1", b"\x81\xfe\x00") == "字节 2 是 0xa1，期望 0x00"
    far = first_difference(bytes(20) + b"\x01", bytes(21))
    assert far == "字节 20 是 0x01，期望 0x00（字节 20-27：01，期望 00）"
    assert first_difference(b"ab", b"abc") == "前 2 个字节是对的，然后就结束了：期望共 3 个字节"
    assert first_difference(b"abcd", b"abc") == "期望的 3 个字节都在，但后面还多了 1 个"
