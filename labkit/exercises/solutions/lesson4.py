"""Reference solution for lesson 4: a model of one message's fan-out, to predict the curves."""

from __future__ import annotations

__all__ = ["fanout_model"]


def fanout_model(receivers: int, fixed_ms: float, per_receiver_ms: float) -> tuple[float, float]:
    """(latency in ms, deliveries per second) of one message sent to ``receivers`` clients."""
    # The room reads, encodes and frames the message once, then writes one copy per receiver,
    # one after the other: the last receiver waits for every copy, its own included.
    latency_ms = fixed_ms + receivers * per_receiver_ms
    # The sender sends the next message once everyone has this one: `receivers` deliveries
    # every latency_ms milliseconds.
    deliveries_per_s = receivers / latency_ms * 1000
    return latency_ms, deliveries_per_s
