"""The benchmark harness behind ``make bench``: how fast is the kit, next to what it grew from?

Run from the repository's root, never installed::

    python -m bench                      # everything (a few minutes)
    python -m bench --quick              # small rooms, one turn: about a minute

It measures the kit against bare ``websockets`` and the tutorial's own Koa2
server, each in a process of its own, driven in turns from one independent
load generator; see :mod:`bench.suite` and ``docs/PERFORMANCE.md``. The
notebook-sized load generator it falls back to without Node is the kit's own
:mod:`labkit.loadtest`.

This folder holds both sides:

* Python: :mod:`~bench.suite` (scenarios and report), :mod:`~bench.process`
  (starting and watching a server process), :mod:`~bench.serve` (a server
  under test, in that process), :mod:`~bench.bare` (the plain ``websockets``
  references), :mod:`~bench.figures` (the memory figure, the median run);
* Node: ``koa/`` (the tutorial's Koa2 servers) and ``loadgen.mjs`` (the
  load generator);
* ``results/``: what each run writes (ignored by git).
"""

from __future__ import annotations

__all__: list[str] = []
