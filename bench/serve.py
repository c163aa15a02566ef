"""Run one server under test in its own process: ``python -m bench.serve KIND``.

The benchmark never runs a server in the process that generates the load:
they would share one interpreter lock and measure each other. This module is
the server side. It prints ``listening on ws://HOST:PORT/`` once the server
is ready and runs until its standard input closes (or SIGTERM).

Kinds:

* ``kit-echo``: :func:`labkit.echo_app`, served with :func:`labkit.start`
  exactly as a notebook or ``python -m labkit serve echo`` does;
* ``kit-echo-every``: the same echo with ``log_limit=None``, writing every
  message's log line (the default writes 20 a second per connection);
* ``kit-chat``: :func:`labkit.chat_app` the same way, with its flood limits
  raised so that one sender may publish as fast as the room can relay; with
  ``LABKIT_BENCH_REDIS=redis://...`` in the environment, on the Redis
  backplane (``chat_app(redis=...)``), so that several such processes serve
  one room;
* ``bare-echo`` and ``bare-room``: the references of :mod:`bench.bare`,
  on a plain asyncio loop in the main thread.

``LABKIT_LOOP=uvloop`` makes the kit's loop a uvloop one (see
:mod:`labkit.runner`); the bare references always use asyncio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

__all__ = ["KINDS", "main"]

#: The server kinds this module runs.
KINDS = ("kit-echo", "kit-echo-every", "kit-chat", "bare-echo", "bare-room")

#: Flood limits high enough never to refuse a benchmark sender.
UNLIMITED = 1e9


def _wait_for_eof(stop: Callable[[], None]) -> None:
    """Call ``stop`` once stdin closes: the parent died or is done with us."""

    def watch() -> None:
        sys.stdin.buffer.read()
        stop()

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def _serve_kit(kind: str, host: str, port: int) -> None:
    import labkit

    if kind == "kit-echo":
        app = labkit.echo_app()
    elif kind == "kit-echo-every":
        app = labkit.echo_app(log_limit=None)
    else:
        redis = os.environ.get("LABKIT_BENCH_REDIS") or None
        app = labkit.chat_app(rate=UNLIMITED, burst=UNLIMITED, abuse_limit=10**9, redis=redis)
    handle = labkit.start(app, host=host, port=port)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    _wait_for_eof(done.set)
    print(f"listening on {handle.url}", flush=True)
    done.wait()
    handle.stop()


def _serve_bare(kind: str, host: str, port: int) -> None:
    from bench.bare import bare_echo, bare_room

    async def run() -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, done.set)
        _wait_for_eof(lambda: loop.call_soon_threadsafe(done.set))
        server = await (bare_echo if kind == "bare-echo" else bare_room)(host, port)
        sock = next(iter(server.sockets))
        print(f"listening on ws://{host}:{sock.getsockname()[1]}/", flush=True)
        await done.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(run())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.kind.startswith("kit-"):
        _serve_kit(args.kind, args.host, args.port)
    else:
        _serve_bare(args.kind, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
