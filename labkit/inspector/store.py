"""The inspector's memory: the last records, safe to read from any thread.

Records are added on the kit's loop thread and read from a notebook cell (the
kernel's main thread), so every access goes through one
:class:`threading.Condition`; :meth:`RecordLog.wait_for` waits on it, which is
how a cell or a test waits for traffic without sleeping.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol

from labkit.inspector.records import Record

__all__ = ["KEEP", "RecordLog", "Watcher"]

log = logging.getLogger("labkit.inspector")

#: Records kept by default; older ones are dropped first.
KEEP = 5000


class Watcher(Protocol):
    """Something told about new records (a live view)."""

    def records_changed(self) -> None:
        """Called after records were added or cleared, on the thread that did it."""
        ...


class RecordLog:
    """A bounded, thread-safe list of records.

    Args:
        keep: how many records to keep; the oldest go first.
    """

    def __init__(self, keep: int = KEEP) -> None:
        self._records: deque[Record] = deque(maxlen=keep)
        self._changed = threading.Condition()
        self._total = 0
        # Weak, so a view that was thrown away (a re-run cell) stops being drawn.
        self._watchers: weakref.WeakSet[Watcher] = weakref.WeakSet()

    @property
    def keep(self) -> int:
        """How many records are kept at most."""
        maxlen = self._records.maxlen
        assert maxlen is not None
        return maxlen

    @property
    def total(self) -> int:
        """How many records were ever added (including dropped and cleared ones)."""
        return self._total

    def add(self, records: Iterable[Record]) -> None:
        """Append records and wake everyone waiting."""
        batch = list(records)
        if not batch:
            return
        with self._changed:
            self._records.extend(batch)
            self._total += len(batch)
            self._changed.notify_all()
        self._tell()

    def clear(self) -> None:
        """Forget every record kept so far."""
        with self._changed:
            self._records.clear()
            self._changed.notify_all()
        self._tell()

    def snapshot(self, last: int | None = None) -> list[Record]:
        """The records kept, oldest first; only the ``last`` ones if given."""
        with self._changed:
            records = list(self._records)
        return records if last is None else records[-last:] if last > 0 else []

    def wait_for(self, predicate: Callable[[Record], bool], timeout: float = 10.0) -> Record:
        """Block until a record satisfies ``predicate`` (records already kept count).

        Returns:
            The first such record.

        Raises:
            TimeoutError: none came within ``timeout`` seconds; the message
                shows the last records seen.
        """
        found: list[Record] = []

        def ready() -> bool:
            for record in self._records:
                if predicate(record):
                    found.append(record)
                    return True
            return False

        with self._changed:
            if not self._changed.wait_for(ready, timeout):
                last = "\n".join(r.line() for r in list(self._records)[-5:]) or "(no records)"
                raise TimeoutError(f"no matching record within {timeout} s; last records:\n{last}")
        return found[0]

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
                log.exception("an inspector view failed to update")

    def __len__(self) -> int:
        with self._changed:
            return len(self._records)
