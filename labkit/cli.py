"""``python -m labkit serve KIND``: run one of the kit's servers from a terminal.

Prints ``listening on ws://HOST:PORT/`` once the server is ready (with
``--port 0`` the port the system picked), logs every connection like the
tutorial's ``console.log``, and stops cleanly on Ctrl-C: every client gets a
close frame with 1001 "going away" (RFC 6455, section 7.4.1).

``serve chat --redis redis://HOST:6379/0`` keeps the chat rooms in Redis, so
that every process started with the same URL, on this machine or another,
serves the same rooms (:mod:`labkit.chat.redis`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .errors import LabkitError
from .runner import Servable, start

__all__ = ["SERVERS", "main"]


def _echo(args: argparse.Namespace) -> Servable:
    from .echo import echo_app

    return echo_app(origins=args.origins or "same-host")


def _chat(args: argparse.Namespace) -> Servable:
    from .chat import chat_app

    options: dict[str, Any] = {"max_rooms": args.max_rooms}
    if args.redis:
        options["redis"] = args.redis
        options["presence_timeout"] = args.presence_timeout
    return chat_app(origins=args.origins or "same-host", **options)


def _raw_echo(args: argparse.Namespace) -> Servable:
    from .raw import RawEchoServer

    return RawEchoServer()


#: The servers ``serve`` knows, by name.
SERVERS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "echo": _echo,
    "chat": _chat,
    "raw-echo": _raw_echo,
}


def _origins(value: str) -> list[str]:
    """``--origin a,b``: the same host is always allowed; these are extra."""
    return [origin.strip() for origin in value.split(",") if origin.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labkit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run a server until Ctrl-C")
    serve.add_argument("kind", choices=sorted(SERVERS), help="which server to run")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default 127.0.0.1; 0.0.0.0 lets your whole network in)",
    )
    serve.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port)")
    serve.add_argument(
        "--origin",
        dest="origins",
        type=_origins,
        default=None,
        help="extra browser Origins allowed, comma-separated (default: same host only)",
    )
    chat = serve.add_argument_group("chat")
    chat.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help="keep the rooms in Redis (redis://HOST:6379/0), shared by every server on that URL",
    )
    chat.add_argument(
        "--max-rooms",
        type=int,
        default=100,
        help="rooms under /rooms/ open at once (default 100)",
    )
    chat.add_argument(
        "--presence-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="with --redis: users of a server that died leave within this (default 15)",
    )
    serve.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.kind != "chat" and args.redis:
        parser.error("--redis only applies to `serve chat`")
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        handle = start(SERVERS[args.kind](args), host=args.host, port=args.port)
    except (LabkitError, OSError, ImportError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # (The all-interfaces warning is logged once, by labkit.start.)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"listening on {handle.url}", flush=True)
        if handle.shared:
            print(handle.join_links().terminal(), flush=True)
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", file=sys.stderr, flush=True)
        handle.stop()
        print("stopped", file=sys.stderr, flush=True)
    return 0
