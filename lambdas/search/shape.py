"""A ``SearchPage`` as the API's JSON answer, kept under Lambda's 6 MB response limit.

Each hit is ``{bucket, key, version_id, size, last_modified, etag, content_type,
extension, is_latest, deleted, user_meta, amz_meta, extraction_status, score,
highlights}``; highlight
fields are named ``content``, ``key`` and ``meta``. Every hit of the page is
returned (dropping one would make the cursor skip it): when the answer would be
too large, highlights and then metadata are left out of the last hits first, and
those hits list what was left out in ``"omitted"``.
"""

from __future__ import annotations

import json
from typing import Any

from t4index import fields as f
from t4index.query import SearchPage

MAX_RESPONSE_BYTES = 5_500_000
"""Below Lambda's 6 MB, leaving room for API Gateway's envelope."""
MAX_FRAGMENTS = 5
MAX_FRAGMENT_CHARS = 1_000
HIGHLIGHT_NAMES = {f.TEXT: "content", f.KEY_TEXT: "key", f.KEY_TOKENS: "key", f.META_TEXT: "meta"}


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _highlights(raw: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field, fragments in raw.items():
        name = HIGHLIGHT_NAMES.get(field, field)
        kept = out.setdefault(name, [])
        for fragment in fragments:
            if len(kept) < MAX_FRAGMENTS and fragment[:MAX_FRAGMENT_CHARS] not in kept:
                kept.append(fragment[:MAX_FRAGMENT_CHARS])
    return out


def _hit(hit: Any) -> dict[str, Any]:
    modified = hit.last_modified
    return {
        "bucket": hit.bucket, "key": hit.key, "version_id": hit.version_id, "size": hit.size,
        "last_modified": (modified.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                          if modified else None),
        "etag": hit.etag, "content_type": hit.content_type, "extension": hit.extension,
        "is_latest": hit.is_latest, "deleted": hit.deleted, "user_meta": hit.user_meta,
        "amz_meta": hit.amz_meta, "extraction_status": hit.extraction_status,
        "score": hit.score, "highlights": _highlights(hit.highlights),
    }


def _shrink(hits: list[dict[str, Any]], over: int) -> None:
    """Leave out highlights, then metadata, from the last hits until ``over`` bytes are saved."""
    for fields in (("highlights",), ("user_meta", "amz_meta")):
        for hit in reversed(hits):
            if over <= 0:
                return
            for name in fields:
                empty: Any = {} if name != "user_meta" else None
                if hit[name] not in (empty, None):
                    before = _size(hit)
                    hit[name] = empty
                    hit.setdefault("omitted", []).append(name)
                    over -= before - _size(hit)


def page_body(page: SearchPage, cursor: str | None,
              limit: int = MAX_RESPONSE_BYTES) -> dict[str, Any]:
    """The JSON body of ``page``; ``cursor`` is the signed next-page cursor or None.

    Returns:
        ``{"hits", "total", "total_is_exact", "has_more", "cursor", "facets"}``.
    """
    hits = [_hit(h) for h in page.hits]
    facets = None if page.facets is None else {
        "extensions": page.facets.extensions, "other_extensions": page.facets.other_extensions,
        "total_size": page.facets.total_size}
    body = {"hits": hits, "total": page.total, "total_is_exact": page.total_is_exact,
            "has_more": page.has_more, "cursor": cursor, "facets": facets}
    over = _size(body) - limit
    if over > 0:
        _shrink(hits, over)
    return body


def dumps(body: Any) -> str:
    """Serialize an answer (UTF-8 kept as is: escapes would inflate non-ASCII keys six times)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
