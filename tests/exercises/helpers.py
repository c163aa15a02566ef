"""Assertions shared by the exercise tests: accepted, rejected, not attempted, in Chinese."""

from __future__ import annotations

import re

from labkit.exercises.core import Result

__all__ = ["accepted", "chinese_verdict", "has_chinese", "not_attempted", "rejected"]

_HAN = re.compile(r"[\u4e00-\u9fff]")

#: English words of the kit's feedback prose; none may be left in a Chinese verdict.
_ENGLISH = ("expected", "returned", "Hint", "correct!", "not yet right", "not attempted", " is ")


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


def has_chinese(text: str) -> bool:
    """Whether ``text`` holds Chinese characters."""
    return bool(_HAN.search(text))


def chinese_verdict(result: Result, headline: str, *fragments: str) -> str:
    """Assert the shown verdict is Chinese: its headline, its prose, each fragment.

    ``headline`` is the translated line after the mark ("accept_key：还不对"); the
    message (and under ✗ the hint) must hold Chinese and none of the English
    feedback words. Returns the text form, for more checks.
    """
    shown = repr(result.verdict)
    first = shown.partition("\n")[0]
    assert first.endswith(headline), f"{headline!r} is not the headline of:\n{shown}"
    assert has_chinese(result.message), result.message
    if not result.ok and result.attempted:
        assert has_chinese(result.hint), result.hint
        assert "  提示：" in shown, shown
    for word in _ENGLISH:
        assert word not in shown, f"English {word!r} left in:\n{shown}"
    for fragment in fragments:
        assert fragment in shown, f"{fragment!r} not in:\n{shown}"
    return shown
