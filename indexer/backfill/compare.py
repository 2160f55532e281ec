"""Which listed objects the index already shows: decided from the listing, without GET or HEAD.

An object is unchanged when its document exists, is not a tombstone, and holds
the listing's etag, size and last modified (compared to the second: HEAD, which
the pipeline stores, has second precision), written by the current extractor
version (or marked ``unreadable``, which no extractor changes). ListObjectsV2 has
no version ids; in a versioned bucket a new current version always changes the
last modified and almost always the etag.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from indexer.backfill.listing import Listed
from t4index import fields as F
from t4index.dates import to_es_date
from t4index.names import doc_id
from t4index.s3 import normalize_etag

HEADER_FIELDS = [F.ETAG, F.SIZE, F.LAST_MODIFIED, F.DELETED, F.EXTRACTOR_VERSION,
                 F.EXTRACTION_STATUS]


def _second(value: Any) -> str | None:
    text = to_es_date(value) if value is not None else None
    return text[:19] if text else None


def is_unchanged(listed: Listed, stored: dict[str, Any] | None, extractor_version: str) -> bool:
    """True when ``stored`` (a document's header fields) already shows ``listed``."""
    if not stored or stored.get(F.DELETED):
        return False
    current_extraction = (stored.get(F.EXTRACTOR_VERSION) == extractor_version
                          or stored.get(F.EXTRACTION_STATUS) == "unreadable")
    return (current_extraction
            and (stored.get(F.ETAG) or None) == normalize_etag(listed.etag)
            and stored.get(F.SIZE) == listed.size
            and _second(stored.get(F.LAST_MODIFIED)) == _second(listed.last_modified))


def stored_headers(es: Any, index: str, bucket: str,
                   keys: Sequence[str]) -> dict[str, dict[str, Any] | None]:
    """``{key: header fields of its document, or None}`` in one ``mget``."""
    if not keys:
        return {}
    ids = {doc_id(bucket, key): key for key in keys}
    resp = es.mget(index=index, ids=list(ids), source_includes=HEADER_FIELDS, realtime=True)
    out: dict[str, dict[str, Any] | None] = dict.fromkeys(keys)
    for doc in resp["docs"]:
        if doc.get("found"):
            out[ids[doc["_id"]]] = doc.get("_source") or {}
    return out


def changed(es: Any, index: str, bucket: str, objects: Sequence[Listed],
            extractor_version: str) -> list[Listed]:
    """The objects of ``objects`` whose documents are missing or out of date."""
    stored = stored_headers(es, index, bucket, [o.key for o in objects])
    return [o for o in objects if not is_unchanged(o, stored[o.key], extractor_version)]
