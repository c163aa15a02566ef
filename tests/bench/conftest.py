"""Fixtures for the benchmark smoke tests: a fast chat room and an echo server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import labkit
from labkit.runner import ServerHandle

__all__ = ["chat_server", "echo_server"]


@pytest.fixture
def chat_server() -> Iterator[ServerHandle]:
    """A chat room with its flood limits lifted, as a load test needs it."""
    with labkit.start(labkit.chat_app(rate=1e9, burst=1e9), name="bench-chat") as handle:
        yield handle


@pytest.fixture
def echo_server() -> Iterator[ServerHandle]:
    """The kit's echo app."""
    with labkit.start(labkit.echo_app(), name="bench-echo") as handle:
        yield handle
