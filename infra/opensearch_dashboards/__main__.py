"""``python -m infra.opensearch_dashboards``: regenerate ``saved_objects.ndjson``."""

import sys

from infra.opensearch_dashboards import main

sys.exit(main())
