"""``python -m minitorch_cap.cli`` is the ``minitorch-cap`` command."""

import sys

from . import main

sys.exit(main())
