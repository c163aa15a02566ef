"""Tests for labkit.internals: the websockets internals the fast path relies on are there.

When a websockets release renames or drops one of them, the first test fails
and names the attribute, so the one module to mend is obvious.
"""

from __future__ import annotations

import logging
import threading

import pytest
import websockets
from websockets.sync.client import connect

import labkit
from labkit import App, Context
from labkit.internals import (
    CONNECTION_ATTRIBUTES,
    FastConnection,
    missing_attributes,
    only_handler,
)


def assert_internals_present(connection: object, logger: logging.Logger) -> None:
    """Fail with one line per missing attribute, naming it and websockets' version."""
    missing = missing_attributes(connection, logger)
    assert not missing, (
        "labkit.internals relies on attributes this websockets release lacks:\n  "
        + "\n  ".join(missing)
        + "\nMend labkit/internals.py (its header lists each one) for this release."
    )


@pytest.fixture
def live_connection():
    """The server side of one open connection to a real App, held open by its middleware."""
    app = App("internals")
    opened = threading.Event()
    release = threading.Event()

    @app.use
    async def hold(ctx: Context, next) -> None:
        opened.set()
        async for _ in ctx.websocket:
            break
        release.set()

    handle = labkit.start(app, name="test-internals")
    try:
        with connect(handle.url, open_timeout=10) as client:
            assert opened.wait(10)
            (ctx,) = app.connections
            yield ctx.websocket, app.logger
            client.send("done")
            assert release.wait(10)
    finally:
        handle.stop()


def test_every_private_attribute_is_there(live_connection) -> None:
    """The App's connection is a FastConnection with every attribute the header lists."""
    connection, logger = live_connection
    assert isinstance(connection, FastConnection)
    assert_internals_present(connection, logger)


def test_a_missing_attribute_fails_with_its_name_and_the_version(live_connection) -> None:
    """Deleting one attribute (as a new release might) makes the check name it."""
    connection, logger = live_connection
    saved = connection.send_in_progress
    del connection.send_in_progress
    try:
        with pytest.raises(AssertionError) as failed:
            assert_internals_present(connection, logger)
    finally:
        connection.send_in_progress = saved
    message = str(failed.value)
    assert "'send_in_progress'" in message
    assert f"websockets {websockets.version.version}" in message
    assert "labkit/internals.py" in message


def test_every_listed_attribute_is_checked() -> None:
    """An object with none of them is reported once per listed attribute."""
    assert len(missing_attributes(object())) == len(CONNECTION_ATTRIBUTES)


def test_only_handler_walks_the_chain_like_logging() -> None:
    """The book is the only handler unless another one, or a filter, would see the line."""
    parent = logging.getLogger("test-internals-parent")
    child = parent.getChild("child")
    parent.propagate = False  # away from the root, where pytest keeps its own handlers
    book = logging.Handler(level=logging.INFO)
    parent.addHandler(book)
    try:
        assert only_handler(child, logging.INFO, book)
        assert not only_handler(child, logging.DEBUG, book)  # below the book's level
        loud = logging.Handler(level=logging.ERROR)
        child.addHandler(loud)
        assert only_handler(child, logging.INFO, book)  # loud takes errors only
        assert not only_handler(child, logging.ERROR, book)
        child.removeHandler(loud)
        child.propagate = False
        assert not only_handler(child, logging.INFO, book)  # the book is never reached
    finally:
        child.propagate = parent.propagate = True
        parent.removeHandler(book)
