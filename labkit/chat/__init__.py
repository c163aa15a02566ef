"""The chat room of lesson 3: protocol, room state, server and page.

* :mod:`labkit.chat.protocol`: the JSON wire protocol both ways, requests and
  events, parse, encode and decode (no I/O).
* :mod:`labkit.chat.room`: members, history and flood control (no I/O).
* :mod:`labkit.chat.app`: :func:`chat_app`, the room served over WebSockets,
  with its page at ``GET /``.

The server (``ChatApp``, ``chat_app``) loads on first use, so a client that
only speaks the protocol (``import labkit.chat.protocol``) pulls in neither
asyncio nor websockets.
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
