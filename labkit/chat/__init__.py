"""The chat room of lesson 3: protocol, room state, server and page.

* :mod:`labkit.chat.protocol`: the JSON wire protocol, parse and encode (no I/O).
* :mod:`labkit.chat.room`: members, history and flood control (no I/O).
* :mod:`labkit.chat.app`: :func:`chat_app`, the room served over WebSockets,
  with its page at ``GET /``.
"""

from labkit.chat.app import ChatApp, chat_app
from labkit.chat.protocol import ChatError, ErrorCode
from labkit.chat.room import Room

__all__ = ["ChatApp", "ChatError", "ErrorCode", "Room", "chat_app"]
