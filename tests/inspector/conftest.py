"""Fixtures for the inspector tests: an echo server and an inspector in front of it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

import labkit
from labkit.inspector import Inspector
from labkit.runner import ServerHandle


def _name(request: pytest.FixtureRequest, role: str) -> str:
    """A server name unique to the test, so no test replaces another's server."""
    return f"insp-{role}-" + re.sub(r"\W+", "-", request.node.name)


@pytest.fixture
def echo(request: pytest.FixtureRequest) -> Iterator[ServerHandle]:
    """A real echo server (labkit.echo_app) on a free port."""
    server = labkit.start(labkit.echo_app(), name=_name(request, "echo"))
    yield server
    server.stop()


@pytest.fixture
def tapped(echo: ServerHandle, request: pytest.FixtureRequest) -> Iterator[ServerHandle]:
    """An inspector in front of ``echo``; clients connect to this handle's url."""
    handle = labkit.start(Inspector(target=echo), name=_name(request, "tap"))
    yield handle
    handle.stop()


@pytest.fixture
def tap(tapped: ServerHandle) -> Inspector:
    """The inspector object of ``tapped`` (its records)."""
    assert isinstance(tapped.app, Inspector)
    return tapped.app
