"""Kernel → Interrupt stops a blocked cell and leaves the kit working.

Each case runs in a real kernel of this virtualenv: a cell blocks in one of
the kit's waits, prints a marker once it is about to block, and the test
interrupts the kernel (SIGINT, as JupyterLab's Interrupt does) when the marker
arrives. The cell must end in KeyboardInterrupt, and the next cell must still
find the kit serving.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from jupyter_client.manager import KernelManager, start_new_kernel

#: How long the test waits for the interrupted cell's reply: far more than the
#: second a learner should wait, so a loaded machine does not fail it.
REPLY_DEADLINE = 10.0

SETUP = """
import socket
import labkit
from labkit.loadtest import run_fanout
echo = labkit.start(labkit.echo_app(), name="interrupt-echo")
room = labkit.start(labkit.chat_app(rate=None), name="interrupt-room")
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen()  # accepts TCP, never answers the handshake
"""

BLOCKING = {
    "wait_for": """
ws = labkit.WebSocket(echo.url).wait_open()
print("blocking", flush=True)
ws.wait_for(lambda m: False, timeout=120)
""",
    "wait_open": """
ws = labkit.WebSocket(f"ws://127.0.0.1:{silent.getsockname()[1]}/", open_timeout=120)
print("blocking", flush=True)
ws.wait_open(timeout=120)
""",
    "wait_closed": """
ws = labkit.WebSocket(echo.url).wait_open()
print("blocking", flush=True)
ws.wait_closed(timeout=120)
""",
    "load test": """
print("blocking", flush=True)
run_fanout(room.url, receivers=20, messages=10**6)
""",
}

STILL_WORKS = """
check = labkit.WebSocket(echo.url).wait_open()
check.send("still here")
assert check.wait_for(timeout=10) == "still here"
assert {h.name for h in labkit.running()} >= {"interrupt-echo", "interrupt-room"}
"""


@pytest.fixture(scope="module")
def kernel() -> Iterator[tuple[KernelManager, object]]:
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        _run(kc, SETUP)
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run(kc, code: str, timeout: float = 60) -> dict:
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda _msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply


@pytest.mark.parametrize("case", list(BLOCKING))
def test_an_interrupt_stops_a_blocked_cell_and_the_kit_keeps_working(kernel, case: str) -> None:
    """The blocked cell ends in KeyboardInterrupt soon after SIGINT; the kit still serves."""
    km, kc = kernel
    msg_id = kc.execute(BLOCKING[case])
    while True:  # wait for the cell to say it is about to block
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and "blocking" in msg["content"]["text"]:
            break
        assert msg["msg_type"] != "error", msg["content"]
    km.interrupt_kernel()
    interrupted = time.monotonic()
    reply = kc.get_shell_msg(timeout=REPLY_DEADLINE)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=REPLY_DEADLINE)
    took = time.monotonic() - interrupted
    print(f"{case}: interrupted after {took * 1000:.0f} ms")
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    while True:  # the kernel is idle again (it aborts requests that come before)
        msg = kc.get_iopub_msg(timeout=REPLY_DEADLINE)
        ours = msg["parent_header"].get("msg_id") == msg_id
        if ours and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    _run(kc, STILL_WORKS)
