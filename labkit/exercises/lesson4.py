"""Lesson 4 exercise: predict the load test's two curves with a model of one fan-out.

In a notebook::

    from labkit.exercises import lesson4 as ex

    def my_fanout_model(receivers, fixed_ms, per_receiver_ms):
        ...  # your code here

    ex.check.fanout_model(my_fanout_model)

Exercise:

* ``fanout_model(receivers: int, fixed_ms: float, per_receiver_ms: float)
  -> (latency_ms, deliveries_per_s)``: the room spends ``fixed_ms`` once per
  message (it reads, encodes and frames it once: ``App.broadcast``), then
  ``per_receiver_ms`` on each receiver's copy, written one after the other.
  ``latency_ms`` is when the last receiver has the message; the sender sends
  the next message only then, so ``deliveries_per_s`` is ``receivers``
  deliveries every ``latency_ms``. The model says which curve of the lesson
  grows without end (latency, in a straight line) and which levels off
  (throughput, towards ``1000 / per_receiver_ms``), and why.

A wrong value is shown against the expected one first, with the inputs; the
guess at its cause (the fixed cost left out, messages counted instead of
deliveries, milliseconds taken for seconds...) comes after.
"""

from __future__ import annotations

import math
from typing import Any

from ..i18n import N_, _
from .core import Lesson, WrongAnswer, call, show
from .solutions import lesson4 as solutions

__all__ = ["MODEL_CASES", "check", "hint", "lesson", "solution"]

lesson = Lesson("lesson4")
check, hint, solution = lesson.check, lesson.hint, lesson.solution

#: (receivers, fixed_ms, per_receiver_ms): the first tells every typical mistake apart.
MODEL_CASES: tuple[tuple[int, float, float], ...] = (
    (10, 2.0, 0.1),
    (1, 0.5, 0.05),
    (100, 1.0, 0.02),
    (1000, 3.0, 0.01),
)


def _close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _latency_mistake(n: int, fixed: float, per: float, got: float) -> tuple[str, str] | None:
    """Name the classic latency mistake that gives ``got``, with its hint."""
    guesses = (
        (
            n * per,
            N_("that is the N copies alone: the fixed cost of the message is missing"),
            N_("The room pays fixed_ms once per message (read, encode, frame), before any copy."),
        ),
        (
            fixed + per,
            N_("that is the cost of one copy: N is left out"),
            N_(
                "The copies go out one after the other, so the last receiver waits for all N "
                "of them: fixed_ms + receivers * per_receiver_ms."
            ),
        ),
        (
            fixed + (n - 1) * per,
            N_("that is the wait before the last copy starts: the last receiver's own is missing"),
            N_("The last receiver has the message once its own copy is written too: N copies."),
        ),
        (
            n * (fixed + per),
            N_("that pays the fixed cost once per receiver"),
            N_(
                "The room reads, encodes and frames a message once for everyone "
                "(App.broadcast); only the copies cost per receiver."
            ),
        ),
    )
    for value, why, advice in guesses:
        if _close(got, value):
            return _(why), _(advice)
    return None


def _rate_mistake(n: int, per: float, latency: float, got: float) -> tuple[str, str] | None:
    """Name the classic throughput mistake that gives ``got``, with its hint."""
    guesses = (
        (
            1000 / latency,
            N_("that is messages per second: each message is N deliveries"),
            N_(
                "Every latency_ms milliseconds, `receivers` deliveries arrive: "
                "receivers / latency_ms * 1000."
            ),
        ),
        (
            n / latency,
            N_("that is deliveries per millisecond"),
            N_("latency_ms is in milliseconds: multiply by 1000 for deliveries per second."),
        ),
        (
            1000 / per,
            N_("that is the limit the rate approaches when N is very large, not its value here"),
            N_("For these N receivers: receivers / latency_ms * 1000, with the fixed cost in."),
        ),
    )
    for value, why, advice in guesses:
        if _close(got, value):
            return _(why), _(advice)
    return None


@lesson.exercise(
    hint=N_(
        "Latency: the room pays fixed_ms once per message, then per_receiver_ms for each\n"
        "receiver's copy, one copy after the other, so the last receiver has it after\n"
        "fixed_ms + receivers * per_receiver_ms.\n"
        "Throughput: the sender sends the next message once everyone has this one, so every\n"
        "latency_ms milliseconds `receivers` deliveries arrive: receivers / latency_ms * 1000\n"
        "per second. Return both: return latency_ms, deliveries_per_s"
    ),
    solution=(solutions.fanout_model,),
)
def fanout_model(my_fanout_model: Any) -> str:
    """Check ``fanout_model(receivers, fixed_ms, per_receiver_ms) -> (latency_ms, rate)``."""
    for n, fixed, per in MODEL_CASES:
        want_latency, want_rate = solutions.fanout_model(n, fixed, per)
        label = f"fanout_model({n}, {fixed}, {per})"
        expected = f"({want_latency:.4g}, {want_rate:.4g})"
        got = call(my_fanout_model, n, fixed, per, name="fanout_model")
        pair = tuple(got) if isinstance(got, tuple | list) else None
        if pair is None or len(pair) != 2 or not all(map(_number, pair)):
            raise WrongAnswer(
                _(
                    "{call} returned {got}; expected two numbers "
                    "(latency_ms, deliveries_per_s) = {want}"
                ).format(call=label, got=show(got), want=expected),
                hint=_("End with `return latency_ms, deliveries_per_s`."),
            )
        latency, rate = pair
        if _close(latency, want_latency) and _close(rate, want_rate):
            continue
        tried = _("{call} returned {got}\nexpected {want}").format(
            call=label, got=f"({latency:.4g}, {rate:.4g})", want=expected
        )
        if _close(latency, want_rate) and _close(rate, want_latency):
            raise WrongAnswer(
                f"{tried}\n" + _("the two values are the right ones, in the other order"),
                hint=_("Return latency_ms first, then deliveries_per_s."),
            )
        if not _close(latency, want_latency):
            mistake = _latency_mistake(n, fixed, per, latency)
            wrong = _("latency_ms is {got}, expected {want}").format(
                got=f"{latency:.4g}", want=f"{want_latency:.4g}"
            )
        else:
            mistake = _rate_mistake(n, per, want_latency, rate)
            wrong = _("deliveries_per_s is {got}, expected {want}").format(
                got=f"{rate:.4g}", want=f"{want_rate:.4g}"
            )
        what = f"{tried}\n{wrong}"
        if mistake is None:
            raise WrongAnswer(what)
        raise WrongAnswer(f"{what}\n{mistake[0]}", hint=mistake[1])
    return _(
        "{count} rooms, from 1 receiver to 1000, predicted right. Latency grows "
        "in a straight line with N (every copy adds per_receiver_ms), while throughput "
        "rises, then levels off near 1000 / per_receiver_ms deliveries/s: the fixed cost "
        "is shared by more receivers, but each copy still costs its write. Those are the "
        "shapes of the two plots above."
    ).format(count=len(MODEL_CASES))
