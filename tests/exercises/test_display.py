"""Feedback shows as coloured HTML in Jupyter and as text elsewhere; learner text is escaped."""

from __future__ import annotations

import pytest
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


@pytest.mark.usefixtures("chinese")
def test_headlines_labels_and_titles_speak_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    """✓ / ✗ / ○ headlines, the hint label and the hint's title, in text and in HTML."""
    for status, line in (
        ("ok", "✓ x：正确！"),
        ("wrong", "✗ x：还不对"),
        ("todo", "○ x：尚未作答"),
    ):
        verdict = Verdict("x", status, "消息", "提示文字")
        assert repr(verdict).startswith(line)
        assert line.split("：")[1] in verdict._repr_html_()
    wrong = Verdict("x", "wrong", "消息", "第一行\n第二行")
    assert "<em>提示：</em>" in wrong._repr_html_()
    assert "Hint" not in wrong._repr_html_()
    lesson1.hint.decode_frame()
    assert capsys.readouterr().out.startswith("ℹ 提示：decode_frame\n    字节 0：FIN 是最高位")


@pytest.mark.usefixtures("chinese")
def test_a_chinese_hint_lines_up_under_its_label() -> None:
    """A terminal gives a Chinese character two columns: later lines start under the first."""
    lines = repr(Verdict("x", "wrong", "m", "第一行\n第二行")).splitlines()
    assert lines[2] == "  提示：第一行"
    assert lines[3] == " " * 8 + "第二行"  # "  提示：" takes 2 + 3 x 2 columns


def test_an_english_hint_lines_up_as_before() -> None:
    """In English the later lines of a hint keep their 8 spaces."""
    lines = repr(Verdict("x", "wrong", "m", "one\ntwo")).splitlines()
    assert lines[2:] == ["  Hint: one", "        two"]
