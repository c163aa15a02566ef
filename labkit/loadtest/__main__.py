"""``python -m labkit.loadtest SCENARIO URL [JSON options]``: print one JSON result.

The same contract as the repository's ``bench/loadgen.mjs``: ``make bench``
falls back to this when Node is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Sequence
from typing import Any

from labkit.i18n import _
from labkit.loadtest.scenarios import TIMEOUT, _close_all, _storm, echo, fanout, join_storm

__all__ = ["main"]


async def _idle(url: str, clients: int, tag: str) -> dict[str, Any]:
    sockets, result = await _storm(url, clients, tag)
    print(json.dumps({"ready": True, **result.to_json()}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await _close_all(sockets)
    return {"closed": len(sockets)}


def _scenario(name: str, url: str, options: dict[str, Any]) -> Awaitable[Any]:
    tag = str(options.get("tag") or os.getpid())
    if name == "echo":
        return echo(
            url,
            options.get("connections", 16),
            options.get("duration", 3.0),
            options.get("size", 64),
            options.get("warmup", 0.5),
        )
    if name == "fanout":
        return fanout(
            url,
            options.get("receivers", 100),
            options.get("messages", 200),
            window=options.get("window", 16),
            warmup=options.get("warmup"),
            tag=tag,
        )
    if name == "join":
        return join_storm(url, options.get("clients", 1000), tag=tag)
    if name == "idle":
        return _idle(url, options.get("clients", 1000), tag)
    raise SystemExit(
        _("unknown scenario {name!r}: use echo, fanout, join or idle").format(name=name)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m labkit.loadtest SCENARIO URL [JSON options]``: print one JSON result."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print(
            _("usage: python -m labkit.loadtest echo|fanout|join|idle URL [JSON]"), file=sys.stderr
        )
        return 2
    options = json.loads(args[2]) if len(args) > 2 else {}
    timeout = float(options.get("timeout", TIMEOUT))

    async def run() -> Any:
        return await asyncio.wait_for(_scenario(args[0], args[1], options), timeout)

    try:
        result = asyncio.run(run())
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 1
    print(json.dumps(result if isinstance(result, dict) else result.to_json()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
