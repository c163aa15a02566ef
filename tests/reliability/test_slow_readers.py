"""Slow readers: 5 stalled clients among 100 healthy ones while 20 000 messages of 2 KB go out.

A client that stops reading must not make the server hold everything sent to
it: once more than ``max_buffer`` bytes wait unsent for it (on top of what the
kernel's socket buffers took), the server cuts it off and the room announces
that it left. Everyone else keeps receiving every message.

The server runs in a process of its own (``serve_chat``), so its peak memory
(VmHWM) is its own; the 106 clients share one selector loop in the test, each
healthy one counting frames by their length headers (RFC 6455, section 5.2)
without decoding the 2 KB payloads.
"""

from __future__ import annotations

import contextlib
import json
import selectors
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labkit.protocol import Frame
from tests.reliability.helpers import RawClient

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 20_000
TEXT = "x" * 2000  # about 2 KB per message event on the wire
HEALTHY = 100
STALLED = 5
WINDOW = 500  # messages the sender may be ahead of the slowest healthy reader
DEADLINE = 90.0  # seconds for the whole storm before the test gives up


def scan(data: bytes) -> tuple[int, list[bytes], bytes]:
    """Split server frames: count the big ones, return the small payloads and the rest.

    Server frames are unmasked (RFC 6455, section 5.1), so a frame is its
    2-, 4- or 10-byte header plus the payload length it names.
    """
    big, small, i, n = 0, [], 0, len(data)
    while n - i >= 2:
        length, head = data[i + 1], 2
        if length == 126:
            if n - i < 4:
                break
            length, head = (data[i + 2] << 8) | data[i + 3], 4
        elif length == 127:
            if n - i < 10:
                break
            length, head = int.from_bytes(data[i + 2 : i + 10], "big"), 10
        end = i + head + length
        if end > n:
            break
        if length >= 126:
            big += 1
        else:
            small.append(data[i + head : end])
        i = end
    return big, small, data[i:]


class Server:
    """The chat server subprocess and its ``stats`` line protocol."""

    def __init__(self, log: Path, **options: object) -> None:
        self.log = log
        with log.open("w") as stderr:  # a file, not a pipe: a full pipe would block the server
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.serve_chat", json.dumps(options)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.started = json.loads(self.proc.stdout.readline())
        self.port: int = self.started["port"]

    def stats(self) -> dict[str, int]:
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        try:
            self.proc.stdin.write("exit\n")
            self.proc.stdin.flush()
            self.proc.wait(30)
        finally:
            self.proc.kill()
            self.proc.wait()


@pytest.mark.load
def test_stalled_readers_are_cut_off_and_memory_stays_bounded(figures, tmp_path) -> None:
    """5 stalled readers are dropped with leave notices; 100 get all 20 000; memory is bounded."""
    server = Server(tmp_path / "server.log", rate=1e9, burst=1e9, ping_interval=None)
    clients: list[RawClient] = []
    try:
        healthy = [RawClient.connect(server.port) for _ in range(HEALTHY)]
        stalled = [RawClient.connect(server.port) for _ in range(STALLED)]
        sender = RawClient.connect(server.port)
        clients = [*healthy, *stalled, sender]
        for n, client in enumerate(healthy):
            client.join(f"healthy{n}")
        for n, client in enumerate(stalled):
            client.join(f"stalled{n}")  # and from now on it reads nothing
        sender.join("sender")
        before = server.stats()

        selector = selectors.DefaultSelector()
        for n, client in enumerate(healthy):
            client.sock.setblocking(False)
            selector.register(client.sock, selectors.EVENT_READ, n)
        sender.sock.setblocking(False)
        frame = Frame.text(json.dumps({"type": "message", "text": TEXT})).serialize(mask=True)
        counts = [0] * HEALTHY
        rests = [b""] * HEALTHY
        leaves: dict[str, list[int]] = {}  # stalled name -> message count at each leave notice
        sent = 0
        out = bytearray()
        started = time.monotonic()
        while (slowest := min(counts)) < MESSAGES:
            assert time.monotonic() - started < DEADLINE, f"stuck at {slowest} of {MESSAGES}"
            while sent < MESSAGES and sent - slowest < WINDOW and len(out) < 1 << 16:
                out += frame
                sent += 1
            if out:
                with contextlib.suppress(BlockingIOError):
                    del out[: sender.sock.send(out)]
            for key, _ in selector.select(timeout=0.05 if out else 1.0):
                n = key.data
                data = key.fileobj.recv(1 << 18)
                assert data, f"healthy{n} was disconnected"
                big, small, rests[n] = scan(rests[n] + data)
                counts[n] += big
                for payload in small:
                    event = json.loads(payload)
                    if event["type"] == "leave":
                        leaves.setdefault(event["name"], []).append(counts[n])
        elapsed = time.monotonic() - started
        after = server.stats()

        # Every stalled reader was announced as gone, to every healthy one.
        assert sorted(leaves) == [f"stalled{n}" for n in range(STALLED)]
        assert all(len(seen) == HEALTHY for seen in leaves.values())
        # From its side, each stalled socket ends (reset or end of stream).
        for client in stalled:
            client.sock.settimeout(10)
            try:
                while client.sock.recv(1 << 20):
                    pass
            except ConnectionResetError:
                pass
        assert (after["users"], after["connections"]) == (HEALTHY + 1, HEALTHY + 1)
        growth_mib = (after["vmhwm_kib"] - before["vmhwm_kib"]) / 1024
        unbounded_mib = STALLED * MESSAGES * len(frame) / (1 << 20)
        assert growth_mib < 64, growth_mib  # holding it all would take ~200 MiB
        cut_after = sorted(min(seen) for seen in leaves.values())
        figures(
            "slow_readers",
            {
                "messages": MESSAGES,
                "message_bytes": len(frame) - 6,  # minus the client's header and mask
                "healthy": HEALTHY,
                "stalled": STALLED,
                "seconds": round(elapsed, 2),
                "deliveries_per_second": round(MESSAGES * HEALTHY / elapsed),
                "stalled_cut_after_messages": cut_after,
                "stalled_cut_after_mib": [round(m * len(frame) / (1 << 20), 1) for m in cut_after],
                "server_rss_mib_before": round(before["vmrss_kib"] / 1024, 1),
                "server_peak_growth_mib": round(growth_mib, 1),
                "unbounded_would_be_mib": round(unbounded_mib),
            },
        )
    finally:
        for client in clients:
            client.close()
        server.stop()
    log = server.log.read_text()
    # Each cut-off is said once; nothing is written to a socket already cut off.
    assert log.count("disconnecting a slow reader") == STALLED, log[-2000:]
    assert "socket.send() raised exception" not in log
