"""The blocking forms of the scenarios, for notebook cells and scripts.

Each runs its clients on a fresh event loop in a thread of its own, so it works
whatever the caller is: a plain script, a Jupyter cell (whose loop is running,
where ``asyncio.run`` is refused), or a callback on the kit's loop. Kernel →
Interrupt stops the run within a fraction of a second and closes its clients.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from labkit.errors import LoadTestError
from labkit.i18n import _
from labkit.journal import POLL
from labkit.loadtest.results import EchoResult, FanoutResult, JoinResult
from labkit.loadtest.scenarios import TIMEOUT, echo, fanout, join_storm

__all__ = ["run_echo", "run_fanout", "run_join_storm"]

T = TypeVar("T")

#: Seconds an interrupted run has to close its clients.
CLOSE_TIMEOUT = 5.0


def _in_thread(make: Callable[[], Coroutine[Any, Any, T]], timeout: float) -> T:
    """Run a coroutine on a new loop in a new thread and return its result.

    The caller waits in short steps, so that a KeyboardInterrupt reaches it
    at once; it then cancels the run, whose clients close on the way out.

    Raises:
        LoadTestError: the run failed, or took longer than ``timeout`` seconds.
    """
    outcome: dict[str, Any] = {}
    started = threading.Event()
    loop = asyncio.new_event_loop()

    async def guarded() -> T:
        outcome["task"] = asyncio.current_task()
        started.set()
        try:
            return await asyncio.wait_for(make(), timeout)
        except TimeoutError:
            raise LoadTestError(
                _("the load test did not finish within {timeout:g} s").format(timeout=timeout)
            ) from None

    def run() -> None:
        try:
            outcome["value"] = loop.run_until_complete(guarded())
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            started.set()
            loop.close()

    thread = threading.Thread(target=run, name="labkit-loadtest", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(POLL)
    except BaseException:  # KeyboardInterrupt: stop the run, let it close its clients
        started.wait(CLOSE_TIMEOUT)
        task = outcome.get("task")
        if task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        thread.join(CLOSE_TIMEOUT)
        raise
    error = outcome.get("error")
    if isinstance(error, LoadTestError):
        raise LoadTestError(str(error)) from None  # one line, no asyncio traceback
    if error is not None:
        raise error
    return outcome["value"]  # type: ignore[no-any-return]


def run_echo(
    url: str, connections: int = 16, duration: float = 3.0, size: int = 64, timeout: float = TIMEOUT
) -> EchoResult:
    """Blocking :func:`echo`, safe to call from a notebook cell."""
    return _in_thread(lambda: echo(url, connections, duration, size), timeout)


def run_fanout(
    url: str,
    receivers: int = 10,
    messages: int = 100,
    *,
    window: int = 16,
    timeout: float = TIMEOUT,
) -> FanoutResult:
    """Blocking :func:`fanout`, safe to call from a notebook cell."""
    return _in_thread(lambda: fanout(url, receivers, messages, window=window), timeout)


def run_join_storm(url: str, clients: int = 100, timeout: float = TIMEOUT) -> JoinResult:
    """Blocking :func:`join_storm`, safe to call from a notebook cell."""
    return _in_thread(lambda: join_storm(url, clients), timeout)
