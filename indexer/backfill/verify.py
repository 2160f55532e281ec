"""Drift between S3 and the index: what ``t4-backfill verify`` reports and ``repair`` fixes.

Memory does not grow with the bucket: S3's listing (UTF-8 byte order) is merged
with a point-in-time scan of the bucket's documents sorted by the raw ``key``
keyword (Lucene compares keywords as UTF-8 bytes: the same order), both streamed
a page at a time. Each key falls in one kind:

``missing``
    listed in S3, but the index has no document or a tombstone;
``stale``
    the document does not show the object as S3 has it now, by the one freshness
    rule (``indexer.freshness``); where the listing cannot prove it (documents made
    seconds after a write), the key's state is read (HEAD) to decide;
``orphaned``
    a live document whose object S3 no longer lists;
``retryable``
    the document records a retryable extraction outcome (Tika or S3 were down).

In the all-versions mode the documents compared are those of the current
versions (``is_latest``), against ListObjectsV2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from indexer import freshness
from indexer.backfill.listing import Listed, list_objects
from indexer.backfill.scan import pit_scan
from indexer.pipeline import Pipeline
from indexer.state import head_state
from t4index import fields as F
from t4index import outcomes

Kind = Literal["missing", "stale", "orphaned", "retryable"]
KINDS: tuple[Kind, ...] = ("missing", "stale", "orphaned", "retryable")
SAMPLE = 20
"""Keys kept per kind in a report (counts are always exact)."""
CONFIRM_BATCH = 64
"""Keys whose listing could not prove their document current, read together."""


@dataclass
class DriftReport:
    """Counts of one comparison, with up to :data:`SAMPLE` keys of each kind."""

    bucket: str
    prefix: str = ""
    listed: int = 0
    documents: int = 0
    confirmed: int = 0  # keys whose state was read because the listing could not decide
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    samples: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})

    @property
    def drift(self) -> int:
        """Keys in any kind: 0 when the index tells the truth about S3."""
        return sum(self.counts.values())

    def add(self, kind: Kind, key: str) -> None:
        self.counts[kind] += 1
        if len(self.samples[kind]) < SAMPLE:
            self.samples[kind].append(key)

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON values (``t4-backfill verify --json``)."""
        return {"bucket": self.bucket, "prefix": self.prefix, "listed": self.listed,
                "documents": self.documents, "confirmed": self.confirmed,
                "drift": self.drift, "counts": dict(self.counts),
                "samples": {k: list(v) for k, v in self.samples.items()}}


def scan_documents(es: Any, index: str, prefix: str = "", *, latest_only: bool = False,
                   page_size: int = 1000) -> Iterator[dict[str, Any]]:
    """The freshness fields of every document of ``index`` under ``prefix``, by key."""
    filters: list[dict[str, Any]] = [{"prefix": {F.KEY: prefix}}] if prefix else []
    if latest_only:
        filters.append({"term": {F.IS_LATEST: True}})
    body = {"query": {"bool": {"filter": filters}}, "_source": freshness.FIELDS,
            "sort": [{F.KEY: "asc"}, {"_shard_doc": "asc"}]}
    for hit in pit_scan(es, index, body, page_size=page_size):
        yield hit["_source"]


def retryable_objects(pipeline: Pipeline, bucket: str, prefix: str = "", *,
                      start_after: str | None = None, page_size: int = 1000
                      ) -> Iterator[tuple[str, Listed]]:
    """``(key, Listed)`` for the documents that record a retryable extraction outcome.

    A backfill source (``t4-backfill backfill --retry-outcomes``): after an outage,
    it re-extracts just those objects, without listing the bucket.
    """
    index = pipeline.bucket_index(bucket).alias
    pipeline.es.refresh(index)
    filters: list[dict[str, Any]] = [
        {"terms": {F.EXTRACTION_STATUS: sorted(outcomes.RETRYABLE)}},
        {"term": {F.DELETED: False}}]
    if prefix:
        filters.append({"prefix": {F.KEY: prefix}})
    if start_after:
        filters.append({"range": {F.KEY: {"gt": start_after}}})
    body = {"query": {"bool": {"filter": filters}}, "_source": freshness.FIELDS,
            "sort": [{F.KEY: "asc"}, {"_shard_doc": "asc"}]}
    for hit in pit_scan(pipeline.es, index, body, page_size=page_size):
        doc = hit["_source"]
        yield doc[F.KEY], Listed(doc[F.KEY], doc.get(F.SIZE) or 0, doc.get(F.ETAG),
                                 doc.get(F.LAST_MODIFIED))


def _merge(listed: Iterator[Listed], stored: Iterator[dict[str, Any]]
           ) -> Iterator[tuple[Listed | None, dict[str, Any] | None]]:
    """Pairs ``(object, document)`` by key, either side None where the other has none."""
    a, b = next(listed, None), next(stored, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a.key < b[F.KEY]):
            yield a, None
            a = next(listed, None)
        elif a is None or b[F.KEY] < a.key:
            yield None, b
            b = next(stored, None)
        else:
            yield a, b
            a, b = next(listed, None), next(stored, None)


def find_drift(pipeline: Pipeline, bucket: str, prefix: str = "", *, page_size: int = 1000,
               report: DriftReport | None = None,
               progress: Callable[[DriftReport], None] | None = None
               ) -> Iterator[tuple[Kind, str]]:
    """Yield ``(kind, key)`` for every key where the index does not show S3 (see module doc).

    ``report``, when given, is filled as the comparison goes (counts, samples).
    """
    report = report or DriftReport(bucket, prefix)
    index = pipeline.bucket_index(bucket).alias
    pipeline.es.refresh(index)  # the scan sees every write made before it
    version = pipeline.extractor_version
    to_confirm: list[tuple[str, dict[str, Any]]] = []

    def listed() -> Iterator[Listed]:
        for _key, obj in list_objects(pipeline.s3, bucket, prefix, page_size=page_size):
            report.listed += 1
            yield obj

    def stored() -> Iterator[dict[str, Any]]:
        for doc in scan_documents(pipeline.es, index, prefix,
                                  latest_only=pipeline.all_versions, page_size=page_size):
            report.documents += 1
            yield doc

    def confirm() -> Iterator[tuple[Kind, str]]:
        for key, doc in to_confirm:
            report.confirmed += 1
            state = head_state(pipeline.s3, bucket, key)
            if not freshness.state_current(doc, state, version):
                yield ("missing" if not state.exists else "stale"), key
        to_confirm.clear()

    def found(kind: Kind, key: str) -> tuple[Kind, str]:
        report.add(kind, key)
        return kind, key

    for obj, doc in _merge(listed(), stored()):
        if doc is None:
            assert obj is not None
            yield found("missing", obj.key)
        elif obj is None:
            if not doc.get(F.DELETED):
                yield found("orphaned", doc[F.KEY])
        elif doc.get(F.DELETED):
            yield found("missing", obj.key)
        elif doc.get(F.EXTRACTION_STATUS) in outcomes.RETRYABLE:
            yield found("retryable", obj.key)
        else:
            verdict = freshness.listing_verdict(
                doc, etag=obj.etag, size=obj.size, last_modified=obj.last_modified,
                extractor_version=version,
                version_id=doc.get(F.VERSION_ID) if pipeline.all_versions else None)
            if verdict == "stale":
                yield found("stale", obj.key)
            elif verdict == "confirm":
                to_confirm.append((obj.key, doc))
                if len(to_confirm) >= CONFIRM_BATCH:
                    for kind, key in confirm():
                        yield found(kind, key)
        if progress and (report.listed + report.documents) % 1000 == 0:
            progress(report)
    for kind, key in confirm():
        yield found(kind, key)


def verify(pipeline: Pipeline, bucket: str, prefix: str = "", *, page_size: int = 1000,
           progress: Callable[[DriftReport], None] | None = None) -> DriftReport:
    """Compare ``s3://bucket/prefix`` with its index; changes nothing.

    Returns:
        The :class:`DriftReport` (``drift`` is 0 when the index tells the truth).
    """
    report = DriftReport(bucket, prefix)
    for _ in find_drift(pipeline, bucket, prefix, page_size=page_size, report=report,
                        progress=progress):
        pass
    return report
