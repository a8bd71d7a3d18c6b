"""``python -m fincon.cli``."""

import sys

from fincon.cli import main

sys.exit(main())
