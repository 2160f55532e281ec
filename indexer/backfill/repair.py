"""Repair: bring the index in line with S3, fixing exactly what ``verify`` reports.

``indexer.backfill.verify.find_drift`` streams the drifted keys (missing, stale,
orphaned, retryable) in bounded memory; each goes through ``Pipeline.index_keys``,
which reads the key's state and writes what S3 shows now, with the pipeline's
conditional writes: an orphan is tombstoned only when S3 still says it is gone
(an object created meanwhile is indexed instead).

In the all-versions mode the drift names versions (``key?versionId=<id>``); the
key goes to ``index_keys`` once, whose all-versions mode lists the key's versions
and writes exactly the documents ``verify`` found wrong (the same
``indexer.versions.plan``): the missing versions extracted, the stale ones
re-extracted or re-flagged, delete markers' documents written, orphans tombstoned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from indexer.backfill.verify import DriftReport, find_drift
from indexer.pipeline import Pipeline

STALE, MISSING = "stale", "missing"


@dataclass
class RepairSummary:
    """Counts of one repair; ``failures`` holds up to 1,000 ``(key, reason)`` pairs.

    ``missing``, ``stale``, ``orphaned`` and ``retryable`` are what ``verify`` would
    have reported (keys; versions in the all-versions mode); ``indexed`` and
    ``tombstoned`` the documents written (a delete marker's document is a tombstone).
    """

    listed: int = 0
    documents: int = 0
    missing: int = 0
    stale: int = 0
    orphaned: int = 0
    retryable: int = 0
    tombstoned: int = 0
    indexed: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def repair(pipeline: Pipeline, bucket: str, prefix: str = "", *, batch: int = 500,
           index_missing: bool = True, page_size: int = 1000,
           progress: Callable[[RepairSummary], None] | None = None) -> RepairSummary:
    """Fix what ``verify`` reports for ``s3://bucket/prefix``.

    ``index_missing=False`` leaves objects without documents to a backfill (in the
    all-versions mode, a key that also has other drift is repaired whole).

    Returns:
        The ``RepairSummary``.
    """
    summary = RepairSummary()
    report = DriftReport(bucket, prefix)
    pending: list[tuple[str, str]] = []
    last: str | None = None  # a key's drifted versions come together: it is sent once

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

    for kind, item in find_drift(pipeline, bucket, prefix, page_size=page_size, report=report):
        setattr(summary, kind, getattr(summary, kind) + 1)
        if (kind == MISSING and not index_missing) or item.key == last:
            continue
        last = item.key
        pending.append((bucket, item.key))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    summary.listed, summary.documents = report.listed, report.documents
    return summary
