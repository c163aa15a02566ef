"""Notebook widgets: the chat panel (a WebSocket client), its mirrors and layout helpers."""

from .layout import mirrors, side_by_side
from .messages import ChatMessage
from .panel import ChatPanel

__all__ = ["ChatMessage", "ChatPanel", "mirrors", "side_by_side"]
