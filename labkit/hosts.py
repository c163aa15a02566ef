"""The public names under which the learner's browser reaches the kit's loopback servers.

Through jupyter-server-proxy a browser on another machine reaches a server on
the kernel's ``127.0.0.1`` under the hub's own name (``hub.example``); a server
bound to loopback refuses such a Host unless told it is ours
(:mod:`labkit.protocol.policy`, DNS rebinding). Two sources may tell it:

* configuration: ``LABKIT_PUBLIC_HOSTS=hub.example,other.example``;
* the notebook's own front end, over a widget's comm
  (:class:`labkit.widgets.link.PageLink`): a channel only the logged-in
  learner's browser has. Never an HTTP header such as ``X-Forwarded-Host``.

Running servers hear of new names through the listeners registered here
(:mod:`labkit.runner` registers one).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable

__all__ = ["allow_public_hosts", "on_new_hosts", "public_hosts"]

_lock = threading.Lock()
_learned: set[str] = set()
_listeners: list[Callable[[frozenset[str]], None]] = []


def public_hosts() -> frozenset[str]:
    """Every public name: those of ``LABKIT_PUBLIC_HOSTS`` and those learned so far."""
    configured = os.environ.get("LABKIT_PUBLIC_HOSTS", "")
    with _lock:
        learned = set(_learned)
    return frozenset(learned | {h.strip() for h in configured.split(",") if h.strip()})


def allow_public_hosts(hosts: Iterable[str]) -> None:
    """Let every server, running or to come, answer to ``hosts`` under its secret path."""
    new = frozenset(h.strip() for h in hosts if h and h.strip())
    with _lock:
        _learned.update(new)
        listeners = list(_listeners)
    for listener in listeners:
        listener(new)


def forget_public_hosts(hosts: Iterable[str]) -> None:
    """Forget learned names (for tests; running servers keep what they were told)."""
    with _lock:
        _learned.difference_update(hosts)


def on_new_hosts(listener: Callable[[frozenset[str]], None]) -> None:
    """Call ``listener(names)`` whenever names are learned."""
    with _lock:
        _listeners.append(listener)
