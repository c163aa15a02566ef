"""Entry point for ``python -m labkit``."""

import sys

from .cli import main

sys.exit(main())
