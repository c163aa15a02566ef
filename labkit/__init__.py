"""labkit: a lab kit that teaches WebSockets in Jupyter.

The public face, re-exported once here::

    import labkit

    server = labkit.start(labkit.echo_app())      # runs in the background
    ws = labkit.WebSocket(server.url)             # the browser's API, in Python
    ws.onmessage = lambda event: print(event.data)
    ws.wait_open().send("hello")
    server.stop()

Heavier parts load on first use: ``labkit.chat_app``, ``labkit.ChatPanel``,
``labkit.protocol`` (RFC 6455 with no I/O), ``labkit.raw`` (a server written
from scratch on it) and ``labkit.inspector`` (a wire tap).
"""

from __future__ import annotations

import importlib
from typing import Any

from . import errors, logs
from .app import App, Context, HttpResponse
from .client import CloseEvent, Event, MessageEvent, ReadyState, WebSocket
from .echo import echo_app
from .errors import (
    HandshakeRefused,
    InvalidAccessError,
    InvalidStateError,
    LabkitError,
    PortInUseError,
    ProtocolError,
)
from .runner import ServerHandle, running, start, stop_all

__all__ = [
    "App",
    "ChatPanel",
    "CloseEvent",
    "Context",
    "Event",
    "HandshakeRefused",
    "HttpResponse",
    "InvalidAccessError",
    "InvalidStateError",
    "LabkitError",
    "MessageEvent",
    "PortInUseError",
    "ProtocolError",
    "ReadyState",
    "ServerHandle",
    "WebSocket",
    "chat_app",
    "echo_app",
    "errors",
    "logs",
    "running",
    "side_by_side",
    "start",
    "stop_all",
]

__version__ = "0.1.0"

logs.install()

_LAZY = {
    "chat_app": ("labkit.chat", "chat_app"),
    "ChatPanel": ("labkit.widgets", "ChatPanel"),
    "side_by_side": ("labkit.widgets", "side_by_side"),
}
_SUBMODULES = {"protocol", "raw", "inspector", "chat", "widgets", "exercises", "bench", "runner"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name in _SUBMODULES:
        return importlib.import_module(f"labkit.{name}")
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")
