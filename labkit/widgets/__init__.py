"""Notebook widgets: the chat panel (a WebSocket client) and its layout helper."""

from .layout import side_by_side
from .messages import ChatMessage
from .panel import ChatPanel

__all__ = ["ChatMessage", "ChatPanel", "side_by_side"]
