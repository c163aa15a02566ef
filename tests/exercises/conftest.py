"""Fixtures for the exercise tests: short reply waits, and no server left behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import labkit
from labkit.exercises import live


@pytest.fixture(autouse=True)
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wait 1 s for a reply that a wrong answer never sends (right answers take ms)."""
    monkeypatch.setattr(live, "TIMEOUT", 1.0)


@pytest.fixture(autouse=True)
def no_server_left_behind() -> Iterator[None]:
    """Every check stops the servers it started, whatever the answer was."""
    before = labkit.running()
    yield
    assert labkit.running() == before
