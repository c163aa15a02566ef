"""The kit's log book: a ring buffer of recent lines, read back formatted."""

from __future__ import annotations

import enum
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from labkit import logs
from labkit.logs import ConnectionLog, LogBook

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
    book = logs.install()
    log = ConnectionLog(logging.getLogger("labkit.test.badformat"), 4)
    with bare_root():
        log.info("%d items", "many")
    assert "Logging error" in capsys.readouterr().err
    assert not book.recent("labkit.test.badformat")


def test_stacklevel_counts_from_the_connection_logs_caller() -> None:
    """With keyword arguments a record is made; its file and line are the caller's."""
    keep = Keep()
    logger = logging.getLogger("labkit.test.caller")
    logger.addHandler(keep)
    try:
        log = ConnectionLog(logger, 9)
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


class StepClock:
    """A clock the test moves by hand: the limit's seconds without waiting them out."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def texts(name: str) -> list[str]:
    return [fields(line)[2] for line in logs.install().recent(name, last=0)]


def test_a_connection_writes_at_most_its_limit_of_lines_a_second() -> None:
    """A flood is held back; the count comes with the next second's first line."""
    clock = StepClock()
    log = ConnectionLog(logging.getLogger("labkit.test.limit"), 5, limit=3, clock=clock)
    with bare_root():
        for i in range(10):
            log.info("line %d", i)
        assert texts("labkit.test.limit") == ["[#5] line 0", "[#5] line 1", "[#5] line 2"]
        clock.now += 0.999
        log.info("still held back")
        clock.now += 0.001
        log.info("line %d", 10)
    assert texts("labkit.test.limit")[3:] == [
        "[#5] 8 more lines not logged: over 3 a second (App's log_limit)",
        "[#5] line 10",
    ]


def test_lines_left_over_from_a_past_second_are_not_spent_in_a_later_one() -> None:
    """One line, a pause, then a burst: the burst gets one second's lines, not more."""
    clock = StepClock()
    log = ConnectionLog(logging.getLogger("labkit.test.stale"), 3, limit=3, clock=clock)
    with bare_root():
        log.info("early")
        clock.now += 1.5
        for i in range(5):  # through info() and log() alike
            if i % 2:
                log.log(logging.INFO, "burst %d", i)
            else:
                log.info("burst %d", i)
        assert log.flush() == 2
    assert texts("labkit.test.stale") == [
        "[#3] early",
        "[#3] burst 0",
        "[#3] burst 1",
        "[#3] burst 2",
        "[#3] 2 more lines not logged: over 3 a second (App's log_limit)",
    ]


def test_flush_writes_the_count_once_and_warnings_are_never_held_back() -> None:
    clock = StepClock()
    log = ConnectionLog(logging.getLogger("labkit.test.flush"), 6, limit=1, clock=clock)
    with bare_root():
        log.info("first")
        log.info("held")
        log.log(logging.INFO, "held too")
        log.warning("a warning")
        log.error("an error")
        assert log.flush() == 2
        assert log.flush() == 0
    assert texts("labkit.test.flush") == [
        "[#6] first",
        "[#6] a warning",
        "[#6] an error",
        "[#6] 2 more lines not logged: over 1 a second (App's log_limit)",
    ]


def test_lines_below_the_loggers_level_do_not_use_up_the_limit() -> None:
    """DEBUG lines that would not be logged anyway are neither written nor counted."""
    log = ConnectionLog(logging.getLogger("labkit.test.debug"), 7, limit=1, clock=StepClock())
    with bare_root():
        for _ in range(5):
            log.debug("not logged at INFO")
        log.info("shown")
        assert log.flush() == 0
    assert texts("labkit.test.debug") == ["[#7] shown"]


def test_nothing_is_written_while_info_is_off_not_even_the_count() -> None:
    """With the logger at WARNING, neither the INFO lines nor their count appear."""
    logger = logging.getLogger("labkit.test.infooff")
    logger.setLevel(logging.WARNING)
    try:
        log = ConnectionLog(logger, 9, limit=1, clock=StepClock())
        with bare_root():
            for _ in range(5):
                log.info("not logged at WARNING")
            log.flush()
            log.warning("shown")
    finally:
        logger.setLevel(logging.NOTSET)
    assert texts("labkit.test.infooff") == ["[#9] shown"]


def test_long_str_and_bytes_arguments_are_cut_in_every_handler() -> None:
    logger = logging.getLogger("labkit.test.cut")
    keep = Keep()
    logger.addHandler(keep)
    try:
        log = ConnectionLog(logger, 2)
        log.info("%s|%r|%r|%d", "s" * 100, "r" * 100, bytearray(b"b" * 100), 10**100)
    finally:
        logger.removeHandler(keep)
    cut = logs.ARG_CHARS
    expected = f"[#2] {'s' * cut}…|'{'r' * cut}…'|b'{'b' * cut}'…|{10**100}"
    assert keep.seen[0].getMessage() == expected
    assert texts("labkit.test.cut") == [expected]
    assert logs.cut_args(("short", b"short", 5)) == ("short", b"short", 5)


def test_no_limit_writes_every_line() -> None:
    log = ConnectionLog(logging.getLogger("labkit.test.nolimit"), 8, limit=None)
    with bare_root():
        for i in range(50):
            log.info("line %d", i)
        assert log.flush() == 0
    assert len(texts("labkit.test.nolimit")) == 50


@pytest.mark.parametrize("limit", [0, -1, 1.5, "20", True])
def test_a_limit_that_is_not_a_count_of_lines_is_refused(limit: object) -> None:
    with pytest.raises(ValueError, match="log_limit"):
        ConnectionLog(logging.getLogger("labkit.test.bad"), 1, limit=limit)  # type: ignore[arg-type]


def test_a_limit_may_be_any_whole_number() -> None:
    class Lines(enum.IntEnum):
        FEW = 3

    assert logs.check_limit(Lines.FEW) == 3 and type(logs.check_limit(Lines.FEW)) is int
    assert logs.check_limit(None) is None


def test_a_long_traceback_keeps_its_start_and_end() -> None:
    log = logging.getLogger("labkit.test.trace")
    logs.install()
    try:
        raise ValueError("x" * 100_000)
    except ValueError:
        with bare_root():
            log.exception("failed")
    (line,) = logs.install().recent("labkit.test.trace", last=0)
    assert "Traceback (most recent call last)" in line  # its start
    assert "characters) …" in line
    assert line.endswith("x" * 100)  # its end: the exception's own text
    assert len(line) < logs.TRACE_CHARS + 200


def test_a_long_line_is_kept_shortened_on_both_paths() -> None:
    """A 1 MiB message logged with %s keeps LINE_CHARS characters, not 1 MiB, per line."""
    big = "x" * (1 << 20)
    log = logging.getLogger("labkit.test.long")
    logs.install()
    with bare_root():
        assert logs.write_fast(log, logging.INFO, "got %s", (big,))
    keep = Keep()
    log.addHandler(keep)  # another handler: the ordinary path, through the book
    try:
        log.info("got %s", big)
    finally:
        log.removeHandler(keep)
    lines = texts("labkit.test.long")
    assert len(lines) == 2
    for line in lines:
        assert line == f"got {'x' * (logs.LINE_CHARS - 4)}… ({(1 << 20) + 4} characters)"
    assert keep.seen[0].getMessage() == f"got {big}"  # other handlers get it whole


def test_the_held_back_count_and_the_limit_error_speak_chinese(chinese) -> None:
    """A flood's count line and a bad log_limit, in Chinese."""
    book = LogBook()
    logger = logging.getLogger("labkit.test.zh")
    logger.addHandler(book)
    try:
        now = [0.0]
        log = ConnectionLog(logger, 4, limit=1, clock=lambda: now[0])
        log.info("one")
        log.info("two")
        log.info("three")
        assert log.flush() == 2
    finally:
        logger.removeHandler(book)
    assert [line[3] for line in book.lines][-1] == (
        "[#4] 另有 2 行未记录：超过了每秒 1 行（App 的 log_limit）"
    )
    with pytest.raises(ValueError, match="log_limit 必须是每秒的行数"):
        logs.check_limit(0)
    assert logs.shorten("x" * (logs.LINE_CHARS + 1)).endswith(
        f"…（共 {logs.LINE_CHARS + 1} 个字符）"
    )
