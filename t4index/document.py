"""Build the document of one object: pure functions from plain values to a dict.

``build_document`` is the only way documents are made, by the indexer, the
backfill and the tests alike. Its output serialises with ``allow_nan=False``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from t4index import docmeta
from t4index import fields as f
from t4index.dates import to_es_date
from t4index.errors import DocumentError
from t4index.mapping import HIGHLIGHT_MAX_ANALYZED_OFFSET
from t4index.metadata import MAX_META_TEXT_CHARS, FlatMetadata, clean_string, flatten_metadata
from t4index.s3 import normalize_etag

__all__ = [
    "MAX_TEXT_CHARS",
    "MAX_KEY_BYTES",
    "FlatMetadata",
    "build_document",
    "cap_text",
    "extension_of",
    "flatten_metadata",
    "key_tokens",
]

MAX_TEXT_CHARS = HIGHLIGHT_MAX_ANALYZED_OFFSET
"""Stored text is at most this many UTF-16 code units (how Elasticsearch counts)."""
MAX_KEY_BYTES = 32_766
"""Lucene's limit on one keyword term (S3 keys stop at 1,024 bytes)."""
MAX_ERROR_CHARS = 1_000

_SEGMENTS = re.compile(r"[^\W_]+")
_COMPRESSIONS = frozenset({"gz", "bz2", "xz", "zst", "lz4", "snappy", "zip", "br"})
_EXT = re.compile(r"[a-z0-9]{1,16}")


def key_tokens(key: str) -> list[str]:
    """Split a key into lower-case words for the ``key_tokens`` field.

    Splits on every character that is not a letter or digit (``/ . _ -``, spaces),
    on case changes (``reportFinal`` -> ``report final``; ``HTMLParser`` ->
    ``html parser``) and between digit runs and letters (``run2023b`` -> ``run 2023 b``).
    A segment that splits further is kept whole as well (``run2023b``).

    Returns:
        The tokens in key order (duplicates kept).
    """
    tokens: list[str] = []
    for segment in _SEGMENTS.findall(key):
        parts = _split_segment(segment)
        if len(parts) > 1:
            tokens.append(segment.lower())
        tokens.extend(p.lower() for p in parts)
    return tokens


def _kind(ch: str) -> str:
    if ch.isdigit():
        return "digit"
    if ch.isupper():
        return "upper"
    return "lower"  # lower case and caseless letters (CJK, marks)


def _split_segment(segment: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for i in range(1, len(segment)):
        prev, cur = _kind(segment[i - 1]), _kind(segment[i])
        nxt = _kind(segment[i + 1]) if i + 1 < len(segment) else None
        boundary = (
            (prev == "digit") != (cur == "digit")
            or (prev == "lower" and cur == "upper")
            or (prev == "upper" and cur == "upper" and nxt == "lower")
        )
        if boundary:
            parts.append(segment[start:i])
            start = i
    parts.append(segment[start:])
    return parts


def extension_of(key: str) -> str:
    """The lower-case extension of a key's last segment, without the dot.

    Compression suffixes keep the inner extension (``a.csv.gz`` -> ``csv.gz``).
    Dot files, keys without a dot, and suffixes that are not 1-16 letters or digits
    have no extension.

    Returns:
        The extension, or ``""`` when there is none.
    """
    name = key.rsplit("/", 1)[-1].lower()
    parts = name.split(".")
    if len(parts) < 2 or not parts[0] and len(parts) == 2:
        return ""
    last = parts[-1]
    if not _EXT.fullmatch(last):
        return ""
    inner = parts[-2] if len(parts) >= 3 and (parts[0] or len(parts) > 3) else ""
    if last in _COMPRESSIONS and _EXT.fullmatch(inner):
        return f"{inner}.{last}"
    return last


def cap_text(text: str, limit: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """Cut ``text`` to at most ``limit`` UTF-16 code units, never inside a pair.

    Lone surrogates are replaced first (they cannot be serialised).

    Returns:
        ``(text, truncated)``.
    """
    text = clean_string(text)
    if len(text) <= limit // 2:
        return text, False
    encoded = text.encode("utf-16-le")
    if len(encoded) // 2 <= limit:
        return text, False
    cut = encoded[: limit * 2]
    if 0xD8 <= cut[-1] <= 0xDB:  # high surrogate: drop the half pair
        cut = cut[:-2]
    return cut.decode("utf-16-le"), True


def _content_type(value: str | None) -> str | None:
    if not value:
        return None
    return value.split(";", 1)[0].strip().lower() or None


def _amz_meta(amz_meta: Mapping[str, Any] | None, *, lower: bool = True
              ) -> tuple[dict[str, str], list[str]]:
    """Pairs as stored and as ``name=value`` keywords; S3 lower-cases metadata names,
    not tag keys (``lower=False``)."""
    stored: dict[str, str] = {}
    for name, value in (amz_meta or {}).items():
        name = clean_string(str(name))
        stored[name.lower() if lower else name] = clean_string(str(value))
    kv = [f"{name}={value}" for name, value in sorted(stored.items())]
    return stored, kv


def build_document(
    *,
    bucket: str,
    key: str,
    version_id: str | None = None,
    size: int | None = None,
    etag: str | None = None,
    last_modified: datetime | str | None = None,
    content_type: str | None = None,
    user_meta: Any = None,
    amz_meta: Mapping[str, Any] | None = None,
    text: str | None = None,
    extraction_status: str | None = None,
    extraction_error: str | None = None,
    extraction_truncated: bool = False,
    extractor: str | None = None,
    extractor_version: str | None = None,
    deleted: bool = False,
    sequencer: str | None = None,
    is_latest: bool = True,
    indexed_at: datetime | None = None,
    meta_status: str | None = None,
    meta_error: str | None = None,
    meta_raw: str | None = None,
    source_digest: str | None = None,
    observed_at: datetime | None = None,
    doc_meta: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    storage_class: str | None = None,
    restore: str | None = None,
) -> dict[str, Any]:
    """The document of one object (or version, or delete marker when ``deleted``).

    ``user_meta`` is any JSON-like value (the ``user_meta`` of T4's ``helium``
    wrapper); ``amz_meta`` the other ``x-amz-meta-*`` headers. ``text`` is capped
    at ``MAX_TEXT_CHARS`` (``extraction_truncated`` is then set).
    ``indexed_at`` defaults to now.
    ``meta_status``/``meta_error`` say how the ``helium`` header read
    (``t4index.helium``); ``meta_raw``, the text of an unreadable header, is
    kept searchable in ``meta_text``. ``source_digest`` and ``observed_at`` are
    what the indexer's freshness rule compares (``indexer.freshness``).
    ``doc_meta`` is the extractor's metadata: only the fields declared in
    ``t4index.docmeta`` are kept, typed (``docmeta.clean``). ``tags`` are the
    object's S3 tags; ``storage_class`` its storage class; ``restore`` the state
    of an archived object's restore (``ongoing``, ``restored``, ``expired``).

    Returns:
        A dict of the fields in ``t4index.fields``; None values are left out.
    Raises:
        DocumentError: empty bucket or key, a key beyond ``MAX_KEY_BYTES``, a
            negative or non-integer size, or a last-modified that is not a date.
    """
    if not bucket or not isinstance(bucket, str):
        raise DocumentError(f"bucket must be a non-empty string, got {bucket!r}")
    if not key or not isinstance(key, str):
        raise DocumentError(f"key must be a non-empty string (bucket {bucket!r}), got {key!r}")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise DocumentError(
            f"key in bucket {bucket!r} is longer than {MAX_KEY_BYTES} bytes: {key[:80]!r}..."
        )
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise DocumentError(f"size of {key!r} must be a non-negative integer, got {size!r}")
    modified = None
    if last_modified is not None:
        modified = to_es_date(last_modified)
        if modified is None:
            raise DocumentError(f"last_modified of {key!r} is not a date: {last_modified!r}")
    flat = flatten_metadata(user_meta)
    amz_stored, amz_kv = _amz_meta(amz_meta)
    truncated = bool(extraction_truncated)
    capped = None
    if text is not None:
        capped, cut = cap_text(text)
        truncated = truncated or cut
    tags_stored, tags_kv = _amz_meta(tags, lower=False)
    typed = docmeta.clean(doc_meta)
    meta_text = " ".join([flat.text, clean_string(meta_raw or ""),
                          *(f"{n} {v}" for n, v in amz_stored.items()),
                          *(f"{n} {v}" for n, v in tags_stored.items())]).strip()
    doc: dict[str, Any] = {
        f.BUCKET: bucket,
        f.KEY: key,
        f.KEY_TOKENS: " ".join(key_tokens(key)),
        f.EXTENSION: extension_of(key),
        f.CONTENT_TYPE: _content_type(content_type),
        f.SIZE: size,
        f.ETAG: normalize_etag(etag),
        f.VERSION_ID: version_id,
        f.IS_LATEST: bool(is_latest),
        f.LAST_MODIFIED: modified,
        f.SEQUENCER: sequencer,
        f.DELETED: bool(deleted),
        f.INDEXED_AT: to_es_date(indexed_at or datetime.now(UTC)),
        f.USER_META: flat.stored,
        f.META_PAIRS: flat.pairs,
        f.META_TEXT: meta_text[:MAX_META_TEXT_CHARS] or None,
        f.META_TRUNCATED: flat.truncated,
        f.META_STATUS: meta_status,
        f.META_ERROR: clean_string(meta_error)[:MAX_ERROR_CHARS] if meta_error else None,
        f.SOURCE_DIGEST: source_digest,
        f.OBSERVED_AT: to_es_date(observed_at) if observed_at else None,
        f.AMZ_META: amz_stored or None,
        f.AMZ_META_KV: amz_kv,
        f.TEXT: capped,
        f.EXTRACTION_STATUS: extraction_status,
        f.EXTRACTION_ERROR: clean_string(extraction_error)[:MAX_ERROR_CHARS]
        if extraction_error
        else None,
        f.EXTRACTION_TRUNCATED: truncated,
        f.EXTRACTOR: extractor,
        f.EXTRACTOR_VERSION: extractor_version,
        f.DOC: typed or None,
        f.TAGS: tags_stored if tags is not None else None,
        f.TAGS_KV: tags_kv,
        f.STORAGE_CLASS: storage_class,
        f.RESTORE: restore,
    }
    return {name: value for name, value in doc.items() if value is not None}
