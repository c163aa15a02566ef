"""Lesson 4's checker accepts the reference fan-out model and names each typical mistake."""

from __future__ import annotations

import pytest

from labkit.exercises import lesson4 as ex
from labkit.exercises.solutions import lesson4 as solutions

from .helpers import accepted, chinese_verdict, not_attempted, rejected


def test_fanout_model_accepts_the_reference() -> None:
    """The reference model passes, and the praise says which curve grows and which levels off."""
    result = ex.check.fanout_model(solutions.fanout_model)
    accepted(result)
    assert "straight line" in result.message and "levels off" in result.message


def test_the_reference_predicts_the_lessons_curves() -> None:
    """In the model latency grows linearly with N; throughput rises towards 1000 / per ms."""
    curve = [solutions.fanout_model(n, 2.0, 0.1) for n in (1, 10, 100, 1000, 10_000)]
    latencies = [latency for latency, _ in curve]
    rates = [rate for _, rate in curve]
    assert latencies == sorted(latencies) and latencies[-1] == pytest.approx(1002.0)
    assert rates == sorted(rates) and rates[-1] < 1000 / 0.1
    assert rates[-1] == pytest.approx(1000 / 0.1, rel=0.01)


def model_without_fixed_cost(receivers, fixed_ms, per_receiver_ms):
    latency = receivers * per_receiver_ms
    return latency, receivers / latency * 1000


def model_without_n(receivers, fixed_ms, per_receiver_ms):
    latency = fixed_ms + per_receiver_ms
    return latency, receivers / latency * 1000


def model_one_copy_short(receivers, fixed_ms, per_receiver_ms):
    latency = fixed_ms + (receivers - 1) * per_receiver_ms
    return latency, receivers / latency * 1000


def model_fixed_cost_per_receiver(receivers, fixed_ms, per_receiver_ms):
    latency = receivers * (fixed_ms + per_receiver_ms)
    return latency, receivers / latency * 1000


def model_messages_per_second(receivers, fixed_ms, per_receiver_ms):
    latency = fixed_ms + receivers * per_receiver_ms
    return latency, 1000 / latency


def model_per_millisecond(receivers, fixed_ms, per_receiver_ms):
    latency = fixed_ms + receivers * per_receiver_ms
    return latency, receivers / latency


def model_the_limit(receivers, fixed_ms, per_receiver_ms):
    return fixed_ms + receivers * per_receiver_ms, 1000 / per_receiver_ms


def model_swapped(receivers, fixed_ms, per_receiver_ms):
    return tuple(reversed(solutions.fanout_model(receivers, fixed_ms, per_receiver_ms)))


def model_latency_only(receivers, fixed_ms, per_receiver_ms):
    return fixed_ms + receivers * per_receiver_ms


def model_strings(receivers, fixed_ms, per_receiver_ms):
    return tuple(f"{v:.1f}" for v in solutions.fanout_model(receivers, fixed_ms, per_receiver_ms))


@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (model_without_fixed_cost, ("latency_ms is 1, expected 3", "fixed cost", "missing")),
        (model_without_n, ("latency_ms is 2.1, expected 3", "N is left out", "one after")),
        (model_one_copy_short, ("latency_ms is 2.9, expected 3", "last receiver's own")),
        (model_fixed_cost_per_receiver, ("latency_ms is 21", "once per receiver")),
        (model_messages_per_second, ("deliveries_per_s is 333.3", "messages per second")),
        (model_per_millisecond, ("deliveries_per_s is 3.333", "per millisecond", "1000")),
        (model_the_limit, ("deliveries_per_s is 1e+04", "the limit the rate approaches")),
        (model_swapped, ("returned (3333, 3)", "in the other order")),
        (model_latency_only, ("returned 3.0", "two numbers", "(3, 3333)")),
        (model_strings, ("returned ('3.0', '3333.3')", "two numbers")),
    ],
)
def test_fanout_model_rejects_a_mistake(mistake: object, fragments: tuple[str, ...]) -> None:
    """Each typical mistake shows the inputs and expected vs got first, then names itself."""
    rejected(ex.check.fanout_model(mistake), "fanout_model(10, 2.0, 0.1)", *fragments)


def model_off(receivers, fixed_ms, per_receiver_ms):
    latency, rate = solutions.fanout_model(receivers, fixed_ms, per_receiver_ms)
    return latency * 1.5, rate


def test_an_unknown_mistake_still_shows_the_difference() -> None:
    """A wrong value no guess explains is still shown against the expected one, with the hint."""
    result = ex.check.fanout_model(model_off)
    rejected(result, "latency_ms is 4.5, expected 3", "fixed_ms + receivers * per_receiver_ms")


def model_placeholder(receivers, fixed_ms, per_receiver_ms): ...


def test_fanout_model_untouched_is_not_attempted() -> None:
    """The notebook's untouched cell gives "not attempted yet"."""
    not_attempted(ex.check.fanout_model(model_placeholder))


# --- in Chinese ----------------------------------------------------------------------


@pytest.mark.usefixtures("chinese")
@pytest.mark.parametrize(
    ("mistake", "fragments"),
    [
        (model_without_fixed_cost, ("latency_ms 是 1，期望 3", "漏掉了消息的固定开销")),
        (model_messages_per_second, ("deliveries_per_s 是 333.3，期望 3333", "每秒的消息数")),
        (model_swapped, ("返回了 (3333, 3)", "两个值都对，但顺序反了")),
    ],
)
def test_a_wrong_model_is_explained_in_chinese(mistake: object, fragments: tuple[str, ...]) -> None:
    """The inputs, the values that came back and were expected, then the cause, in Chinese."""
    result = ex.check.fanout_model(mistake)
    rejected(result)
    chinese_verdict(result, "fanout_model：还不对", "fanout_model(10, 2.0, 0.1)", *fragments)


@pytest.mark.usefixtures("chinese")
def test_an_unknown_mistake_gets_the_chinese_hint() -> None:
    """No guess fits: the difference and the exercise's own hint, both Chinese."""
    result = ex.check.fanout_model(model_off)
    rejected(result)
    chinese_verdict(
        result, "fanout_model：还不对", "期望是 (3, 3333)", "延迟：每条消息聊天室付一次"
    )


@pytest.mark.usefixtures("chinese")
def test_a_right_model_is_praised_in_chinese() -> None:
    """The reference passes, and the ✓ line explains the two curves in Chinese."""
    result = ex.check.fanout_model(solutions.fanout_model)
    accepted(result)
    chinese_verdict(result, "fanout_model：正确！", "延迟随 N 线性增长", "趋于平稳")
