"""Repair: tombstone documents whose object is gone, index objects the index lacks.

Memory does not grow with the bucket: S3's listing (UTF-8 byte order) is merged
with a point-in-time scan of the live documents sorted by the raw ``key`` keyword
(Lucene compares keywords as UTF-8 bytes: the same order), both streamed a page
at a time. A key only in the index is a candidate; ``Pipeline.index_keys`` HEADs
it and writes a tombstone only when S3 still says it is gone (an object created
meanwhile is indexed instead), with the pipeline's conditional writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from indexer.backfill.listing import list_objects
from indexer.backfill.scan import pit_scan
from indexer.pipeline import Pipeline
from t4index import fields as F

STALE, MISSING = "stale", "missing"


@dataclass
class RepairSummary:
    """Counts of one repair; ``failures`` holds up to 1,000 ``(key, reason)`` pairs."""

    listed: int = 0
    documents: int = 0
    stale: int = 0
    missing: int = 0
    tombstoned: int = 0
    indexed: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def merge(listed: Iterable[str], indexed: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Walk two ascending key streams; yield ``(STALE, key)`` for keys only in ``indexed``
    and ``(MISSING, key)`` for keys only in ``listed``."""
    a, b = iter(listed), iter(indexed)
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and x < y):
            yield MISSING, x  # type: ignore[misc]
            x = next(a, None)
        elif x is None or y < x:
            yield STALE, y
            y = next(b, None)
        else:
            x, y = next(a, None), next(b, None)


def scan_keys(es: Any, index: str, prefix: str = "", *, page_size: int = 1000,
              keep_alive: str = "2m") -> Iterator[str]:
    """Keys of the live (not deleted) documents of ``index``, ascending, via a point in time."""
    filters: list[dict[str, Any]] = [{"prefix": {F.KEY: prefix}}] if prefix else []
    body = {"query": {"bool": {"filter": filters, "must_not": [{"term": {F.DELETED: True}}]}},
            "_source": False, "docvalue_fields": [F.KEY],
            "sort": [{F.KEY: "asc"}, {"_shard_doc": "asc"}]}
    for hit in pit_scan(es, index, body, page_size=page_size, keep_alive=keep_alive):
        yield hit["fields"][F.KEY][0]


def repair(pipeline: Pipeline, bucket: str, prefix: str = "", *, batch: int = 500,
           index_missing: bool = True, page_size: int = 1000,
           progress: Callable[[RepairSummary], None] | None = None) -> RepairSummary:
    """Bring the index of ``s3://bucket/prefix`` in line with S3's listing.

    Returns:
        The ``RepairSummary``.
    """
    summary = RepairSummary()
    index = pipeline.bucket_index(bucket).write_index
    pipeline.es.indices.refresh(index=index)  # the scan sees every write made before it
    pending: list[tuple[str, str]] = []

    def listed() -> Iterator[str]:
        for key, _obj in list_objects(pipeline.s3, bucket, prefix, page_size=page_size):
            summary.listed += 1
            yield key

    def indexed() -> Iterator[str]:
        for key in scan_keys(pipeline.es, index, prefix, page_size=page_size):
            summary.documents += 1
            yield key

    def flush() -> None:
        result = pipeline.index_keys(pending)
        summary.tombstoned += result.tombstoned
        summary.indexed += result.written - result.tombstoned
        summary.failed += len(result.failed)
        for ident, reason in result.failed.items():
            if len(summary.failures) < 1000:
                summary.failures.append((ident.removeprefix(f"{bucket}/"), reason))
        pending.clear()
        if progress:
            progress(summary)

    for kind, key in merge(listed(), indexed()):
        if kind == STALE:
            summary.stale += 1
        else:
            summary.missing += 1
            if not index_missing:
                continue
        pending.append((bucket, key))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return summary
