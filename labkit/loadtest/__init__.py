"""Load-test a server from a notebook: many WebSocket clients on one asyncio loop.

Use it to load-test your own chat room::

    from labkit.loadtest import run_fanout

    server = labkit.start(labkit.chat_app(rate=None))   # flood control off
    result = run_fanout(server.url, receivers=10, messages=50)
    result.rate, result.p50_ms

:func:`run_fanout`, :func:`run_echo` and :func:`run_join_storm` block until
done and return small typed results (:class:`FanoutResult`,
:class:`EchoResult`, :class:`JoinResult`).

The blocking ``run_*`` functions run their clients on a fresh event loop in a
thread of their own, so they work in a Jupyter cell (whose own loop is
already running, where ``asyncio.run`` is refused) and never block the kit's
loop, where your server runs. The ``async`` forms (:func:`echo`,
:func:`fanout`, :func:`join_storm`) run on whichever loop awaits them.

The chat scenarios speak the kit's JSON wire protocol
(:mod:`labkit.chat.protocol`). The chat room limits how fast one user may
send (20 messages per second by default): a load test that the room refuses
(``rate_limited``) stops within seconds and says so; start the room with
``chat_app(rate=None)`` to measure the relay rather than the flood control.

Every failure is one :class:`~labkit.errors.LoadTestError` line: nothing
listening, the handshake refused, the server gone, or the room refusing.

The repository's ``make bench`` uses a Node load generator when Node is
available: one Python process cannot keep up with a thousand receivers as
fast as the server sends. Run from the command line, this module prints the
same JSON as the Node one (``python -m labkit.loadtest fanout URL '{...}'``),
which is how ``make bench`` falls back to it. The results print and rebuild
as the same fields from either (:meth:`FanoutResult.from_json`).
"""

from __future__ import annotations

from labkit.errors import LoadTestError
from labkit.loadtest.blocking import run_echo, run_fanout, run_join_storm
from labkit.loadtest.results import EchoResult, FanoutResult, JoinResult, quantile
from labkit.loadtest.scenarios import TIMEOUT, echo, fanout, join_storm

__all__ = [
    "TIMEOUT",
    "EchoResult",
    "FanoutResult",
    "JoinResult",
    "LoadTestError",
    "echo",
    "fanout",
    "join_storm",
    "quantile",
    "run_echo",
    "run_fanout",
    "run_join_storm",
]
