"""Assertions shared by the exercise tests: accepted, rejected, not attempted."""

from __future__ import annotations

from labkit.exercises.core import Result

__all__ = ["accepted", "not_attempted", "rejected"]


def accepted(result: Result) -> None:
    """Assert the check passed."""
    assert result.ok, f"expected ✓, got: {result.message}\nhint: {result.hint}"
    assert result.attempted


def rejected(result: Result, *fragments: str) -> None:
    """Assert the check failed as a wrong answer whose message or hint holds each fragment."""
    assert not result.ok, f"expected ✗, got ✓: {result.message}"
    assert result.attempted, f"expected a wrong answer, got 'not attempted': {result.message}"
    text = f"{result.message}\n{result.hint}"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"


def not_attempted(result: Result) -> None:
    """Assert the check said "not attempted yet" (and did not fail)."""
    assert not result.ok
    assert not result.attempted, f"expected 'not attempted', got: {result.message}"
