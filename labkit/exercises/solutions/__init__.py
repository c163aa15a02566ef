"""Reference solutions, one module per lesson.

They live apart from the notebooks so that a learner sees a solution only when
asking for it (``ex.solution.accept_key()`` shows the source of the function
here, named as the notebook's exercise cell names it). The checkers use them
to compute expected answers for generated inputs; fixed inputs are checked
against the test vectors of RFC 6455 instead.
"""

from __future__ import annotations

from . import lesson1, lesson2, lesson3, lesson4, lesson5

__all__ = ["lesson1", "lesson2", "lesson3", "lesson4", "lesson5"]
