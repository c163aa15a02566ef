"""A bounded, thread-safe list that a blocking caller can wait on.

The kit's clients live on the kit's event loop thread, while a notebook cell
waits for them on the kernel's main thread: "block until the panel shows
alice's message", "until the inspector saw the close frame", "until the client
is OPEN". :class:`Journal` is that one mechanism: entries appended on one
thread, a :class:`threading.Condition` that wakes waiters on another, and on a
timeout an error that shows the last entries, so a failed wait says what *did*
arrive.

Used by :class:`labkit.WebSocket` (messages received), the chat panel (its
log) and the inspector's record store.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from .i18n import _

__all__ = ["Journal"]

T = TypeVar("T")

#: Longest single sleep of a wait, in seconds: how soon a KeyboardInterrupt lands.
POLL = 0.1
#: Entries shown in a timeout's message.
SHOWN_ON_TIMEOUT = 5


class Journal(Generic[T]):
    """A bounded list of entries with a condition to wait on.

    Args:
        keep: how many entries to keep; the oldest go first.
        describe: turns an entry into the text a timeout shows (``repr`` by default).
    """

    def __init__(self, keep: int, describe: Callable[[T], str] = repr) -> None:
        self._entries: deque[T] = deque(maxlen=keep)
        self._describe = describe
        #: Held while entries or any state a waiter tests change; usable with ``with``.
        self.changed = threading.Condition()
        self._total = 0

    @property
    def keep(self) -> int:
        """How many entries are kept at most."""
        maxlen = self._entries.maxlen
        assert maxlen is not None
        return maxlen

    @property
    def total(self) -> int:
        """How many entries were ever added (including dropped and cleared ones)."""
        return self._total

    def append(self, entry: T) -> None:
        """Add one entry and wake every waiter."""
        with self.changed:
            self._entries.append(entry)
            self._total += 1
            self.changed.notify_all()

    def extend(self, entries: Iterable[T]) -> int:
        """Add entries and wake every waiter; return how many were added."""
        batch = list(entries)
        if batch:
            with self.changed:
                self._entries.extend(batch)
                self._total += len(batch)
                self.changed.notify_all()
        return len(batch)

    def clear(self) -> None:
        """Forget every entry kept so far."""
        with self.changed:
            self._entries.clear()
            self.changed.notify_all()

    def notify(self) -> None:
        """Wake every waiter (after a change to state a waiter's condition reads)."""
        with self.changed:
            self.changed.notify_all()

    def snapshot(self, last: int | None = None) -> list[T]:
        """The entries kept, oldest first; only the ``last`` ones if given."""
        with self.changed:
            entries = list(self._entries)
        if last is None:
            return entries
        return entries[-last:] if last > 0 else []

    def last_shown(self) -> str:
        """The last few entries as text, for an error message."""
        shown = [self._describe(e) for e in self.snapshot(SHOWN_ON_TIMEOUT)]
        return ", ".join(shown) if shown else _("(nothing yet)")

    def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Block until ``condition()`` is true; return False on a timeout.

        The wait wakes up every :data:`POLL` seconds: a signal that reaches
        another thread of the process (Kernel → Interrupt sends SIGINT) runs
        Python's handler only once the main thread is back in Python, so a
        single long wait could not be interrupted until its timeout.
        """
        deadline = time.monotonic() + timeout
        with self.changed:
            result = condition()
            while not result:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.changed.wait(min(left, POLL))
                result = condition()
            return result

    def wait_for(
        self,
        predicate: Callable[[T], bool],
        timeout: float,
        failure: Callable[[list[T]], str] | None = None,
    ) -> T:
        """Block until an entry satisfies ``predicate`` (entries already kept count).

        Args:
            predicate: the test each entry is put to.
            timeout: seconds to wait.
            failure: builds the timeout's message from the last entries (called
                only when the wait fails, so it may describe live state too).

        Returns:
            The first such entry.

        Raises:
            TimeoutError: none came within ``timeout`` seconds; the message
                shows the last entries seen.
        """
        found: list[T] = []

        def ready() -> bool:
            for entry in self._entries:
                if predicate(entry):
                    found.append(entry)
                    return True
            return False

        if not self.wait_until(ready, timeout):
            if failure is not None:
                raise TimeoutError(failure(self.snapshot(SHOWN_ON_TIMEOUT)))
            raise TimeoutError(
                _("waited {timeout} s; last entries: {entries}").format(
                    timeout=timeout, entries=self.last_shown()
                )
            )
        return found[0]

    def __iter__(self) -> Iterator[T]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self.changed:
            return len(self._entries)
