"""Every version of a key: S3's version list against the stored documents.

In the all-versions mode each version (and each delete marker) of a key has its
own document, ``is_latest`` marking the current one. An event on a key lists that
key's versions, and ``plan`` (pure) says which documents to write: a new version
(extracted), a version whose ``is_latest`` flipped (no extraction), a delete
marker, or a version that no longer exists (kept as a tombstone, so a stale
writer cannot resurrect it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from indexer import freshness
from indexer.bulk import Current
from indexer.errors import TransientError
from indexer.state import RETRY
from t4index import fields as F
from t4index.dates import to_es_date

NULL_VERSION = freshness.NULL_VERSION


@dataclass(frozen=True)
class VersionRow:
    """One entry of ListObjectVersions for the key."""

    version_id: str
    is_latest: bool
    delete_marker: bool
    etag: str | None = None
    size: int | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True)
class Decision:
    kind: Literal["write", "flag", "marker", "gone"]
    version_id: str
    current: Current
    row: VersionRow | None = None


def page_rows(page: dict[str, Any]) -> list[tuple[str, VersionRow]]:
    """``(key, row)`` for every version and delete marker of one ListObjectVersions page,
    in key order (S3 lists versions and markers apart, each in key order)."""
    rows = [(item["Key"], VersionRow(item["VersionId"], bool(item.get("IsLatest")), False,
                                     item.get("ETag"), item.get("Size"),
                                     item.get("LastModified")))
            for item in page.get("Versions", [])]
    rows += [(item["Key"], VersionRow(item["VersionId"], bool(item.get("IsLatest")), True,
                                      last_modified=item.get("LastModified")))
             for item in page.get("DeleteMarkers", [])]
    return sorted(rows, key=lambda entry: entry[0])  # stable: versions before markers


def list_versions(s3: Any, bucket: str, key: str) -> list[VersionRow]:
    """The versions and delete markers of exactly ``key`` (not of keys it prefixes).

    Raises:
        TransientError: S3 throttled, failed or was unreachable.
    """
    rows: list[VersionRow] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
    try:
        while True:
            page = RETRY.call(lambda: s3.list_object_versions(**kwargs))
            entries = page_rows(page)
            rows += [row for row_key, row in entries if row_key == key]
            past_key = any(row_key > key for row_key, _ in entries)
            if not page.get("IsTruncated") or past_key:
                return rows
            kwargs.update(KeyMarker=page["NextKeyMarker"],
                          VersionIdMarker=page.get("NextVersionIdMarker", ""))
    except (ClientError, BotoCoreError) as exc:
        raise TransientError(f"listing the versions of s3://{bucket}/{key} failed: {exc}") from exc


def read_stored(es: Any, index: str, key: str) -> dict[str, Current]:
    """The stored documents of ``key`` by version id, with their concurrency tokens."""
    resp = es.search({"query": {"term": {F.KEY: key}}, "size": 10_000,
                      "seq_no_primary_term": True, "version": False}, index)
    out = {}
    for hit in resp["hits"]["hits"]:
        version = hit["_source"].get(F.VERSION_ID) or NULL_VERSION
        out[version] = Current(hit["_id"], hit["_source"], hit["_seq_no"], hit["_primary_term"])
    return out


def plan(rows: list[VersionRow], stored: dict[str, Current], absent: Any,
         extractor_version: str) -> list[Decision]:
    """What to write so the key's documents show ``rows``; ``absent(version_id)`` -> a Current
    for a version with no document yet."""
    decisions: list[Decision] = []
    listed = set()
    for row in rows:
        listed.add(row.version_id)
        current = stored.get(row.version_id) or absent(row.version_id)
        source = current.source
        if row.delete_marker:
            if source is None or not source.get(F.DELETED) or \
                    source.get(F.IS_LATEST) != row.is_latest:
                decisions.append(Decision("marker", row.version_id, current, row))
        elif freshness.listing_verdict(
                source, etag=row.etag, size=row.size, last_modified=row.last_modified,
                extractor_version=extractor_version, version_id=row.version_id) != "current":
            # ``confirm`` too: the pipeline reads the version and skips it if current
            decisions.append(Decision("write", row.version_id, current, row))
        elif source.get(F.IS_LATEST) != row.is_latest:
            decisions.append(Decision("flag", row.version_id, current, row))
    for version_id, current in stored.items():
        if version_id not in listed and current.source is not None and not (
                current.source.get(F.DELETED) and current.source.get(F.IS_LATEST) is False):
            decisions.append(Decision("gone", version_id, current))
    return decisions


def flagged(source: dict[str, Any], *, is_latest: bool, deleted: bool | None = None
            ) -> dict[str, Any]:
    """A stored document with a new ``is_latest`` (and ``deleted``), re-stamped."""
    out = {**source, F.IS_LATEST: is_latest, F.INDEXED_AT: to_es_date(datetime.now(UTC))}
    if deleted is not None:
        out[F.DELETED] = deleted
    return out
