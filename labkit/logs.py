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
from collections import deque

__all__ = ["LogBook", "install", "recent"]

#: How many lines the ring buffer keeps.
KEEP = 2000


class LogBook(logging.Handler):
    """A logging handler that keeps the last ``KEEP`` records, formatted when read.

    Keeping the record and formatting it only when someone reads the book
    matters: a server that logs every message (the tutorial's echo does)
    would otherwise spend a fifth of its time formatting lines nobody reads.
    """

    def __init__(self, keep: int = KEEP) -> None:
        super().__init__(level=logging.INFO)
        self.records: deque[logging.LogRecord] = deque(maxlen=keep)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def handle(self, record: logging.LogRecord) -> bool:
        # deque.append is atomic, so no lock is needed (and none is taken).
        self.records.append(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def recent(self, prefix: str = "labkit", last: int = 50) -> list[str]:
        """The last ``last`` lines from loggers named ``prefix`` or below it."""
        chosen = [r for r in list(self.records) if _under(r.name, prefix)]
        if last:
            chosen = chosen[-last:]
        return [self.format(record) for record in chosen]


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


def recent(prefix: str = "labkit", last: int = 50) -> list[str]:
    """The last log lines of the kit (or of one server: ``prefix="labkit.app.echo"``)."""
    return install().recent(prefix, last)
