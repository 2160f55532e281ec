"""``python -m indexer.backfill``: see ``indexer.backfill.cli``."""

import sys

from indexer.backfill.cli import main

sys.exit(main())
