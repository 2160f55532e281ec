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

In the all-versions mode (one document per version and delete marker) every
version is compared: ListObjectVersions, grouped by key, is merged with every
document of the key (memory holds one listing page, one scan page and the
versions of one key). The reported item names the version,
``key?versionId=<id>`` (as ``t4 get`` takes it), and the verdict is the one
``indexer.versions.plan`` reaches, so that ``repair`` fixes exactly what is
reported:

- a version S3 lists with no document, or a tombstone: ``missing``; its
  document's extraction retryable: ``retryable``; not current by the freshness
  rule (a real version id is immutable: the listing proves it; the ``null``
  version may need a HEAD): ``stale``; ``is_latest`` unlike S3's ``IsLatest``:
  ``stale``;
- a delete marker S3 lists must have a tombstone document (``deleted``) with
  S3's ``IsLatest``: none is ``missing``, any other ``stale``;
- a document of a version S3 does not list: ``orphaned``, unless it is already a
  tombstone that is not latest (how the pipeline keeps a version deleted for good).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any, Literal, TypeVar

from indexer import freshness, versions
from indexer.backfill.listing import Listed, list_objects, list_versions_by_key
from indexer.backfill.scan import pit_scan
from indexer.bulk import Current
from indexer.pipeline import Pipeline
from indexer.state import head_state
from t4index import fields as F
from t4index import outcomes
from t4index.names import doc_id

Kind = Literal["missing", "stale", "orphaned", "retryable"]
KINDS: tuple[Kind, ...] = ("missing", "stale", "orphaned", "retryable")
SAMPLE = 20
"""Keys kept per kind in a report (counts are always exact)."""
CONFIRM_BATCH = 64
"""Keys whose listing could not prove their document current, read together."""
A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class Drifted:
    """What a drift names: a key, or one version of it (the all-versions mode)."""

    key: str
    version_id: str | None = None

    def __str__(self) -> str:
        return self.key if self.version_id is None else f"{self.key}?versionId={self.version_id}"


@dataclass
class DriftReport:
    """Counts of one comparison, with up to :data:`SAMPLE` keys (``key?versionId=<id>`` in
    the all-versions mode) of each kind."""

    bucket: str
    prefix: str = ""
    all_versions: bool = False  # items are versions and delete markers, not keys
    listed: int = 0
    documents: int = 0
    confirmed: int = 0  # keys whose state was read because the listing could not decide
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    samples: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})

    @property
    def drift(self) -> int:
        """Keys (versions, in the all-versions mode) in any kind: 0 when the index tells the
        truth about S3."""
        return sum(self.counts.values())

    def add(self, kind: Kind, item: Drifted) -> None:
        self.counts[kind] += 1
        if len(self.samples[kind]) < SAMPLE:
            self.samples[kind].append(str(item))

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON values (``t4-backfill verify --json``)."""
        return {"bucket": self.bucket, "prefix": self.prefix,
                "all_versions": self.all_versions, "listed": self.listed,
                "documents": self.documents, "confirmed": self.confirmed,
                "drift": self.drift, "counts": dict(self.counts),
                "samples": {k: list(v) for k, v in self.samples.items()}}


def scan_documents(es: Any, index: str, prefix: str = "", *,
                   page_size: int = 1000) -> Iterator[dict[str, Any]]:
    """The freshness fields of every document of ``index`` under ``prefix``, by key."""
    filters: list[dict[str, Any]] = [{"prefix": {F.KEY: prefix}}] if prefix else []
    body = {"query": {"bool": {"filter": filters}}, "_source": freshness.FIELDS,
            "sort": [{F.KEY: "asc"}, {"_shard_doc": "asc"}]}
    for hit in pit_scan(es, index, body, page_size=page_size):
        yield hit["_source"]


def retryable_objects(pipeline: Pipeline, bucket: str, prefix: str = "", *,
                      start_after: str | None = None, page_size: int = 1000
                      ) -> Iterator[tuple[str, Listed]]:
    """``(key, Listed)`` for the documents that record a retryable extraction outcome.

    A backfill source (``t4-backfill backfill --retry-outcomes``): after an outage,
    it re-extracts just those objects, without listing the bucket. Each key comes
    once, also in the all-versions mode, where each of its versions is a document
    (the backfill of a key brings all of its versions).
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
    last = None
    for hit in pit_scan(pipeline.es, index, body, page_size=page_size):
        doc = hit["_source"]
        if doc[F.KEY] == last:  # another version of the same key (sorted by key)
            continue
        last = doc[F.KEY]
        yield doc[F.KEY], Listed(doc[F.KEY], doc.get(F.SIZE) or 0, doc.get(F.ETAG),
                                 doc.get(F.LAST_MODIFIED))


def _merge(listed: Iterator[A], stored: Iterator[B],
           listed_key: Callable[[A], str] = attrgetter("key"),
           stored_key: Callable[[B], str] = itemgetter(F.KEY)
           ) -> Iterator[tuple[A | None, B | None]]:
    """Pairs ``(listed, stored)`` of two key-ordered streams by key, either side None where
    the other has none (by default: ``Listed`` objects and documents)."""
    a, b = next(listed, None), next(stored, None)
    while a is not None or b is not None:
        if b is None or (a is not None and listed_key(a) < stored_key(b)):
            yield a, None
            a = next(listed, None)
        elif a is None or stored_key(b) < listed_key(a):
            yield None, b
            b = next(stored, None)
        else:
            yield a, b
            a, b = next(listed, None), next(stored, None)


Finding = tuple[Kind | Literal["confirm"], Drifted, dict[str, Any] | None,
                versions.VersionRow | None]
"""``(kind, item, document, listed version)``; ``confirm``: the listing could not prove
the document current, a read of the item's state (HEAD) decides."""


def _object_drift(obj: Listed | None, doc: dict[str, Any] | None,
                  version: str) -> list[Finding]:
    """The latest-only mode's verdict on one key."""
    if obj is None:
        assert doc is not None  # ``_merge`` pairs at least one side
        return [] if doc.get(F.DELETED) else [("orphaned", Drifted(doc[F.KEY]), doc, None)]
    kind: Kind | Literal["confirm"] | None
    if doc is None or doc.get(F.DELETED):
        kind = "missing"
    elif doc.get(F.EXTRACTION_STATUS) in outcomes.RETRYABLE:
        kind = "retryable"
    else:
        verdict = freshness.listing_verdict(
            doc, etag=obj.etag, size=obj.size, last_modified=obj.last_modified,
            extractor_version=version)
        kind = None if verdict == "current" else verdict
    return [] if kind is None else [(kind, Drifted(obj.key), doc, None)]


def _versions_drift(bucket: str, key: str, rows: list[versions.VersionRow],
                    docs: dict[str, dict[str, Any]], version: str) -> list[Finding]:
    """The all-versions mode's verdicts on one key: each document ``versions.plan`` would
    write (what ``repair`` does), by kind."""
    def current(version_id: str, doc: dict[str, Any] | None = None) -> Current:
        return Current(doc_id(bucket, key, version_id), doc)

    stored = {version_id: current(version_id, doc) for version_id, doc in docs.items()}
    findings: list[Finding] = []
    for decision in versions.plan(rows, stored, current, version):
        item, doc, row = Drifted(key, decision.version_id), decision.current.source, decision.row
        kind: Kind | Literal["confirm"]
        if decision.kind == "gone":
            kind = "orphaned"
        elif doc is None or (decision.kind == "write" and doc.get(F.DELETED)):
            kind = "missing"
        elif decision.kind == "write" and doc.get(F.EXTRACTION_STATUS) in outcomes.RETRYABLE:
            kind = "retryable"
        elif decision.kind == "write" and row is not None and freshness.listing_verdict(
                doc, etag=row.etag, size=row.size, last_modified=row.last_modified,
                extractor_version=version, version_id=row.version_id) == "confirm":
            kind = "confirm"
        else:  # a new extraction, a delete marker's document, or an is_latest flag
            kind = "stale"
        findings.append((kind, item, doc, row))
    return findings


def find_drift(pipeline: Pipeline, bucket: str, prefix: str = "", *, page_size: int = 1000,
               report: DriftReport | None = None,
               progress: Callable[[DriftReport], None] | None = None
               ) -> Iterator[tuple[Kind, Drifted]]:
    """Yield ``(kind, item)`` for every key (every version, in the all-versions mode) where
    the index does not show S3 (see the module's docstring), in key order.

    ``report``, when given, is filled as the comparison goes (counts, samples).
    """
    report = report or DriftReport(bucket, prefix)
    report.all_versions = pipeline.all_versions
    index = pipeline.bucket_index(bucket).alias
    pipeline.es.refresh(index)  # the scan sees every write made before it
    version = pipeline.extractor_version
    to_confirm: list[Finding] = []
    next_progress = 1000

    def documents() -> Iterator[dict[str, Any]]:
        for doc in scan_documents(pipeline.es, index, prefix, page_size=page_size):
            report.documents += 1
            yield doc

    def objects() -> Iterator[Listed]:
        for _, obj in list_objects(pipeline.s3, bucket, prefix, page_size=page_size):
            report.listed += 1
            yield obj

    def version_rows() -> Iterator[tuple[str, list[versions.VersionRow]]]:
        for key, rows in list_versions_by_key(pipeline.s3, bucket, prefix,
                                              page_size=page_size):
            report.listed += len(rows)
            yield key, rows

    def per_key() -> Iterator[list[Finding]]:
        if not pipeline.all_versions:
            for obj, doc in _merge(objects(), documents()):
                yield _object_drift(obj, doc, version)
            return
        by_key = ((key, {doc.get(F.VERSION_ID) or versions.NULL_VERSION: doc for doc in docs})
                  for key, docs in groupby(documents(), key=itemgetter(F.KEY)))
        for listed, stored in _merge(version_rows(), by_key, itemgetter(0), itemgetter(0)):
            key, rows = listed or (None, [])
            key, docs = stored or (key, {})
            assert key is not None
            yield _versions_drift(bucket, key, rows, docs, version)

    def confirm() -> Iterator[tuple[Kind, Drifted]]:
        for _, item, doc, row in to_confirm:
            report.confirmed += 1
            state = head_state(pipeline.s3, bucket, item.key, item.version_id)
            if not state.exists:  # gone since it was listed
                yield ("orphaned" if row is not None else "missing"), item
            elif not freshness.state_current(doc, state, version) or (
                    row is not None and doc and doc.get(F.IS_LATEST) != row.is_latest):
                yield "stale", item
        to_confirm.clear()

    def found(kind: Kind, item: Drifted) -> tuple[Kind, Drifted]:
        report.add(kind, item)
        return kind, item

    for findings in per_key():
        for finding in findings:
            kind, item = finding[0], finding[1]
            if kind != "confirm":
                yield found(kind, item)
                continue
            to_confirm.append(finding)
            if len(to_confirm) >= CONFIRM_BATCH:
                for confirmed in confirm():
                    yield found(*confirmed)
        if progress and report.listed + report.documents >= next_progress:
            progress(report)
            next_progress = report.listed + report.documents + 1000
    for confirmed in confirm():
        yield found(*confirmed)


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
