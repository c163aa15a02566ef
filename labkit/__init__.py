"""labkit: a lab kit that teaches WebSockets in Jupyter.

The public face, re-exported once here::

    import labkit

    server = labkit.start(labkit.echo_app())      # runs in the background
    ws = labkit.WebSocket(server.url)             # the browser's API, in Python
    ws.onmessage = lambda event: print(event.data)
    ws.wait_open().send("hello")
    server.stop()

``labkit.set_language("zh-CN")`` makes the kit speak Chinese (see
:mod:`labkit.i18n`); ``LABKIT_LANG`` and the locale choose otherwise.

Heavier parts load on first use: ``labkit.chat_app``, ``labkit.ChatPanel``,
``labkit.protocol`` (RFC 6455 with no I/O), ``labkit.raw`` (a server written
from scratch on it) and ``labkit.inspector`` (a wire tap).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import errors
from .errors import (
    HandshakeRefused,
    InvalidAccessError,
    InvalidStateError,
    LabkitError,
    PortInUseError,
    ProtocolError,
)
from .i18n import get_language, set_language

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers
    from .app import App, Context, HttpResponse
    from .chat import chat_app
    from .client import CloseEvent, Event, MessageEvent, ReadyState, WebSocket
    from .echo import echo_app
    from .runner import ServerHandle, running, start, stop_all
    from .widgets import ChatPanel, side_by_side

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
    "get_language",
    "logs",
    "running",
    "set_language",
    "side_by_side",
    "start",
    "stop_all",
]

__version__ = "0.1.0"

# Every name that needs asyncio, websockets or ipywidgets loads on first use,
# so ``import labkit.protocol`` (RFC 6455 with no I/O) stays light, and nothing
# touches logging until a server starts (labkit.runner.start installs the book).
_LAZY = {
    "App": ("labkit.app", "App"),
    "Context": ("labkit.app", "Context"),
    "HttpResponse": ("labkit.app", "HttpResponse"),
    "CloseEvent": ("labkit.client", "CloseEvent"),
    "Event": ("labkit.client", "Event"),
    "MessageEvent": ("labkit.client", "MessageEvent"),
    "ReadyState": ("labkit.client", "ReadyState"),
    "WebSocket": ("labkit.client", "WebSocket"),
    "echo_app": ("labkit.echo", "echo_app"),
    "ServerHandle": ("labkit.runner", "ServerHandle"),
    "running": ("labkit.runner", "running"),
    "start": ("labkit.runner", "start"),
    "stop_all": ("labkit.runner", "stop_all"),
    "chat_app": ("labkit.chat", "chat_app"),
    "ChatPanel": ("labkit.widgets", "ChatPanel"),
    "side_by_side": ("labkit.widgets", "side_by_side"),
}
_SUBMODULES = {
    "app",
    "chat",
    "client",
    "exercises",
    "inspector",
    "loadtest",
    "logs",
    "protocol",
    "raw",
    "runner",
    "widgets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"labkit.{name}")
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
