"""Tests for labkit.inspector.store: a bounded record list that threads can wait on."""

from __future__ import annotations

import threading

import pytest

from labkit.inspector.records import ConnRecord
from labkit.inspector.store import RecordLog


def conn(n: int) -> ConnRecord:
    return ConnRecord(n, None, "open")


def test_only_the_last_records_are_kept():
    """Past `keep` records the oldest go first; `total` still counts them all."""
    log = RecordLog(keep=3)
    log.add(conn(n) for n in range(1, 6))
    assert [r.conn for r in log.snapshot()] == [3, 4, 5]
    assert [r.conn for r in log.snapshot(last=2)] == [4, 5] and log.snapshot(last=0) == []
    assert (len(log), log.total, log.keep) == (3, 5, 3)
    log.clear()
    assert log.snapshot() == [] and log.total == 5


def test_wait_for_wakes_when_another_thread_adds_a_match():
    """wait_for returns the matching record added later by another thread, without polling."""
    log = RecordLog()
    log.add([conn(1)])
    waiting = threading.Event()

    class Nudge:
        def records_changed(self) -> None:
            waiting.set()

    nudge = Nudge()
    log.watch(nudge)
    adder = threading.Thread(target=lambda: log.add([conn(2)]))
    adder.start()
    assert log.wait_for(lambda r: r.conn == 2, timeout=5).conn == 2
    adder.join()
    assert waiting.is_set()
    assert log.wait_for(lambda r: r.conn == 1, timeout=0).conn == 1  # earlier records count


def test_wait_for_times_out_with_the_last_records():
    """A record that never comes raises TimeoutError naming the last records seen."""
    log = RecordLog()
    log.add([conn(9)])
    with pytest.raises(TimeoutError, match="#9"):
        log.wait_for(lambda r: r.conn == 1, timeout=0.05)


def test_the_timeout_message_lists_the_last_five_records_one_a_line():
    """The message names the timeout and the last five records' lines, or says there were none."""
    log = RecordLog()
    with pytest.raises(TimeoutError) as empty:
        log.wait_for(lambda r: False, timeout=0)
    assert str(empty.value) == "no matching record within 0 s; last records:\n(no records)"
    log.add(conn(n) for n in range(1, 8))
    with pytest.raises(TimeoutError) as info:
        log.wait_for(lambda r: False, timeout=0.01)
    lines = "\n".join(conn(n).line() for n in range(3, 8))
    assert str(info.value) == f"no matching record within 0.01 s; last records:\n{lines}"


def test_a_failing_watcher_does_not_stop_recording(caplog: pytest.LogCaptureFixture):
    """A watcher that raises is logged; the record is kept all the same."""

    class Broken:
        def records_changed(self) -> None:
            raise RuntimeError("boom")

    log = RecordLog()
    broken = Broken()
    log.watch(broken)
    log.add([conn(1)])
    assert len(log) == 1 and "failed to update" in caplog.text
    log.unwatch(broken)
    caplog.clear()
    log.add([conn(2)])
    assert caplog.text == ""
