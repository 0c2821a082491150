"""``python -m findna.cli``: the same as the ``findna`` console script."""

import sys

from findna.cli import main

sys.exit(main())
