"""Keep the kit's recent log lines in memory, so a notebook can show them.

A server in the background logs from the kit's thread. Printing those lines
would scatter them over whichever cell happens to be running, so they go to a
ring buffer instead; :func:`recent` (or ``handle.logs()``) reads them back.
Warnings and errors (a middleware that raised, say) are also printed to
stderr, so nothing fails silently. A program that configures logging itself
(the ``python -m labkit`` command does) sees every line as usual.
"""

from __future__ import annotations

import logging
import time
from collections import deque

__all__ = ["LogBook", "install", "recent", "write_fast"]

#: How many lines the ring buffer keeps.
KEEP = 2000


class LogBook(logging.Handler):
    """A logging handler that keeps the last ``KEEP`` lines, formatted when read.

    Two costs are kept off the hot path of a server that logs every message
    (the tutorial's echo does). Formatting a line (its timestamp above all)
    waits until someone reads the book. And the book keeps plain tuples, not
    the records: thousands of live records would be tracked by the garbage
    collector, and each of its passes would walk them all.
    """

    def __init__(self, keep: int = KEEP) -> None:
        super().__init__(level=logging.INFO)
        #: (time, logger name, level number, message, traceback text or None)
        self.lines: deque[tuple[float, str, int, str, str | None]] = deque(maxlen=keep)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def handle(self, record: logging.LogRecord) -> bool:
        # deque.append is atomic, so no lock is needed (and none is taken).
        trace = None
        try:
            if record.exc_info:  # rare: keep the traceback's text, not its frames
                trace = self.formatter.formatException(record.exc_info)  # type: ignore[union-attr]
            message = record.getMessage()
        except Exception:  # a bad format ("%d" given a str): reported, never raised
            self.handleError(record)
            return True
        self.lines.append((record.created, record.name, record.levelno, message, trace))
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    def recent(self, prefix: str = "labkit", last: int = 50) -> list[str]:
        """The last ``last`` lines from loggers named ``prefix`` or below it."""
        chosen = [line for line in list(self.lines) if _under(line[1], prefix)]
        if last:
            chosen = chosen[-last:]
        return [self._format(*line) for line in chosen]

    def _format(
        self, created: float, name: str, levelno: int, message: str, trace: str | None
    ) -> str:
        record = logging.makeLogRecord(
            {
                "name": name,
                "levelno": levelno,
                "levelname": logging.getLevelName(levelno),
                "msg": message,
                "exc_text": trace,
            }
        )
        record.created, record.msecs = created, (created - int(created)) * 1000
        return self.format(record)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


_book: LogBook | None = None


def install() -> LogBook:
    """Attach the ring buffer (and a stderr handler for problems) once."""
    global _book
    if _book is None:
        root = logging.getLogger("labkit")
        root.setLevel(logging.INFO)
        _book = LogBook()
        root.addHandler(_book)
        problems = logging.StreamHandler()
        problems.setLevel(logging.WARNING)
        problems.setFormatter(logging.Formatter("labkit %(levelname)s %(name)s: %(message)s"))
        problems.addFilter(lambda record: not logging.getLogger().handlers)
        root.addHandler(problems)
    return _book


def write_fast(logger: logging.Logger, level: int, msg: str, args: tuple[object, ...]) -> bool:
    """Put one line straight into the book, when nothing else would see it.

    A ``logging`` record costs a dozen attributes and a dict; a server that
    logs every message (the tutorial's echo) paid for it on each one. When
    the book is the only handler on ``logger``'s way to the root that takes
    ``level`` (the kit's default set-up, see :func:`install`) and no filter
    is in the way, the line goes in as the book keeps it. Otherwise, say
    once a program has called ``logging.basicConfig()``, this returns False
    and the caller logs as usual. The caller has checked that the level is
    enabled.
    """
    book = _book
    if book is None or level < book.level or book.filters:
        return False
    found = False
    node: logging.Logger | None = logger
    while node is not None:
        if node.filters:
            return False
        for handler in node.handlers:
            if handler is book:
                found = True
            elif level >= handler.level:
                return False
        if not node.propagate:
            break
        node = node.parent
    if not found:
        return False
    try:
        message = msg % args if args else msg
    except (TypeError, ValueError, KeyError):
        return False  # the ordinary path reports it (LogBook.handle, handleError)
    book.lines.append((time.time(), logger.name, level, message, None))
    return True


def recent(prefix: str = "labkit", last: int = 50) -> list[str]:
    """The last log lines of the kit (or of one server: ``prefix="labkit.app.echo"``)."""
    return install().recent(prefix, last)
