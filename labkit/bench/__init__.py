"""Load tests and the benchmark suite: how fast is the kit, next to what it grew from?

Two faces:

* In a notebook, load-test your own server with simulated clients::

      server = labkit.start(labkit.chat_app(rate=1e9, burst=1e9))
      result = labkit.bench.run_fanout(server.url, receivers=10, messages=50)
      print(result.rate, result.p50_ms)

  :func:`run_fanout`, :func:`run_echo` and :func:`run_join_storm` block until
  done and return typed results (:class:`FanoutResult`, :class:`EchoResult`,
  :class:`JoinResult`); their clients run on a loop of their own, so they
  work in a Jupyter cell.

* From a terminal, ``make bench`` (``python -m labkit.bench``) measures the
  kit against bare ``websockets`` and the tutorial's own Koa2 server, each in
  a process of its own, driven in turns from one independent load generator;
  see :mod:`labkit.bench.suite` and ``docs/PERFORMANCE.md``.

Modules: :mod:`~labkit.bench.results` (typed results),
:mod:`~labkit.bench.load` (the Python clients), :mod:`~labkit.bench.bare`
(the plain ``websockets`` references), :mod:`~labkit.bench.serve` (a server
under test in its own process), :mod:`~labkit.bench.process` (starting and
watching that process), :mod:`~labkit.bench.suite` (scenarios and report).
"""

from labkit.bench.load import echo, fanout, join_storm, run_echo, run_fanout, run_join_storm
from labkit.bench.results import EchoResult, FanoutResult, JoinResult, MemoryResult

__all__ = [
    "EchoResult",
    "FanoutResult",
    "JoinResult",
    "MemoryResult",
    "echo",
    "fanout",
    "join_storm",
    "run_echo",
    "run_fanout",
    "run_join_storm",
]
