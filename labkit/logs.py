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
import threading
from collections import deque

__all__ = ["LogBook", "install", "recent"]

#: How many lines the ring buffer keeps.
KEEP = 2000


class LogBook(logging.Handler):
    """A logging handler that keeps the last ``KEEP`` formatted lines."""

    def __init__(self, keep: int = KEEP) -> None:
        super().__init__(level=logging.INFO)
        self.lines: deque[tuple[str, str]] = deque(maxlen=keep)
        self._guard = threading.Lock()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._guard:
            self.lines.append((record.name, line))

    def recent(self, prefix: str = "labkit", last: int = 50) -> list[str]:
        """The last ``last`` lines from loggers named ``prefix`` or below it."""
        with self._guard:
            lines = [line for name, line in self.lines if _under(name, prefix)]
        return lines[-last:] if last else lines


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
