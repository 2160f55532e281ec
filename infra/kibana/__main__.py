"""``python -m infra.kibana``: regenerate ``saved_objects.ndjson``."""

import sys

from infra.kibana import main

sys.exit(main())
