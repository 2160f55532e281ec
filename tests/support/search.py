"""Search helpers shared by the index tests."""

from __future__ import annotations

from typing import Any

from t4index import lifecycle
from t4index.query import SearchQuery


def keys(es: Any, bucket: str, **kwargs: Any) -> set[str]:
    """The keys one page of ``SearchQuery(**kwargs)`` finds in ``bucket`` (all of them)."""
    page = lifecycle.search_page(es, bucket, SearchQuery(page_size=1000, **kwargs))
    assert not page.has_more
    return {hit.key for hit in page.hits}
