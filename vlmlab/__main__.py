"""``python -m vlmlab profile ...``: the same command line as the ``vlmlab`` console script."""
import sys

from .cli import main

sys.exit(main())
