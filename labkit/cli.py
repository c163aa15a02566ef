"""``python -m labkit serve KIND``: run one of the kit's servers from a terminal.

Prints ``listening on ws://HOST:PORT/`` once the server is ready (with
``--port 0`` the port the system picked), logs every connection like the
tutorial's ``console.log``, and stops cleanly on Ctrl-C: every client gets a
close frame with 1001 "going away" (RFC 6455, section 7.4.1).

``serve chat --redis redis://HOST:6379/0`` keeps the chat rooms in Redis, so
that every process started with the same URL, on this machine or another,
serves the same rooms (:mod:`labkit.chat.redis`).

Everything it prints and logs, argparse's help and errors included, is in the
kit's language: ``LABKIT_LANG=zh-CN python -m labkit serve echo`` logs the
tutorial's own "WebSocket 连接已建立" (:mod:`labkit.i18n`). So is the ready
line (``正在监听 ws://…``): a program that waits for it should run the server
with ``LABKIT_LANG=en``, or look for the ``ws://`` URL at the end of the line.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .errors import LabkitError
from .i18n import N_, _, ngettext
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


#: argparse's own words that a user of this command meets (Python 3.11's
#: wording), listed for the catalog: :func:`_argparse_speaks_the_kit` has
#: argparse look them up there. Words a later Python changed stay English.
_ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)


@contextlib.contextmanager
def _argparse_speaks_the_kit() -> Iterator[None]:
    """While building and parsing: argparse's own words ("usage:") from the kit's catalog.

    argparse translates them with :mod:`gettext`'s global domain, which has no
    Chinese; its module-level ``_`` is looked up at each call, so it is
    pointed at the kit's catalog for the time being, and put back after.
    """
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._, argparse.ngettext = _, ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m labkit",
        description=_(
            "``python -m labkit serve KIND``: run one of the kit's servers from a terminal."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help=_("run a server until Ctrl-C"))
    serve.add_argument("kind", choices=sorted(SERVERS), help=_("which server to run"))
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help=_("interface to bind (default 127.0.0.1; 0.0.0.0 lets your whole network in)"),
    )
    serve.add_argument("--port", type=int, default=8765, help=_("TCP port (0 = any free port)"))
    serve.add_argument(
        "--origin",
        dest="origins",
        type=_origins,
        default=None,
        help=_("extra browser Origins allowed, comma-separated (default: same host only)"),
    )
    chat = serve.add_argument_group(_("chat"))
    chat.add_argument(
        "--redis",
        metavar="URL",
        default=None,
        help=_("keep the rooms in Redis (redis://HOST:6379/0), shared by every server on that URL"),
    )
    chat.add_argument(
        "--max-rooms",
        type=int,
        default=100,
        help=_("rooms under /rooms/ open at once (default 100)"),
    )
    chat.add_argument(
        "--presence-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help=_("with --redis: users of a server that died leave within this (default 15)"),
    )
    serve.add_argument("-q", "--quiet", action="store_true", help=_("log warnings only"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    with _argparse_speaks_the_kit():
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.kind != "chat" and args.redis:
            parser.error(_("--redis only applies to `serve chat`"))
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        handle = start(SERVERS[args.kind](args), host=args.host, port=args.port)
    except (LabkitError, OSError, ImportError, ValueError) as exc:
        print(_("error: {error}").format(error=exc), file=sys.stderr)
        return 1
    # (The all-interfaces warning is logged once, by labkit.start.)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(_("listening on {url}").format(url=handle.url), flush=True)
        if handle.shared:
            print(handle.join_links().terminal(), flush=True)
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print(_("stopping…"), file=sys.stderr, flush=True)
        handle.stop()
        print(_("stopped"), file=sys.stderr, flush=True)
    return 0
