"""Which listed objects the index already shows: decided from the listing and one ``mget``.

The rule is ``indexer.freshness`` (the one rule of the project). A listing has no
content type or metadata, so an object whose document was made within seconds
of its last modification is sent on with the changed ones: the pipeline reads its
state and skips it when it is current (``confirm``). Unchanged objects whose
documents settled cost no S3 request beyond the LIST.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from indexer import freshness
from indexer.backfill.listing import Listed
from t4index.names import doc_id


def stored_headers(es: Any, index: str, bucket: str,
                   keys: Sequence[str]) -> dict[str, dict[str, Any] | None]:
    """``{key: the fields the freshness rule reads, or None}`` in one ``mget``."""
    if not keys:
        return {}
    ids = {doc_id(bucket, key): key for key in keys}
    docs = es.mget(index, list(ids), source_includes=list(freshness.FIELDS))
    out: dict[str, dict[str, Any] | None] = dict.fromkeys(keys)
    for doc in docs:
        if doc.get("found"):
            out[ids[doc["_id"]]] = doc.get("_source") or {}
    return out


def verdict(listed: Listed, stored: dict[str, Any] | None,
            extractor_version: str) -> freshness.Verdict:
    """The freshness verdict of one listed object against its stored document."""
    return freshness.listing_verdict(stored, etag=listed.etag, size=listed.size,
                                     last_modified=listed.last_modified,
                                     extractor_version=extractor_version)


def changed(es: Any, index: str, bucket: str, objects: Sequence[Listed],
            extractor_version: str) -> list[Listed]:
    """The objects of ``objects`` whose documents are missing, out of date or unproven."""
    stored = stored_headers(es, index, bucket, [o.key for o in objects])
    return [o for o in objects if verdict(o, stored[o.key], extractor_version) != "current"]
