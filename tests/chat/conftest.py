"""Fixtures for the chat tests: a fresh chat server per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import labkit
from labkit.chat import chat_app
from labkit.runner import ServerHandle

__all__ = ["server", "unique"]


def unique(prefix: str) -> str:
    """A server or user name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def server() -> Iterator[ServerHandle]:
    """A chat room with default settings on 127.0.0.1 and a free port."""
    handle = labkit.start(chat_app(), name=unique("test-chat"))
    try:
        yield handle
    finally:
        handle.stop()
