"""``python -m minitorch_cap`` is the ``minitorch-cap`` command."""

import sys

from .cli import main

sys.exit(main())
