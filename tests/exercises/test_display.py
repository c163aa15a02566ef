"""Feedback shows as coloured HTML in Jupyter and as text elsewhere; learner text is escaped."""

from __future__ import annotations

from IPython.core.formatters import DisplayFormatter

from labkit.exercises import lesson1
from labkit.exercises.core import Result
from labkit.exercises.display import Note, Verdict


def accept_key_html(key: str) -> str:
    return "<script>alert('pwned')</script>"


def test_learner_output_is_escaped_in_html() -> None:
    """A value returned by learner code appears as text, never as live HTML."""
    result = lesson1.check.accept_key(accept_key_html)
    html = result.verdict._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html
    assert "<script>alert('pwned')</script>" in repr(result.verdict)


def test_each_status_has_its_mark_in_text_and_html() -> None:
    """✓, ✗ and ○ show in both the text and the HTML form; the hint only under ✗."""
    for status, mark in (("ok", "✓"), ("wrong", "✗"), ("todo", "○")):
        verdict = Verdict("accept_key", status, "the message", "the hint")
        assert repr(verdict).startswith(f"{mark} accept_key")
        assert f"{mark} accept_key" in verdict._repr_html_()
        assert ("Hint: the hint" in repr(verdict)) is (status == "wrong")


def test_jupyter_gets_both_mime_types_and_no_duplicate() -> None:
    """The verdict carries text/plain and text/html; the returned Result adds no second output."""
    formatter = DisplayFormatter()
    data, _ = formatter.format(Verdict("x", "ok", "fine"))
    assert {"text/plain", "text/html"} <= set(data)
    assert "✓ x" in data["text/plain"]
    assert formatter.format(Result("x", ok=True, message="fine")) == ({}, {})


def test_a_note_shows_code_verbatim() -> None:
    """A solution note keeps the code's lines and escapes it in HTML."""
    note = Note("Solution: x", "if a < b:\n    return a", kind="code")
    assert "    if a < b:\n        return a" in repr(note)
    assert "if a &lt; b:" in note._repr_html_()
