"""Run the learner's code on a real server and talk to it with real clients.

A live check builds a small :class:`~labkit.app.App` around the learner's
middleware (or hook, or functions), starts it with :func:`labkit.start` under
a name of its own (``exercise-echo-3``: it never replaces a server the learner
started) on a free port, talks to it with blocking ``websockets`` clients, and
stops it on the way out, whatever happened.

A :class:`Probe` stands between the app and the learner's code. It records an
exception the learner's code raised (and closes that connection with 1011,
RFC 6455, section 7.4.1, instead of printing a traceback), and it counts the
connections whose middleware has finished, so a check can wait for the server
side to be done without sleeping.

What a learner reads is translated (:mod:`labkit.i18n`); what goes on the wire
is not: the close reason of a 1011 and the body of a refused handshake stay
English, as every peer expects them.
"""

from __future__ import annotations

import inspect
import itertools
import os
import sysconfig
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from ..app import App, Context, Middleware, Next
from ..errors import HandshakeRefused
from ..i18n import _
from ..runner import ServerHandle, start
from .core import WrongAnswer, show

__all__ = [
    "TIMEOUT",
    "Client",
    "Probe",
    "exercise_app",
    "refused_status",
    "require_async",
    "serving",
]

#: Seconds a check waits for each reply. A right answer never waits this long;
#: only a wrong one (a reply that never comes) does.
TIMEOUT = 2.0

_serial = itertools.count(1)

# Frames from these folders are the kit's, the libraries' or Python's, not the learner's.
_NOT_LEARNER = tuple(
    {
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
        sysconfig.get_paths()["stdlib"] + os.sep,
        sysconfig.get_paths()["purelib"] + os.sep,
        sysconfig.get_paths()["platlib"] + os.sep,
    }
)


def exercise_app(exercise: str) -> App:
    """An app for one check: no Origin check, no keepalive pings (checks are short)."""
    return App(f"exercise-{exercise}", origins=None, ping_interval=None)


@contextmanager
def serving(app: App) -> Iterator[ServerHandle]:
    """Start ``app`` on a free port under a fresh name; always stop it afterwards."""
    handle = start(app, host="127.0.0.1", port=0, name=f"{app.name}-{next(_serial)}")
    try:
        yield handle
    finally:
        handle.stop()


def require_async(fn: Callable[..., Any], name: str, signature: str) -> None:
    """Reject, with a hint, a middleware that is not ``async def name(ctx, next)``."""
    if not inspect.iscoroutinefunction(inspect.unwrap(fn)):
        raise WrongAnswer(
            _("{name} is a plain `def`; a middleware must be `async def {signature}:`").format(
                name=name, signature=signature
            ),
            hint=_(
                "Middleware awaits the network (`await ctx.websocket.send(...)`), so it "
                "must be declared with `async def`."
            ),
        )
    try:
        inspect.signature(fn).bind(None, None)
    except TypeError:
        raise WrongAnswer(
            _("{name} must take two arguments: `async def {signature}:`").format(
                name=name, signature=signature
            ),
            hint=_("Every middleware gets the connection's context and the next middleware."),
        ) from None


def _describe(exc: BaseException) -> str:
    """``TypeError: ... (line 4: await ctx.send(n))``: the error and the learner's line."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if not f.filename.startswith(_NOT_LEARNER)]
    if own and own[-1].line:
        return _("{error} (line {number}: {code})").format(
            error=text, number=own[-1].lineno, code=own[-1].line.strip()
        )
    return text


class _Abort(Exception):
    """Internal: the learner's function raised inside the room; end that connection."""


class Probe:
    """Watches the learner's code while it runs on the server (thread-safe)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.errors: list[str] = []
        self.finished = 0
        self.states: list[dict[str, Any]] = []

    def _record(self, exc: BaseException) -> None:
        with self._changed:
            self.errors.append(_describe(exc))
            self._changed.notify_all()

    @property
    def error(self) -> str | None:
        """The first exception the learner's code raised, described, or ``None``."""
        with self._changed:
            return self.errors[0] if self.errors else None

    def middleware(self, fn: Middleware) -> Middleware:
        """Wrap the learner's middleware: record its exception, count its end."""

        async def learner(ctx: Context, next: Next) -> None:
            try:
                await fn(ctx, next)
            except ConnectionClosed:
                pass  # the client left while the middleware was sending: normal
            except _Abort:  # already recorded where the learner's function raised
                await ctx.websocket.close(1011, "the exercise code raised an exception")
            except Exception as exc:
                self._record(exc)
                await ctx.websocket.close(1011, "the exercise code raised an exception")
            finally:
                with self._changed:
                    self.finished += 1
                    self.states.append(dict(ctx.state))
                    self._changed.notify_all()

        return learner

    def hook(self, fn: Callable[[Context], Any]) -> Callable[[Context], Any]:
        """Wrap the learner's before-handshake hook; its exception becomes a 500."""

        async def learner(ctx: Context) -> None:
            try:
                result = fn(ctx)
                if inspect.isawaitable(result):
                    await result
            except HandshakeRefused:
                raise
            except Exception as exc:
                self._record(exc)
                raise HandshakeRefused(500, "the exercise code raised an exception") from None

        return learner

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call one of the learner's plain functions inside a middleware."""
        try:
            return fn(*args)
        except Exception as exc:
            self._record(exc)
            raise _Abort from exc

    def wait_finished(self, count: int, timeout: float | None = None) -> bool:
        """Wait until ``count`` connections have finished on the server side."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self.finished >= count, TIMEOUT if timeout is None else timeout
            )

    def wrong(self, message: str, hint: str | None = None) -> WrongAnswer:
        """``message`` as a wrong answer, unless the learner's code raised: then that."""
        error = self.error
        if error is not None:
            return WrongAnswer(
                _("your code raised {error}").format(error=error),
                hint=_("Fix the error above first."),
            )
        return WrongAnswer(message, hint)


def refused_status(url: str) -> int | None:
    """Open a handshake to ``url``: ``None`` when accepted (then closed), else the status."""
    try:
        ws = connect(url, open_timeout=TIMEOUT, proxy=None, compression=None, legacy=True)
    except InvalidStatus as refused:
        return refused.response.status_code
    ws.close()
    return None


class Client:
    """A blocking client whose waits fail with a message a learner can act on.

    Args:
        url: the server's URL.
        who: how messages name this client ("the client", "ana"), already
            translated when it is a description rather than a user name.
        probe: the server's probe, whose recorded error wins over any symptom.
    """

    def __init__(self, url: str, who: str, probe: Probe) -> None:
        self.who = who
        self.probe = probe
        try:
            self.ws: ClientConnection = connect(
                url,
                open_timeout=TIMEOUT,
                close_timeout=TIMEOUT,
                ping_interval=None,
                proxy=None,
                compression=None,
                legacy=True,  # a plain connection, closed by close() below
            )
        except (OSError, TimeoutError, InvalidStatus) as exc:
            raise probe.wrong(
                _("{who} could not connect to {url}: {error}").format(who=who, url=url, error=exc)
            ) from None

    def send(self, message: str | bytes, *, closed: str | None = None) -> None:
        """Send one message (text for ``str``, binary for ``bytes``).

        Args:
            message: what to send.
            closed: the hint when the server has already closed the connection.
        """
        try:
            self.ws.send(message)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            raise self.probe.wrong(
                _(
                    "the server closed {who}'s connection (code {code}) before "
                    "{who} could send {message}"
                ).format(who=self.who, code=code, message=show(message)),
                closed,
            ) from None

    def expect(
        self,
        what: str,
        *,
        silent: str | Callable[[], str | None] | None = None,
        closed: str | None = None,
    ) -> str | bytes:
        """Receive the next message, or fail saying ``what`` was awaited.

        Args:
            what: what the client is waiting for ("the echo of 'hello'").
            silent: the hint when nothing comes within :data:`TIMEOUT`, or a
                function that works it out once that has happened.
            closed: the hint when the server closes the connection instead.
        """
        try:
            return self.ws.recv(timeout=TIMEOUT)
        except TimeoutError:
            hint = silent() if callable(silent) else silent
            raise self.probe.wrong(
                _("{who} waited {seconds} s for {what} and nothing came").format(
                    who=self.who, seconds=f"{TIMEOUT:g}", what=what
                ),
                hint,
            ) from None
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            raise self.probe.wrong(
                _(
                    "the server closed {who}'s connection (code {code}) while "
                    "{who} waited for {what}"
                ).format(who=self.who, code=code, what=what),
                closed,
            ) from None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.ws.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
