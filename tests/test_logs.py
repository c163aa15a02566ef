"""The kit's log book: a ring buffer of recent lines, read back formatted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from labkit import logs
from labkit.logs import LogBook

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) ([\w.]+): (.*)$", re.S)


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without pytest's capture handlers: the kit's default set-up.

    pytest attaches its handlers at the start of each test phase, so a fixture
    could not remove them for the test's body; this is used inside the test.
    """
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        yield root
    finally:
        root.handlers[:] = saved


def fields(line: str) -> tuple[str, str, str]:
    match = LINE.match(line)
    assert match, line
    return match.group(1), match.group(2), match.group(3)


def test_book_keeps_the_last_lines_and_formats_them_when_read() -> None:
    book = LogBook(keep=3)
    log = logging.getLogger("labkit.test.book")
    for i in range(5):
        book.handle(log.makeRecord(log.name, logging.INFO, "", 0, "line %d", (i,), None))
    lines = book.recent("labkit.test")
    assert [fields(line) for line in lines] == [
        ("INFO", "labkit.test.book", f"line {i}") for i in (2, 3, 4)
    ]
    assert book.recent("labkit.test", last=1) == lines[-1:]


def test_book_filters_by_logger_prefix_not_by_string_prefix() -> None:
    book = LogBook()
    for name in ("labkit.app.echo", "labkit.app.echo2", "labkit.app.echo.sub", "other"):
        book.handle(logging.makeLogRecord({"name": name, "msg": name, "levelno": logging.INFO}))
    assert [fields(line)[1] for line in book.recent("labkit.app.echo")] == [
        "labkit.app.echo",
        "labkit.app.echo.sub",
    ]


def test_book_keeps_the_text_of_a_traceback_not_its_frames() -> None:
    book = LogBook()
    log = logging.getLogger("labkit.test.trace")
    try:
        raise ValueError("boom")
    except ValueError as exc:
        info = (ValueError, exc, exc.__traceback__)
        record = log.makeRecord(log.name, logging.ERROR, "", 0, "failed", (), info)
    book.handle(record)
    stored = book.lines[-1]
    assert all(isinstance(part, str | int | float | type(None)) for part in stored)
    (line,) = book.recent("labkit.test.trace")
    assert line.endswith("ValueError: boom")


def test_install_is_idempotent_and_problems_go_to_stderr_only_without_root_handlers() -> None:
    book = logs.install()
    assert logs.install() is book
    kit = logging.getLogger("labkit")
    assert kit.handlers.count(book) == 1
    (problems,) = [h for h in kit.handlers if h is not book]
    assert problems.level == logging.WARNING
    record = logging.makeLogRecord({"name": "labkit.x", "levelno": logging.WARNING})
    with bare_root() as root:
        assert problems.filter(record)  # nobody else would show it: print it
        root.addHandler(logging.NullHandler())
        assert not problems.filter(record)  # the program logs for itself


def test_write_fast_stores_the_same_line_as_the_logging_path() -> None:
    book = logs.install()
    log = logging.getLogger("labkit.test.fast")
    with bare_root():
        assert logs.write_fast(log, logging.INFO, "[#3] received message: %s", ("'hi'",))
        log.info("[#3] received message: %s", "'hi'")  # the ordinary path, through the book
    fast, slow = book.recent("labkit.test.fast", last=2)
    expected = ("INFO", "labkit.test.fast", "[#3] received message: 'hi'")
    assert fields(fast) == fields(slow) == expected


class Keep(logging.Handler):
    """A handler that keeps what it is given."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.seen: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record)


def test_write_fast_steps_aside_when_another_handler_would_see_the_line() -> None:
    logs.install()
    log = logging.getLogger("labkit.test.aside")
    with bare_root() as root:
        assert logs.write_fast(log, logging.INFO, "hello", ())
        root.addHandler(Keep())  # as logging.basicConfig() would
        assert not logs.write_fast(log, logging.INFO, "hello", ())


def test_write_fast_ignores_handlers_above_the_level_but_not_filters() -> None:
    logs.install()
    log = logging.getLogger("labkit.test.level")
    quiet = Keep(logging.ERROR)
    log.addHandler(quiet)
    try:
        with bare_root():
            assert logs.write_fast(log, logging.INFO, "hello", ())
            assert not logs.write_fast(log, logging.ERROR, "bad", ())
            log.addFilter(lambda record: False)
            assert not logs.write_fast(log, logging.INFO, "hello", ())
    finally:
        log.removeHandler(quiet)
        log.filters.clear()
    assert quiet.seen == []


def test_write_fast_leaves_a_bad_format_to_logging() -> None:
    logs.install()
    log = logging.getLogger("labkit.test.format")
    with bare_root():
        assert not logs.write_fast(log, logging.INFO, "%d items", ("many",))
        assert not logs.write_fast(log, logging.INFO, "%s and %s", ("one",))


def test_a_bad_format_is_reported_on_stderr_never_raised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ctx.log.info("%d items", "many") must not end a middleware; logging reports it."""
    from labkit.app import _ConnectionLog

    book = logs.install()
    log = _ConnectionLog(logging.getLogger("labkit.test.badformat"), 4)
    with bare_root():
        log.info("%d items", "many")
    assert "Logging error" in capsys.readouterr().err
    assert not book.recent("labkit.test.badformat")


def test_stacklevel_counts_from_the_connection_logs_caller() -> None:
    """With keyword arguments a record is made; its file and line are the caller's."""
    from labkit.app import _ConnectionLog

    keep = Keep()
    logger = logging.getLogger("labkit.test.caller")
    logger.addHandler(keep)
    try:
        log = _ConnectionLog(logger, 9)
        here = sys._getframe().f_lineno + 1
        log.info("info", extra={"k": 1})
        there = sys._getframe().f_lineno + 1
        log.warning("warning", stacklevel=1)
    finally:
        logger.removeHandler(keep)
    info, warning = keep.seen
    assert (info.filename, info.lineno, info.getMessage()) == ("test_logs.py", here, "[#9] info")
    assert (warning.filename, warning.lineno) == ("test_logs.py", there)
    assert info.k == 1  # type: ignore[attr-defined]
