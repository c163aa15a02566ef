"""Tests for labkit.journal: a bounded log that another thread can wait on, without sleeps.

Threads are sequenced with events, never with sleeps: a waiter's predicate runs
while it holds the journal's lock, so once the predicate has been called the
main thread's next append can only take the lock after the waiter released it
by going to sleep in the condition.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from labkit.journal import SHOWN_ON_TIMEOUT, Journal

JOIN = 5.0  # seconds a helper thread may take before the test gives up on it


class Waiter(threading.Thread):
    """Run ``wait`` on another thread and keep its result or its exception."""

    def __init__(self, wait: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._wait = wait
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._wait()
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def outcome(self) -> object:
        self.join(JOIN)
        assert not self.is_alive(), "the waiter never woke up"
        if self.error is not None:
            raise self.error
        return self.result


def test_only_the_last_entries_are_kept_and_total_counts_them_all():
    """Past `keep` the oldest entries go first; `total` counts every entry ever added."""
    journal: Journal[int] = Journal(keep=3)
    journal.append(1)
    assert journal.extend(n for n in range(2, 6)) == 4 and journal.extend([]) == 0
    assert journal.snapshot() == [3, 4, 5] == list(journal)
    assert journal.snapshot(last=2) == [4, 5] and journal.snapshot(last=0) == []
    assert (len(journal), journal.total, journal.keep) == (3, 5, 3)


def test_clear_forgets_the_entries_but_not_the_total():
    """clear() empties the journal; total still counts what was added."""
    journal: Journal[str] = Journal(keep=10)
    journal.extend("abc")
    journal.clear()
    assert (journal.snapshot(), len(journal), journal.total) == ([], 0, 3)
    with pytest.raises(TimeoutError):
        journal.wait_for(lambda e: e == "a", timeout=0)  # cleared entries no longer count


def test_wait_for_returns_an_earlier_entry_at_once():
    """An entry added before the wait counts: the first match is returned without waiting."""
    journal: Journal[str] = Journal(keep=10)
    journal.extend(["apple", "banana", "blueberry"])
    assert journal.wait_for(lambda e: e.startswith("b"), timeout=0) == "banana"


def test_wait_for_wakes_when_another_thread_appends_a_match():
    """A waiter blocked on another thread returns the entry appended after it started waiting."""
    journal: Journal[str] = Journal(keep=10)
    journal.append("old")
    checked = threading.Event()

    def predicate(entry: str) -> bool:
        checked.set()  # called with the lock held, before the waiter sleeps
        return entry == "new"

    waiter = Waiter(lambda: journal.wait_for(predicate, timeout=JOIN))
    waiter.start()
    assert checked.wait(JOIN)
    journal.append("noise")  # wakes the waiter, which goes back to sleep
    journal.append("new")
    assert waiter.outcome() == "new"


def test_clear_wakes_a_waiter_whose_condition_it_makes_true():
    """wait_until is woken by clear() as by an append."""
    journal: Journal[int] = Journal(keep=10)
    journal.extend([1, 2])
    checked = threading.Event()

    def empty() -> bool:
        checked.set()
        return journal.snapshot() == []

    waiter = Waiter(lambda: journal.wait_until(empty, timeout=JOIN))
    waiter.start()
    assert checked.wait(JOIN)
    journal.clear()
    assert waiter.outcome() is True


def test_wait_until_wakes_on_notify_after_a_change_of_outside_state():
    """State that is not an entry is waited for with wait_until and announced with notify()."""
    journal: Journal[str] = Journal(keep=10)
    state = {"open": False}
    checked = threading.Event()

    def is_open() -> bool:
        checked.set()
        return state["open"]

    waiter = Waiter(lambda: journal.wait_until(is_open, timeout=JOIN))
    waiter.start()
    assert checked.wait(JOIN)
    with journal.changed:
        state["open"] = True
    journal.notify()
    assert waiter.outcome() is True
    assert journal.wait_until(lambda: False, timeout=0) is False  # a timeout is False, not an error


def test_a_timeout_lists_the_last_entries():
    """The default message names the timeout and the last entries, described with repr."""
    journal: Journal[str] = Journal(keep=100)
    with pytest.raises(TimeoutError) as empty:
        journal.wait_for(lambda e: False, timeout=0)
    assert str(empty.value) == "waited 0 s; last entries: (nothing yet)"
    journal.extend(f"m{n}" for n in range(10))
    with pytest.raises(TimeoutError) as info:
        journal.wait_for(lambda e: False, timeout=0.01)
    shown = ", ".join(repr(f"m{n}") for n in range(10 - SHOWN_ON_TIMEOUT, 10))
    assert str(info.value) == f"waited 0.01 s; last entries: {shown}"


def test_describe_sets_how_entries_read_in_a_timeout():
    """describe= turns each entry into the text the message shows."""
    journal: Journal[int] = Journal(keep=10, describe=lambda n: f"#{n}")
    journal.extend([7, 8])
    assert journal.last_shown() == "#7, #8"
    with pytest.raises(TimeoutError, match=r"last entries: #7, #8$"):
        journal.wait_for(lambda n: n > 8, timeout=0)


def test_failure_builds_the_message_from_the_last_entries_only_on_a_timeout():
    """failure= turns the last entries into the TimeoutError's text; a match never calls it."""
    journal: Journal[int] = Journal(keep=100)
    journal.extend(range(20))
    calls: list[list[int]] = []

    def failure(last: list[int]) -> str:
        calls.append(last)
        return f"no big number; saw {last}"

    assert journal.wait_for(lambda n: n == 3, timeout=0, failure=failure) == 3
    assert calls == []
    with pytest.raises(TimeoutError) as info:
        journal.wait_for(lambda n: n > 100, timeout=0, failure=failure)
    assert str(info.value) == "no big number; saw [15, 16, 17, 18, 19]"
    assert calls == [[15, 16, 17, 18, 19]]


def test_a_timeout_speaks_chinese(chinese) -> None:
    """The default timeout message, in Chinese."""
    empty: Journal[int] = Journal(3)
    with pytest.raises(TimeoutError) as info:
        empty.wait_for(lambda _entry: True, 0)
    assert str(info.value) == "已等待 0 秒；最近的条目：（还没有）"
