"""A chat server in a process of its own, so its memory can be read from /proc.

Usage: ``python -m tests.reliability.serve_chat '{"rate": 1e9}'`` (``chat_app``
options as JSON). It prints one JSON line with the port and its memory, then
answers ``stats`` on stdin with another such line, and ``exit`` stops it.
"""

from __future__ import annotations

import json
import sys

import labkit
from labkit import runner
from labkit.chat import chat_app

__all__ = ["memory"]


def memory() -> dict[str, int]:
    """This process's resident memory now and at its peak, in KiB (``/proc/self/status``)."""
    fields = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key.lower() + "_kib"] = int(value.split()[0])
    return fields


async def _room_state(app) -> dict[str, int]:
    return {"users": len(app.room.users), "connections": len(app.connections)}


def main() -> None:
    app = chat_app(**json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))
    handle = labkit.start(app, name="load")
    print(json.dumps({"port": handle.port, **memory()}), flush=True)
    for line in sys.stdin:
        if line.strip() == "stats":
            print(json.dumps({**memory(), **runner.run_sync(_room_state(app))}), flush=True)
        elif line.strip() == "exit":
            break
    handle.stop()


if __name__ == "__main__":
    main()
