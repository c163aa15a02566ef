"""Exercises with instant feedback for the kit's lessons.

Each lesson has a module with three namespaces, one attribute per exercise::

    from labkit.exercises import lesson1 as ex

    def my_accept_key(key: str) -> str:
        ...  # your code here

    ex.check.accept_key(my_accept_key)  # ✓, or ✗ with the input, expected vs got, a hint
    ex.hint.accept_key()                # a hint
    ex.solution.accept_key()            # the reference solution, ready to paste

* :mod:`~labkit.exercises.lesson1`: ``accept_key``, ``decode_frame``,
  ``mask_frame`` (RFC 6455 handshake and frames, no network).
* :mod:`~labkit.exercises.lesson2`: ``echo``, ``count_messages``,
  ``require_token`` (middleware, checked on a real server with real clients).
* :mod:`~labkit.exercises.lesson3`: ``recipients``, ``join_leave`` and
  ``chat_room`` (the core of a chat room, then that core in a live room with
  three clients).
* :mod:`~labkit.exercises.lesson4`: ``fanout_model`` (predict the load test's
  latency and throughput curves from the cost of one fan-out).
* :mod:`~labkit.exercises.lesson5`: ``log_order`` and ``unique_joins`` (the
  one order of a room's Redis Stream, and names unique over every process).

A check never raises for a wrong answer: it shows the verdict and returns a
:class:`~labkit.exercises.core.Result` (``ok``, ``attempted``, ``message``,
``hint``), so ``assert ex.check.accept_key(my_accept_key).ok`` works in tests.
"""

from __future__ import annotations

import importlib
from typing import Any

from .core import REGISTRY, Result

__all__ = ["REGISTRY", "Result", "lesson1", "lesson2", "lesson3", "lesson4", "lesson5"]

_LESSONS = {"lesson1", "lesson2", "lesson3", "lesson4", "lesson5"}


def __getattr__(name: str) -> Any:
    # Lessons load on first use: lesson 2 and 3 pull in the server machinery.
    if name in _LESSONS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
