"""Backfill, repair and zero-downtime reindex of existing buckets, on the event path's pipeline.

- ``backfill``: list a bucket (or read an S3 Inventory), skip what the index
  already shows (one ``mget`` per chunk, no GET or HEAD), index the rest through
  ``Pipeline.index_keys`` or enqueue synthetic events for the Lambda fleet;
  resumable from a checkpoint.
- ``repair``: tombstone documents whose object is gone, in constant memory.
- ``reindex``: fill a new concrete index while writers mirror into it, then swap
  the alias atomically.

The command line is ``python -m indexer.backfill`` (``indexer.backfill.cli``).
"""

from indexer.backfill.checkpoint import Checkpoint
from indexer.backfill.enqueue import enqueue
from indexer.backfill.inventory import iter_inventory, read_manifest
from indexer.backfill.listing import Listed, list_objects, parse_s3_url
from indexer.backfill.progress import Progress
from indexer.backfill.reindex import ReindexSummary, reindex
from indexer.backfill.repair import RepairSummary, repair
from indexer.backfill.run import Summary, backfill

__all__ = [
    "Checkpoint",
    "Listed",
    "Progress",
    "ReindexSummary",
    "RepairSummary",
    "Summary",
    "backfill",
    "enqueue",
    "iter_inventory",
    "list_objects",
    "parse_s3_url",
    "read_manifest",
    "reindex",
    "repair",
]
