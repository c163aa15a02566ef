"""Tools for working on the repository itself, not for learners; never installed.

Run from the repository's root: ``python -m tools.notebooks`` keeps the
lesson notebooks stored without outputs, so that a diff shows what changed
in the lesson and nothing else (``make test`` verifies, ``make
clean-notebooks`` cleans).
"""

from __future__ import annotations

__all__: list[str] = []
