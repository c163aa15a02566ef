"""Tools for working on the kit itself, not for learners.

``python -m labkit.dev.notebooks`` keeps the lesson notebooks stored without
outputs, so that a diff shows what changed in the lesson and nothing else.
"""

from __future__ import annotations

__all__: list[str] = []
