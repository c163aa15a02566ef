"""Keep the kit's recent log lines in memory, so a notebook can show them.

A server in the background logs from the kit's thread. Printing those lines
would scatter them over whichever cell happens to be running, so they go to a
ring buffer instead; :func:`recent` (or ``handle.logs()``) reads them back.
Warnings and errors (a middleware that raised, say) are also printed to
stderr, so nothing fails silently. A program that configures logging itself
(the ``python -m labkit`` command does) sees every line as usual.

Each connection's ``ctx.log`` is a :class:`ConnectionLog`: its lines carry the
connection's id, and a connection that floods the server is logged up to a
limit and counted past it.
"""

from __future__ import annotations

import logging
import math
import operator
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .i18n import _
from .internals import only_handler

__all__ = [
    "ARG_CHARS",
    "LINE_CHARS",
    "LINE_LIMIT",
    "TRACE_CHARS",
    "ConnectionLog",
    "LogBook",
    "check_limit",
    "cut_args",
    "install",
    "recent",
    "shorten",
    "write_fast",
]

#: How many lines the ring buffer keeps.
KEEP = 2000
#: The longest message text the ring buffer keeps per line, in characters.
#: ``ctx.log.info("got %s", message)`` with 1 MiB messages would otherwise
#: keep up to ``KEEP`` MiB alive.
LINE_CHARS = 2000
#: The longest traceback text the ring buffer keeps per line (its start and end).
TRACE_CHARS = 20_000
#: How much of a long str or bytes argument a connection's log line shows.
ARG_CHARS = 80
#: Default INFO (and DEBUG) lines one connection may log per second.
LINE_LIMIT = 20


class LogBook(logging.Handler):
    """A logging handler that keeps the last ``KEEP`` lines, formatted when read.

    Two costs are kept off the hot path of a server that logs every message
    (the tutorial's echo does). Formatting a line (its timestamp above all)
    waits until someone reads the book. And the book keeps plain tuples, not
    the records: thousands of live records would be tracked by the garbage
    collector, and each of its passes would walk them all.

    A message longer than ``LINE_CHARS`` characters is kept shortened (see
    :func:`shorten`), a traceback longer than ``TRACE_CHARS`` its start and
    end, so the book's memory stays bounded.
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
                if len(trace) > TRACE_CHARS:
                    half = TRACE_CHARS // 2
                    cut = _("… ({length} characters) …").format(length=len(trace))
                    trace = f"{trace[:half]}\n{cut}\n{trace[-half:]}"
            message = record.getMessage()
        except Exception:  # a bad format ("%d" given a str): reported, never raised
            self.handleError(record)
            return True
        if len(message) > LINE_CHARS:
            message = shorten(message)
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
    if book is None or not only_handler(logger, level, book):
        return False
    try:
        message = msg % args if args else msg
    except (TypeError, ValueError, KeyError):
        return False  # the ordinary path reports it (LogBook.handle, handleError)
    if len(message) > LINE_CHARS:
        message = shorten(message)
    book.lines.append((time.time(), logger.name, level, message, None))
    return True


def shorten(message: str) -> str:
    """The first ``LINE_CHARS`` characters of a long line, and how long it was."""
    return _("{start}… ({length} characters)").format(
        start=message[:LINE_CHARS], length=len(message)
    )


def recent(prefix: str = "labkit", last: int = 50) -> list[str]:
    """The last log lines of the kit (or of one server: ``prefix="labkit.app.echo"``)."""
    return install().recent(prefix, last)


class _CutBytes:
    """The start of a long bytes argument: shows as ``b'...'…`` with %s and %r alike."""

    __slots__ = ("head",)

    def __init__(self, head: bytes) -> None:
        self.head = head

    def __repr__(self) -> str:
        return f"{self.head!r}…"

    __str__ = __repr__


_CUT = (str, bytes, bytearray)


def cut_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with each str or bytes longer than ``ARG_CHARS`` cut to that, plus "…".

    A cut str is still a str ("%s" shows ``abc…``, "%r" ``'abc…'``); cut bytes
    show as ``b'abc'…`` either way. Other arguments (a dict for ``%(name)s``
    included) are left as they are.
    """
    cut: list[Any] | None = None
    for i, arg in enumerate(args):
        if isinstance(arg, _CUT) and len(arg) > ARG_CHARS:
            if cut is None:
                cut = list(args)
            cut[i] = (
                arg[:ARG_CHARS] + "…" if isinstance(arg, str) else _CutBytes(bytes(arg[:ARG_CHARS]))
            )
    return args if cut is None else tuple(cut)


def check_limit(limit: int | None) -> int | None:
    """The line limit as an int; a ValueError unless it is None or a whole number >= 1."""
    if limit is None:
        return None
    try:
        if isinstance(limit, bool):
            raise TypeError
        count = operator.index(limit)
    except TypeError:
        count = 0
    if count < 1:
        raise ValueError(
            _(
                "log_limit must be a number of lines a second (1 or more), or None: {limit!r}"
            ).format(limit=limit)
        )
    return count


class ConnectionLog(logging.LoggerAdapter[logging.Logger]):
    """``ctx.log``: prefixes lines with the connection id, and keeps one
    connection's flood from flooding the log.

    The tutorial's echo logs every message it receives. One connection sending
    thousands of messages a second would then push every other line (other
    clients' connections, warnings) out of the log book within a second, and
    the server would spend a good part of its time writing lines nobody can
    read. So each connection writes at most ``limit`` INFO and DEBUG lines per
    second; the lines past that are counted, and the count is written as one
    more line ("[#7] 1234 more lines not logged ...") with the next INFO or
    DEBUG line written after the second is over, or when the connection ends
    (the app calls :meth:`flush`). Warnings and errors are never held back.
    ``limit=None`` writes every line. The limit is per connection: many
    connections together can still fill the book. (``info`` does not look at
    the logger's level before counting, to stay cheap: with INFO switched off
    the held-back lines are counted, but neither they nor the count appear.)

    A str or bytes argument longer than ``ARG_CHARS`` is cut, with "…", in
    the lines written (see :func:`cut_args`): ``ctx.log.info("got %r",
    message)`` stays one short line for a 1 MiB message, for every handler.
    As arguments are formatted only for lines that are written, a line held
    back costs next to nothing.

    Plain ``logger.info`` builds a record and walks the call stack for the
    caller's file and line, which the kit's lines do not show. Here the line
    goes straight into the kit's log book when nothing else would see it
    (:func:`write_fast`); otherwise a record is built directly, still without
    the stack walk. Keyword arguments (``exc_info``, ``extra``, ``stacklevel``)
    take logging's full path.
    """

    def __init__(
        self,
        logger: logging.Logger,
        conn: int,
        limit: int | None = LINE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(logger, {"conn": conn})
        limit = check_limit(limit)
        self._prefix = f"[#{conn}] "
        self.limit = limit
        self._clock = clock
        #: Lines still allowed in this second (infinite without a limit);
        #: 0 at first, so the first line opens the first second.
        self._left: float = 0 if limit is not None else math.inf
        #: When this second ends (never, without a limit).
        self._second_ends = 0.0 if limit is not None else math.inf
        self._hidden = 0

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self._prefix}{msg}", kwargs

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if self._allow():
            self._write(logging.INFO, msg, args, kwargs)

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if level < logging.WARNING:  # held back in a flood; warnings never are
            if not self.logger.isEnabledFor(level):
                return  # (a DEBUG line at INFO, say: neither written nor counted)
            if not self._allow():
                return
        self._write(level, msg, args, kwargs)

    def _allow(self) -> bool:
        """May one more INFO or DEBUG line be written this second? If not, count it.

        The held-back path, the hot one in a flood, is kept to a few steps:
        one clock reading and an addition.
        """
        if self._left <= 0:  # this second's lines are used up (or none was written yet)
            if self._clock() < self._second_ends:
                self._hidden += 1
                return False
            self._next_second()
        elif self._clock() >= self._second_ends:  # lines left, but from a second that is over
            self._next_second()
        self._left -= 1
        return True

    def flush(self) -> int:
        """Write the count of lines held back, if any; return that count.

        The app calls it when a connection ends, so no count is lost.
        """
        hidden, self._hidden = self._hidden, 0
        if hidden:
            self._write(
                logging.INFO,
                _("%d more lines not logged: over %d a second (App's log_limit)"),
                (hidden, self.limit),
                {},
            )
        return hidden

    def _next_second(self) -> None:
        self.flush()
        self._left = math.inf if self.limit is None else self.limit
        self._second_ends = self._clock() + 1.0

    def _write(self, level: int, msg: Any, args: Any, kwargs: dict[str, Any]) -> None:
        logger = self.logger
        if not logger.isEnabledFor(level):
            return
        if args:
            args = cut_args(args)
        if kwargs:
            # exc_info, stack_info, extra, stacklevel: the full logging path.
            # stacklevel counts from the caller of info/log/warning..., as with
            # a plain LoggerAdapter: this class's two frames (info or log, then
            # _write) are skipped; logging skips its own frames itself.
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2
            logging.LoggerAdapter.log(self, level, msg, *args, **kwargs)
            return
        text = self._prefix + str(msg)
        if not write_fast(logger, level, text, args):
            logger.handle(logger.makeRecord(logger.name, level, "", 0, text, args, None))
