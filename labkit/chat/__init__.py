"""The chat room of lesson 3: protocol, room state, server and page.

* :mod:`labkit.chat.protocol`: the JSON wire protocol both ways, requests and
  events, parse, encode and decode (no I/O); :mod:`labkit.chat.quoting`: how
  its error messages quote what a client sent.
* :mod:`labkit.chat.room`: a room's state machine, per connection (no I/O);
  :mod:`labkit.chat.limits`: its flood control.
* :mod:`labkit.chat.ledger`: what a room holds in common (members, unique
  names, history) and the events that change it, in one order (no I/O).
* :mod:`labkit.chat.backplane`: where that lives: this process, or
  :mod:`labkit.chat.redis` (Redis, for rooms served by several processes;
  its keys and Lua scripts in :mod:`labkit.chat.redis_lua`, its bounded
  outbox in :mod:`labkit.chat.outbox`).
* :mod:`labkit.chat.app`: :func:`chat_app`, the rooms served over WebSockets
  (``/`` and ``/rooms/NAME``), with their page at the same paths.

The server (``ChatApp``, ``chat_app``) loads on first use, so a client that
only speaks the protocol (``import labkit.chat.protocol``) pulls in neither
asyncio nor websockets, and redis-py loads only for ``chat_app(redis=...)``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from labkit.chat.protocol import ChatError, ErrorCode
from labkit.chat.room import Room

if TYPE_CHECKING:
    from labkit.chat.app import ChatApp, chat_app

__all__ = ["ChatApp", "ChatError", "ErrorCode", "Room", "chat_app"]

_LAZY = {"ChatApp", "chat_app"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module("labkit.chat.app"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name == "app":  # the submodule, as ``labkit.chat.app`` after ``import labkit.chat``
        return importlib.import_module("labkit.chat.app")
    raise AttributeError(f"module 'labkit.chat' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
