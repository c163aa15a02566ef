"""The inspector's memory: the last records, safe to read from any thread.

Records are added on the kit's loop thread and read from a notebook cell (the
kernel's main thread). :class:`RecordLog` keeps them in a
:class:`~labkit.journal.Journal`, the kit's one bounded, waitable log, so
every access goes through its condition; :meth:`RecordLog.wait_for` waits on
it, which is how a cell or a test waits for traffic without sleeping. On top,
the log tells its watchers (a live view) after every change.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from typing import Protocol

from labkit.inspector.records import Record
from labkit.journal import Journal

from ..i18n import _

__all__ = ["KEEP_RECORDS", "RecordLog", "Watcher"]

log = logging.getLogger("labkit.inspector")

#: Records kept by default; older ones are dropped first.
KEEP_RECORDS = 5000


class Watcher(Protocol):
    """Something told about new records (a live view)."""

    def records_changed(self) -> None:
        """Called after records were added or cleared, on the thread that did it."""
        ...


def _describe(record: Record) -> str:
    return record.line()


class RecordLog:
    """A bounded, thread-safe list of records.

    Args:
        keep: how many records to keep; the oldest go first.
    """

    def __init__(self, keep: int = KEEP_RECORDS) -> None:
        self._journal: Journal[Record] = Journal(keep, describe=_describe)
        # Weak, so a view that was thrown away (a re-run cell) stops being drawn.
        self._watchers: weakref.WeakSet[Watcher] = weakref.WeakSet()

    @property
    def keep(self) -> int:
        """How many records are kept at most."""
        return self._journal.keep

    @property
    def total(self) -> int:
        """How many records were ever added (including dropped and cleared ones)."""
        return self._journal.total

    def add(self, records: Iterable[Record]) -> None:
        """Append records and wake everyone waiting."""
        if self._journal.extend(records):
            self._tell()

    def clear(self) -> None:
        """Forget every record kept so far."""
        self._journal.clear()
        self._tell()

    def snapshot(self, last: int | None = None) -> list[Record]:
        """The records kept, oldest first; only the ``last`` ones if given."""
        return self._journal.snapshot(last)

    def wait_for(self, predicate: Callable[[Record], bool], timeout: float = 10.0) -> Record:
        """Block until a record satisfies ``predicate`` (records already kept count).

        Returns:
            The first such record.

        Raises:
            TimeoutError: none came within ``timeout`` seconds; the message
                shows the last records seen.
        """

        def failure(last: list[Record]) -> str:
            shown = "\n".join(r.line() for r in last) or _("(no records)")
            line = _("no matching record within {timeout} s; last records:\n{records}")
            return line.format(timeout=timeout, records=shown)

        return self._journal.wait_for(predicate, timeout, failure=failure)

    def watch(self, watcher: Watcher) -> None:
        """Call ``watcher.records_changed()`` after every change (held weakly)."""
        self._watchers.add(watcher)

    def unwatch(self, watcher: Watcher) -> None:
        """Stop telling ``watcher``."""
        self._watchers.discard(watcher)

    def _tell(self) -> None:
        for watcher in list(self._watchers):
            try:
                watcher.records_changed()
            except Exception:  # a broken view must not stop the recording
                log.exception(_("an inspector view failed to update"))

    def __len__(self) -> int:
        return len(self._journal)
