"""When a panel follows its server, and what it says about it (plain values, no I/O).

A notebook replaces a server when its cell runs again (``labkit.start`` with the
same name): the old server closes every connection with 1001 "going away"
(RFC 6455, section 7.4.1) and the new one opens on the same port, so its URL
stays the same. A panel therefore reconnects by itself after a close it did not
ask for, with a short backoff, and tells what happened:

* a close the user asked for (Disconnect, ``panel.disconnect()``): no reconnection;
* 1001 and the other "try again" codes, or a dropped connection (1006): a few
  attempts, :data:`BACKOFF` seconds apart; the first that opens says
  "reconnected", and when the last fails the panel says that nothing is
  listening any more (the server was stopped, with ``stop()`` or ``stop_all()``);
* any other code (1008 for flooding, 1009 for a message too big...): the
  server meant it, so the panel stays closed.
"""

from __future__ import annotations

from ..i18n import N_, _

__all__ = [
    "BACKOFF",
    "FOLLOW_CODES",
    "connect_failed",
    "disconnected",
    "gave_up",
    "is_refused",
    "reconnected",
    "replaced",
]

#: Close codes after which a panel tries to reconnect: 1001 going away (a server
#: stopped, or replaced by a re-run cell), 1006 dropped without a close frame,
#: 1011 server error, 1012 service restart, 1013 try again later.
FOLLOW_CODES = frozenset({1001, 1006, 1011, 1012, 1013})

#: Seconds before each reconnection attempt; after the last one fails, the panel gives up.
BACKOFF = (0.1, 0.3, 0.6, 1.2)

# How the kit's client words a refused TCP connection (labkit.client puts the
# exception's type and text in WebSocket.error): Linux, macOS and Windows, and
# Python's "Multiple exceptions" when a name resolves to several addresses.
_REFUSED = ("ConnectionRefusedError", "Connect call failed", "[Errno 111]", "[Errno 61]", "10061")

# The line of a close the panel follows, one whole sentence per code; {code} is
# the code and the reason the server gave ("1001 going away"), as received.
_WHY = {
    1001: N_(
        "disconnected ({code}): the server went away (stopped, or replaced by a re-run cell); "
        "reconnecting…"
    ),
    1006: N_("disconnected ({code}): the connection dropped without a close frame; reconnecting…"),
    1011: N_("disconnected ({code}): the server hit an error; reconnecting…"),
    1012: N_("disconnected ({code}): the server is restarting; reconnecting…"),
    1013: N_("disconnected ({code}): the server asks to try again later; reconnecting…"),
}


def is_refused(error: str | None) -> bool:
    """Did the connection fail because nothing listens on that port?"""
    return bool(error) and any(mark in str(error) for mark in _REFUSED)


def _code(code: int, reason: str) -> str:
    return f"{code} {reason}" if reason else str(code)


def disconnected(code: int, reason: str, *, by_user: bool) -> str:
    """The line a close adds: ``disconnected (1001): the server went away…; reconnecting…``.

    A close the user asked for, or one with a code the panel does not follow,
    reads ``disconnected (CODE REASON)`` and nothing more.
    """
    shown = _code(code, reason)
    if by_user or code not in FOLLOW_CODES:
        return _("disconnected ({code})").format(code=shown)
    return _(_WHY[code]).format(code=shown)


def reconnected(url: str) -> str:
    """The line of a reconnection that worked."""
    return _("reconnected to {url}: the server is back at the same URL").format(url=url)


def gave_up(url: str, error: str | None, tries: int) -> str:
    """The line when the last attempt failed: nothing listens, or why not."""
    if error is None or is_refused(error):
        line = _(
            "the server went away: nothing is listening at {url} (tried {tries} times); "
            "press Connect to try again"
        )
        return line.format(url=url, tries=tries)
    line = _(
        "the server went away: could not reconnect to {url} ({error}) (tried {tries} times); "
        "press Connect to try again"
    )
    return line.format(url=url, error=error, tries=tries)


def connect_failed(url: str, error: str | None) -> str:
    """The one line of a first connection that failed."""
    if error is None or is_refused(error):
        line = _("nothing is listening at {url}: is the server running? (labkit.running())")
        return line.format(url=url)
    return _("could not connect to {url}: {error}").format(url=url, error=error)


def replaced(name: str) -> str:
    """The last line of a panel a newer one with the same name took over."""
    return _("closed: a new panel for {name} took over (its cell ran again)").format(name=name)
