"""Floods: the per-connection rate limit, the 1008 close, and quiet users under fire.

Defaults (labkit.chat.room): every frame costs one token of a bucket of 40
refilled at 20 per second; a frame without a token gets ``rate_limited``; the
201st refusal within 10 seconds closes the connection with 1008 (RFC 6455,
section 7.4.1, policy violation).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect

from labkit import echo_app
from labkit.chat import chat_app
from labkit.chat.room import ABUSE_LIMIT, BURST, RATE
from labkit.logs import KEEP, LINE_LIMIT
from labkit.protocol import Frame
from tests.reliability.helpers import TIMEOUT, RawClient, percentile
from tests.support import wait_handlers_done

ROOT = Path(__file__).resolve().parents[2]


def test_a_flood_gets_rate_limited_then_closed_with_1008(serve, figures) -> None:
    """With the defaults, 1000 frames sent at once: 40-odd pass, 200 are refused, then 1008."""
    handle = serve(chat_app(close_timeout=0.5))  # only the limits are defaults; stop() is quick
    with RawClient.connect(handle.port) as ann, RawClient.connect(handle.port) as flood:
        ann.join("Ann")
        flood.join("Flood")  # one token spent
        assert ann.recv_event()["name"] == "Flood"
        burst = b"".join(
            Frame.text(json.dumps({"type": "message", "text": f"m{n}"})).serialize(mask=True)
            for n in range(1000)
        )
        started = time.monotonic()
        with contextlib.suppress(ConnectionError):  # the server may close mid-burst
            flood.sock.sendall(burst)
        refused = []
        while (frame := flood.recv()).opcode.name == "TEXT":
            refused.append(json.loads(frame.payload))
        elapsed = time.monotonic() - started
        flood.close_frame()  # behind ~800 unread frames: the server cuts TCP at close_timeout
        assert frame.opcode.name == "CLOSE"
        assert (int.from_bytes(frame.payload[:2], "big"), frame.payload[2:]) == (
            1008,
            b"too many messages",
        )
        assert len(refused) == ABUSE_LIMIT
        assert {e["code"] for e in refused} == {"rate_limited"}
        assert f"at most {RATE:g} per second" in refused[0]["message"]
        relayed = []
        while (event := ann.recv_event())["type"] == "message":
            relayed.append(int(event["text"][1:]))
        passed = len(relayed)
        # In order and none doubled. Not always m0..mN: a token that refills
        # mid-burst lets a later message through after a refused one.
        assert relayed == sorted(set(relayed))
        assert relayed[: BURST - 1] == list(range(BURST - 1))  # the burst allowance, whole
        assert event == {"type": "leave", "name": "Flood", "count": 1}
        assert time.monotonic() - started < 1.0  # at once, not after close_timeout (5 s)
        assert BURST - 1 <= passed <= BURST - 1 + RATE * elapsed + 1
    figures(
        "rate_limit_defaults",
        {
            "sent": 1000,
            "passed": passed,
            "refused": len(refused),
            "closed_with": 1008,
            "seconds_to_close": round(elapsed, 3),
        },
    )


def test_the_refusal_names_the_rooms_own_limit(serve) -> None:
    """A room built with rate=5 says "at most 5 per second", not the default 20."""
    handle = serve(chat_app(rate=5, burst=1))
    with RawClient.connect(handle.port) as ann:
        ann.join("Ann")
        ann.send_json(type="typing")
        error = ann.recv_event()
        assert error["code"] == "rate_limited"
        assert "at most 5 per second" in error["message"]


async def _join(url: str, name: str) -> ClientConnection:
    ws = await connect(url, open_timeout=TIMEOUT)
    await ws.send(json.dumps({"type": "join", "name": name}))
    while json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))["type"] != "welcome":
        pass
    return ws


async def quiet_pair(url: str, count: int, period: float) -> list[float]:
    """Ann sends Bob ``count`` private pings, one every ``period`` s; Bob answers each.

    Returns the round-trip times Ann measured. Both stay under the room's
    rate limit; any error event fails the test.
    """
    ann, bob = await _join(url, "Ann"), await _join(url, "Bob")
    sent: dict[str, float] = {}
    rtts: list[float] = []
    done = asyncio.Event()

    async def answer() -> None:
        async for raw in bob:
            event = json.loads(raw)
            assert event["type"] != "error", event
            if event["type"] == "message" and event["from"] == "Ann":
                await bob.send(json.dumps({"type": "message", "text": event["text"], "to": "Ann"}))

    async def listen() -> None:
        async for raw in ann:
            event = json.loads(raw)
            assert event["type"] != "error", event
            if event["type"] == "message" and event["from"] == "Bob":
                rtts.append(time.monotonic() - sent[event["text"]])
                if len(rtts) == count:
                    done.set()

    tasks = [asyncio.create_task(answer()), asyncio.create_task(listen())]
    try:
        for n in range(count):
            sent[str(n)] = time.monotonic()
            await ann.send(json.dumps({"type": "message", "text": str(n), "to": "Bob"}))
            # Pacing, not synchronisation: 20 frames per second is the room's limit.
            await asyncio.sleep(period)
        await asyncio.wait_for(done.wait(), TIMEOUT)
    finally:
        # Close while the readers still read: a client that stops reading stops
        # seeing the server's close frame too (websockets pauses at max_queue).
        await ann.close()
        await bob.close()
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, AssertionError):
            raise result
    return rtts


@pytest.mark.load
def test_a_flooder_does_not_hold_up_a_quiet_pair(serve, figures) -> None:
    """While another process floods (reconnecting when closed), a quiet pair's p99 stays < 0.5 s."""
    handle = serve(chat_app(close_timeout=0.5))  # closed flooders linger this long, unread
    count, period = 50, 0.06
    calm = asyncio.run(quiet_pair(handle.url, 20, period))
    flooder = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.flooder", str(handle.port), "4"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert flooder.stdout.readline().strip() == "flooding"
        stormy = asyncio.run(quiet_pair(handle.url, count, period))
        summary = json.loads(flooder.stdout.readline())
        assert flooder.wait(TIMEOUT) == 0
    finally:
        flooder.kill()
        flooder.wait()
    assert len(stormy) == count
    assert percentile(stormy, 0.99) < 0.5
    assert summary["close_codes"].get("1008", 0) >= 1  # the flood was cut, again and again
    figures(
        "flood_latency",
        {
            "calm_p50_ms": round(percentile(calm, 0.5) * 1000, 2),
            "calm_p99_ms": round(percentile(calm, 0.99) * 1000, 2),
            "flood_p50_ms": round(percentile(stormy, 0.5) * 1000, 2),
            "flood_p99_ms": round(percentile(stormy, 0.99) * 1000, 2),
            "flood_max_ms": round(max(stormy) * 1000, 2),
            "round_trips": count,
            "flooder": summary,
        },
    )


def test_an_echo_flood_does_not_push_other_lines_out_of_the_log(serve, figures) -> None:
    """5000 messages at once to the tutorial's echo (which logs each one, as the
    original does): all are echoed; the log keeps the quiet client's line, and
    the flood is written up to the line limit and counted past it."""
    app = echo_app("echo-flood")  # a logger of its own: other tests' echo lines stay out
    handle = serve(app)
    flood_size = 5000
    assert flood_size > 2 * KEEP  # unlimited, the flood would fill the whole log twice over
    with RawClient.connect(handle.port) as quiet, RawClient.connect(handle.port) as flood:
        quiet.send("before the flood")
        assert quiet.recv().payload == b"before the flood"
        burst = b"".join(Frame.text(f"f{n}").serialize(mask=True) for n in range(flood_size))
        started = time.monotonic()
        flood.sock.sendall(burst)
        echoed = [flood.recv().payload for _ in range(flood_size)]
        elapsed = time.monotonic() - started
        assert echoed == [f"f{n}".encode() for n in range(flood_size)]
        flood.close_frame()
        quiet.send("after the flood")
        assert quiet.recv().payload == b"after the flood"
    wait_handlers_done(app)
    lines = handle.logs(last=0)
    assert any("received message: 'before the flood'" in line for line in lines)
    assert any("received message: 'after the flood'" in line for line in lines)
    shown = [line for line in lines if "received message: 'f" in line]
    held = [int(m.group(1)) for m in map(_HELD_BACK.search, lines) if m]
    assert len(shown) + sum(held) == flood_size  # each message: a line, or counted
    assert sum(held) > 0
    figures(
        "echo_flood_log",
        {
            "messages": flood_size,
            "seconds": round(elapsed, 3),
            "lines_written": len(shown),
            "lines_counted": sum(held),
            "limit_per_second": LINE_LIMIT,
        },
    )


_HELD_BACK = re.compile(r"(\d+) more lines not logged")
