"""Show feedback: coloured HTML in Jupyter, plain text in a terminal or a test log.

Every object here has a ``_repr_html_`` and a text ``__repr__``, so Jupyter
keeps both in the output (``text/html`` and ``text/plain``) and tools that read
only text (nbval, a terminal, a log) still see the verdict.

Anything that came from the learner's code (a returned value, an exception
message) ends up in the message text, and every piece of text is passed
through :func:`html.escape` before it goes into the HTML: learner output is
shown, never rendered.

:func:`first_difference` words the first byte where two byte strings differ,
so that a message names the actual difference before it guesses a cause.

Every word shown here (the headlines, the hint label, the differences) is a
catalog message (:mod:`labkit.i18n`), translated when it is shown. The text
form lines up a hint's later lines under its first, in the columns a terminal
gives each character (a Chinese character takes two).
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from ..i18n import N_, _

__all__ = ["Note", "Verdict", "emit", "first_difference"]

Status = Literal["ok", "wrong", "todo"]

# (mark, headline, border colour, background colour) per status.
_LOOK: dict[str, tuple[str, str, str, str]] = {
    "ok": ("✓", N_("correct!"), "#2e7d32", "#e8f5e9"),
    "wrong": ("✗", N_("not yet right"), "#c62828", "#ffebee"),
    "todo": ("○", N_("not attempted yet"), "#546e7a", "#eceff1"),
    "hint": ("ℹ", "", "#f9a825", "#fffde7"),
    "code": ("✎", "", "#1565c0", "#e3f2fd"),
}

_BOX = (
    '<div class="labkit-exercise labkit-{kind}" style="border-left:4px solid {border};'
    "background:{background};color:#212121;padding:6px 12px;margin:4px 0;"
    'border-radius:2px">{body}</div>'
)
_PRE = '<pre style="white-space:pre-wrap;margin:4px 0;background:transparent">{}</pre>'


def _width(text: str) -> int:
    """The columns ``text`` takes in a terminal: two for a wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _headline(status: str) -> str:
    """The translated headline of ``status`` ("correct!"), "" for a hint or a solution."""
    headline = _LOOK[status][1]
    return _(headline) if headline else ""


@dataclass(frozen=True)
class Verdict:
    """A check's outcome, ready to show.

    Attributes:
        exercise: the exercise's name.
        status: ``"ok"`` (✓), ``"wrong"`` (✗) or ``"todo"`` (not attempted yet).
        message: the praise or what went wrong.
        hint: shown under a wrong answer.
    """

    exercise: str
    status: Status
    message: str
    hint: str = ""

    def __repr__(self) -> str:
        mark = _LOOK[self.status][0]
        title = _("{exercise}: {headline}").format(
            exercise=self.exercise, headline=_headline(self.status)
        )
        lines = [f"{mark} {title}"]
        lines += [f"  {line}" for line in self.message.splitlines()]
        if self.status == "wrong" and self.hint:
            # TRANSLATORS: the first line of a hint in a terminal; later lines line up under {line}.
            labelled = _("Hint: {line}")
            indent = " " * (2 + _width(labelled.format(line="")))
            lines += [
                "  " + labelled.format(line=line) if i == 0 else indent + line
                for i, line in enumerate(self.hint.splitlines())
            ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        mark, _look, border, background = _LOOK[self.status]
        headline = _headline(self.status)
        body = (
            f'<strong style="color:{border}">{mark} {html.escape(self.exercise)}</strong> '
            f"<span>{html.escape(headline)}</span>"
        )
        if self.message and self.status == "ok":  # praise reads as prose
            body += f'<div style="margin:4px 0">{html.escape(self.message)}</div>'
        elif self.message:  # "expected" and "got" lines must stay aligned
            body += _PRE.format(html.escape(self.message))
        if self.status == "wrong" and self.hint:
            label = html.escape(_("Hint:"))
            body += f"<div><em>{label}</em> {_PRE.format(html.escape(self.hint))}</div>"
        return _BOX.format(kind=self.status, border=border, background=background, body=body)


@dataclass(frozen=True)
class Note:
    """A hint or a solution, ready to show.

    Attributes:
        title: e.g. ``"Hint: accept_key"``.
        text: the hint, or the solution's source code.
        kind: ``"hint"`` or ``"code"``.
    """

    title: str
    text: str
    kind: Literal["hint", "code"] = "hint"

    def __repr__(self) -> str:
        mark = _LOOK[self.kind][0]
        indented = "\n".join(f"    {line}" if line else "" for line in self.text.splitlines())
        return f"{mark} {self.title}\n{indented}"

    def _repr_html_(self) -> str:
        mark, _look, border, background = _LOOK[self.kind]
        body = f'<strong style="color:{border}">{mark} {html.escape(self.title)}</strong>'
        body += _PRE.format(html.escape(self.text))
        return _BOX.format(kind=self.kind, border=border, background=background, body=body)


def emit(obj: Any) -> None:
    """Show ``obj`` with IPython's ``display`` in a kernel, else print its text."""
    try:
        from IPython import get_ipython
    except ImportError:  # the kit runs without Jupyter too
        shell = None
    else:
        shell = get_ipython()
    if shell is None:
        print(repr(obj))
        return
    from IPython.display import display

    display(obj)


def first_difference(got: bytes, want: bytes) -> str:
    """Where ``got`` first differs from ``want``, in one line a learner can check by hand.

    ``"byte 2 is 0xa1, expected 0x00"``, or which one is shorter when one is the
    start of the other. Bytes past the 16 that a message shows in hex come
    with the few bytes around them, so the line stands on its own.
    """
    for index, (mine, theirs) in enumerate(zip(got, want, strict=False)):
        if mine != theirs:
            if index < 16:
                return _("byte {index} is {got}, expected {want}").format(
                    index=index, got=f"0x{mine:02x}", want=f"0x{theirs:02x}"
                )
            start = index - index % 4
            around = slice(start, start + 8)
            return _(
                "byte {index} is {got}, expected {want} "
                "(bytes {start}-{end}: {got_bytes}, expected {want_bytes})"
            ).format(
                index=index,
                got=f"0x{mine:02x}",
                want=f"0x{theirs:02x}",
                start=start,
                end=start + 7,
                got_bytes=bytes(got[around]).hex(" "),
                want_bytes=bytes(want[around]).hex(" "),
            )
    if len(got) < len(want):
        return _("the first {count} bytes are right, then it stops: {expected} expected").format(
            count=len(got), expected=len(want)
        )
    if len(got) > len(want):
        return _("the {expected} bytes expected are all there, then {extra} more").format(
            expected=len(want), extra=len(got) - len(want)
        )
    return _("no difference")
