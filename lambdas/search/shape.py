"""A ``SearchPage`` as the API's JSON answer, kept under Lambda's 6 MB response limit.

The answer and hit shapes are ``t4index.wire``'s (``encode_page``), which the client
decodes with. Every hit of the page is
returned (dropping one would make the cursor skip it): when the answer would be
too large, highlights and then metadata are left out of the last hits first, and
those hits list what was left out in ``"omitted"``.
"""

from __future__ import annotations

import json
from typing import Any

from t4index.query import SearchPage
from t4index.wire import encode_page

MAX_RESPONSE_BYTES = 5_500_000
"""Below Lambda's 6 MB, leaving room for API Gateway's envelope."""


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


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
        ``{"hits", "total", "total_is_exact", "has_more", "cursor", "facets", "partial"}``.
    """
    body = encode_page(page, cursor)
    hits = body["hits"]
    over = _size(body) - limit
    if over > 0:
        _shrink(hits, over)
    return body


def dumps(body: Any) -> str:
    """Serialize an answer (UTF-8 kept as is: escapes would inflate non-ASCII keys six times)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
