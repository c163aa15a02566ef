"""The one exception tree of labkit.

Every error the kit raises on purpose derives from :class:`LabkitError`, so a
learner (or a test) can catch them all with one ``except``. Errors that map to
a WebSocket close code (RFC 6455, section 7.4.1) or an HTTP status carry it, so
the layer that catches them knows what to send without a lookup table::

    LabkitError
    ├── ServerError                      background servers (labkit.runner)
    │   ├── PortInUseError               the port is held by another program
    │   ├── KitLoopError                 misuse of the kit's event loop
    │   └── RedisNotFoundError           no redis-server to start (labkit.chat.local_redis);
    │                                    the message says how to install it
    ├── HandshakeRefused                 a before-handshake hook said no (.status)
    ├── ProtocolError                    RFC 6455 violations (.close_code)
    │   ├── HandshakeError               bad opening handshake (.status, .header);
    │   │   │                            also a Host or Origin the server refuses
    │   │   └── UnsupportedVersion       Sec-WebSocket-Version is not 13 (426)
    │   ├── FrameError                   malformed or illegal frame (1002)
    │   ├── InvalidUTF8                  text that is not UTF-8 (1007)
    │   └── MessageTooBig                over the size limit (1009)
    ├── IncompleteFrame                  more bytes needed (labkit.protocol.frames;
    │                                    also a ValueError)
    ├── ChatError                        a chat frame breaks the chat protocol (.code;
    │                                    labkit.chat.protocol)
    ├── BackplaneError                   the rooms' shared store (Redis) is unreachable
    │                                    or slow (labkit.chat.redis; learners get an
    │                                    "unavailable" event, never this)
    ├── LoadTestError                    a load test failed: refused, server gone,
    │                                    nothing listening (labkit.loadtest)
    ├── ClientError                      labkit.WebSocket, the browser-style client
    │   ├── InvalidStateError            send() while CONNECTING, and friends
    │   └── InvalidAccessError           close() with a code the browser forbids
    └── ExerciseError                    an exercise checker could not run at all
        ├── WrongAnswer                  the learner's code gave a wrong result
        └── NotAttempted                 the exercise cell still holds its placeholder

The names of the client errors follow the DOM exceptions a browser raises in
the same situations, so the Python client reads like the JavaScript one.

An error's message is in the language the kit speaks when it is raised
(:mod:`labkit.i18n`). What an error puts on the wire (the body of an HTTP
refusal, the reason of a close frame, a chat error event) stays English in
every language: :attr:`ProtocolError.english` and ``ChatError.message`` keep it.
"""

from __future__ import annotations

from collections.abc import Mapping

from .i18n import N_, _

__all__ = [
    "BackplaneError",
    "ClientError",
    "ExerciseError",
    "FrameError",
    "HandshakeError",
    "HandshakeRefused",
    "InvalidAccessError",
    "InvalidStateError",
    "InvalidUTF8",
    "KitLoopError",
    "LabkitError",
    "LoadTestError",
    "MessageTooBig",
    "PortInUseError",
    "ProtocolError",
    "RedisNotFoundError",
    "ServerError",
    "UnsupportedVersion",
    "in_both",
]


def in_both(message: str, values: Mapping[str, object]) -> tuple[str, str]:
    """``message`` filled in with ``values``: in the language spoken now, and in English.

    ``message`` is the English ``msgid`` (marked with ``N_`` where it is written);
    it is formatted only when there are ``values``, so text from elsewhere
    (braces and all) passes through unchanged.

    Returns:
        ``(shown, english)``: what a learner reads, and what goes on the wire.
    """
    shown = _(message) if message else message
    if not values:
        return shown, message
    return shown.format(**values), message.format(**values)


class LabkitError(Exception):
    """Base class of every error raised by labkit."""


# --- servers -----------------------------------------------------------------


class ServerError(LabkitError):
    """A background server could not be started, stopped or found."""


class PortInUseError(ServerError, OSError):
    """The requested port is held by a program that is not a labkit server.

    Also an :class:`OSError`, so code written for ``socket.bind`` still works.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(
            _(
                "port {port} on {host} is already in use by another program "
                "(not a labkit server in this kernel). Stop that program, pick "
                "another port, or pass port=0 to let the system choose a free one."
            ).format(port=port, host=host)
        )


class KitLoopError(ServerError):
    """The kit's event loop was used in a way that cannot work.

    For example, calling a blocking helper from inside a coroutine that runs on
    the kit's own loop would wait for itself forever.
    """


class RedisNotFoundError(ServerError, FileNotFoundError):
    """There is no ``redis-server`` to start (:mod:`labkit.chat.local_redis`).

    Also a :class:`FileNotFoundError`, as ``subprocess`` would raise. The
    message names the binary looked for and the three usual ways to install it.

    Attributes:
        binary: the program looked for (a name on ``PATH``, or a path).
    """

    def __init__(self, binary: str) -> None:
        self.binary = binary
        super().__init__(
            _(
                "cannot start Redis: no {binary} found (on PATH or as a file). Install it "
                "with one of: `apt-get install redis-server` (Debian, Ubuntu), "
                "`conda install -c conda-forge redis-server` (conda, Binder), "
                "`brew install redis` (macOS); or pass binary='/path/to/redis-server' "
                "(or set LABKIT_REDIS_SERVER)."
            ).format(binary=repr(binary))
        )

    def __str__(self) -> str:  # FileNotFoundError would show "[Errno None] ..."
        return str(self.args[0])


# --- handshakes --------------------------------------------------------------


class HandshakeRefused(LabkitError):
    """Raised by a before-handshake hook to refuse a connection.

    RFC 6455, section 4.2.2: a server that does not accept the connection
    answers with an ordinary HTTP status instead of ``101 Switching Protocols``.

    Attributes:
        status: the HTTP status to answer with (e.g. 401, 403).
        reason: a short human text, sent as the response body.
    """

    def __init__(self, status: int, reason: str = "") -> None:
        self.status = int(status)
        self.reason = reason
        super().__init__(f"{self.status} {reason}".strip())


# --- protocol ----------------------------------------------------------------


class ProtocolError(LabkitError):
    """The peer broke RFC 6455.

    ``message`` is the English text (marked with ``N_``), its ``{name}``
    placeholders filled in from ``values`` (none may be called ``close_code``);
    ``str(error)`` is it in the language spoken when it was raised.

    Attributes:
        close_code: the close code to send before failing the connection
            (RFC 6455, section 7.4.1). 1002 unless a subclass says otherwise.
        english: the message in English, for the wire (an HTTP refusal's body,
            a close frame's reason), whatever language the kit speaks.
    """

    close_code: int = 1002

    def __init__(self, message: str, /, close_code: int | None = None, **values: object) -> None:
        shown, self.english = in_both(message, values)
        super().__init__(shown)
        if close_code is not None:
            self.close_code = close_code


class HandshakeError(ProtocolError):
    """The opening handshake is malformed (RFC 6455, section 4.2.1).

    ``values`` fill in ``message`` as for :class:`ProtocolError` (so no
    placeholder may be called ``header`` or ``status``).

    Attributes:
        status: the HTTP status to answer with (400 unless stated).
        header: the header at fault, or ``None`` for the request line.
    """

    status: int = 400

    def __init__(
        self,
        message: str,
        /,
        *,
        header: str | None = None,
        status: int | None = None,
        **values: object,
    ) -> None:
        super().__init__(message, **values)
        self.header = header
        if status is not None:
            self.status = status


class UnsupportedVersion(HandshakeError):
    """``Sec-WebSocket-Version`` is not 13.

    RFC 6455, section 4.4: the server answers ``426 Upgrade Required`` with a
    ``Sec-WebSocket-Version: 13`` header naming the versions it speaks.
    """

    status = 426

    def __init__(self, version: str | None) -> None:
        super().__init__(
            N_("unsupported Sec-WebSocket-Version {version}; this server speaks 13"),
            header="Sec-WebSocket-Version",
            version=repr(version),
        )
        self.version = version


class FrameError(ProtocolError):
    """A frame breaks the framing rules of RFC 6455, section 5 (close with 1002)."""


class InvalidUTF8(ProtocolError):
    """A text message or close reason is not valid UTF-8.

    RFC 6455, section 8.1: the endpoint fails the connection with 1007.
    """

    close_code = 1007


class MessageTooBig(ProtocolError):
    """A message is larger than the endpoint accepts.

    RFC 6455, section 7.4.1: close code 1009 ("message too big").
    """

    close_code = 1009


# --- chat backplane ------------------------------------------------------------


class BackplaneError(LabkitError):
    """The store that holds the chat rooms' shared state cannot serve a request.

    :mod:`labkit.chat.redis` raises it inside the server when Redis is down,
    restarting, or slower than the outbox allows; the room turns it into an
    ``{"type": "error", "code": "unavailable"}`` event for the sender (or a
    ``503`` for a handshake), so it never reaches a learner's code.
    """


# --- client ------------------------------------------------------------------


class ClientError(LabkitError):
    """Misuse of :class:`labkit.WebSocket`, the browser-style client."""


class InvalidStateError(ClientError):
    """The call is not allowed in the connection's current ``readyState``."""


class InvalidAccessError(ClientError):
    """``close()`` was given a code a browser would refuse (1000 or 3000-4999 only)."""


# --- load tests --------------------------------------------------------------


class LoadTestError(LabkitError):
    """A load test could not run or was refused; the message says why, in one line."""


# --- exercises ---------------------------------------------------------------


class ExerciseError(LabkitError):
    """An exercise checker could not run the learner's code at all."""
