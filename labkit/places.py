"""Where each stopped server listened, so that starting it again takes its URL back.

A learner stops a server (``server.stop()``, ``labkit.stop_all()``) and later
re-runs the cell that started it. Its panels and its page still point at the
old URL: if the new server took a new port they would be stranded, saying
"nothing is listening" for ever. So :func:`labkit.runner.start` with
``port=0`` first asks here where a server of that name last listened, and
binds that port again when it is free (``SO_REUSEADDR`` lets it past the old
connections' TIME_WAIT, RFC 6455 section 7.1.1), with the same secret path.
If another program took the port meanwhile, any free port will do. A server
replaced by a re-run cell while it runs is found here the same way: stopping
it is what records its place.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Place", "recall", "remember"]


@dataclass(frozen=True)
class Place:
    """Where a server listened: its interface, port and secret path (or None)."""

    host: str
    port: int
    secret: str | None


_lock = threading.Lock()
_places: dict[str, Place] = {}


def remember(name: str, place: Place) -> None:
    """Note where the server called ``name`` listened, as it stops."""
    with _lock:
        _places[name] = place


def recall(name: str, host: str) -> Place | None:
    """Where a server called ``name`` last listened on ``host``, if it did."""
    with _lock:
        place = _places.get(name)
    return place if place is not None and place.host == host else None
