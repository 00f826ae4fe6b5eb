"""`python -m microgradvg` runs the same command as the `microgradvg` script."""

import sys

from .cli import main

sys.exit(main())
