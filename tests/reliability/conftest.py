"""Fixtures for the reliability tests: servers that stop after the test, and a figures file.

Load tests measure what they survive (counts, durations, latencies, memory) and
hand the numbers to :func:`figures`. At the end of the session they are merged
into ``artifacts/reliability.json``, which ``docs/RELIABILITY.md`` quotes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import labkit
from labkit.runner import Servable, ServerHandle

__all__ = ["figures", "serve"]

Record = Callable[[str, dict[str, Any]], None]


@pytest.fixture
def serve() -> Iterator[Callable[..., ServerHandle]]:
    """Start servers under names no other test uses; stop them after the test."""
    handles: list[ServerHandle] = []

    def start(app: Servable, **options: Any) -> ServerHandle:
        options.setdefault("name", f"rel-{app.name}-{uuid.uuid4().hex[:8]}")
        handle = labkit.start(app, **options)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


@pytest.fixture(scope="session")
def _figures_store(artifacts_dir: Path) -> Iterator[dict[str, Any]]:
    store: dict[str, Any] = {}
    yield store
    if not store:
        return
    path = artifacts_dir / "reliability.json"
    try:
        merged = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        merged = {}
    merged.update(store)
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", "utf-8")


@pytest.fixture
def figures(_figures_store: dict[str, Any]) -> Record:
    """Record one test's figures under ``key``; they are also printed (``pytest -s``)."""

    def record(key: str, values: dict[str, Any]) -> None:
        _figures_store[key] = values
        print(f"\n[reliability] {key}: {json.dumps(values, sort_keys=True)}")

    return record
