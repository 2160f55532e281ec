"""``Bucket.search``: one query model (``t4index``), two routes to the catalog.

- the search API (``t4.config(search_api_url=...)``): SigV4-signed HTTP, the API
  decides which buckets you may search;
- Elasticsearch directly (``t4.config(es_url=..., es_api_key=...)``): the cluster
  authorizes, e.g. an API key or user limited to one bucket's alias.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from t4._config import load
from t4._errors import SearchNotConfiguredError
from t4._search_api import (  # one error tree for both routes
    SearchAccessDeniedError,
    SearchError,
    SearchQueryError,
    SearchUnavailableError,
)

HOW_TO_CONFIGURE = (
    "configure a catalog first: t4.config(search_api_url='https://<api-id>.execute-api."
    "<region>.amazonaws.com') for the deployed search API, or t4.config(es_url="
    "'https://...', es_api_key='...') for Elasticsearch directly (or set T4_SEARCH_API_URL "
    "/ T4_ES_URL)")


@dataclass(frozen=True)
class SearchHit:
    """One object that matched."""

    key: str
    version_id: str | None
    size: int | None
    last_modified: datetime | None
    meta: Any
    score: float | None
    highlights: dict[str, list[str]] = field(default_factory=dict)
    extension: str = ""
    content_type: str | None = None
    deleted: bool = False


@dataclass(frozen=True)
class SearchResults(Sequence[SearchHit]):
    """A page of hits in relevance order, with the cursor of the next page."""

    hits: list[SearchHit]
    total: int
    cursor: str | None
    facets: dict[str, Any] | None = None

    def __getitem__(self, index):  # type: ignore[override]
        return self.hits[index]

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self) -> Iterator[SearchHit]:
        return iter(self.hits)

    def to_dataframe(self) -> Any:
        """The hits as a ``pandas.DataFrame`` (needs pandas: ``pip install t4-search[data]``)."""
        import pandas as pd

        return pd.DataFrame([{
            "key": h.key, "version_id": h.version_id, "size": h.size,
            "last_modified": h.last_modified, "score": h.score, "meta": h.meta,
            "highlights": h.highlights} for h in self.hits])


def _hit(raw: Any) -> SearchHit:
    return SearchHit(key=raw.key, version_id=raw.version_id, size=raw.size,
                     last_modified=raw.last_modified, meta=raw.user_meta, score=raw.score,
                     highlights=dict(raw.highlights), extension=raw.extension,
                     content_type=raw.content_type, deleted=raw.deleted)


def _facets(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    return {"extensions": dict(raw.extensions), "other_extensions": raw.other_extensions,
            "total_size": raw.total_size}


def build_query(query: str | Mapping[str, Any] | None, *, meta: Mapping[str, Any] | None,
                limit: int, extensions: Sequence[str] | None, min_size: int | None,
                max_size: int | None, modified_since: datetime | date | str | None,
                modified_before: datetime | date | str | None, prefix: str | None,
                include_deleted: bool, versions: bool, highlight: bool, facets: bool) -> Any:
    """The ``t4index.SearchQuery`` of ``Bucket.search``'s arguments."""
    from t4index.query import SearchQuery

    text, metadata = None, dict(meta or {})
    if isinstance(query, str):
        text = query
    elif isinstance(query, Mapping):
        metadata = {**dict(query), **metadata}
    elif query is not None:
        raise SearchQueryError(f"query must be a string (full text) or a dict (metadata), "
                               f"not {type(query).__name__}")
    # Validated where it is built into a request: here for the direct route, by the API
    # for the other (its 400 becomes SearchQueryError too).
    return SearchQuery(text=text or None, meta=metadata or None, extensions=extensions,
                       min_size=min_size, max_size=max_size, modified_since=modified_since,
                       modified_before=modified_before, key_prefix=prefix,
                       include_deleted=include_deleted, include_versions=versions,
                       highlight=highlight, facets=facets, page_size=limit)


_backends: dict[tuple, Any] = {}
_lock = threading.Lock()


def _direct_client(settings: Mapping[str, str]) -> Any:
    from t4index.engine import EngineConfig, connect

    key = tuple(sorted(settings.items()))
    with _lock:
        if key not in _backends:
            _backends[key] = connect(EngineConfig(
                url=settings.get("es_url"), cloud_id=settings.get("es_cloud_id"),
                username=settings.get("es_username"), password=settings.get("es_password"),
                api_key=settings.get("es_api_key"), ca_certs=settings.get("es_ca_certs")))
        return _backends[key]


def run_search(bucket: str, q: Any, cursor: str | None, session: Any = None) -> SearchResults:
    """Send ``q`` over ``bucket`` by the configured route.

    Raises:
        SearchNotConfiguredError: no route is configured (the message says how).
        SearchQueryError: the query or cursor is malformed.
        SearchError: the backend refused or is unavailable.
    """
    settings = load()
    if settings.get("search_api_url"):
        from t4._search_api import SearchApiClient

        client = SearchApiClient(settings["search_api_url"], session=session)
        page = client.search_query(bucket, q, cursor=cursor)
        return SearchResults([_hit(h) for h in page.hits], page.total, page.cursor,
                             _facets(page.facets))
    if settings.get("es_url") or settings.get("es_cloud_id"):
        return _search_direct(_direct_client(settings), bucket, q, cursor)
    raise SearchNotConfiguredError(f"search on s3://{bucket} is not configured: "
                                   f"{HOW_TO_CONFIGURE}")


def _search_direct(es: Any, bucket: str, q: Any, cursor: str | None) -> SearchResults:
    from dataclasses import replace

    from t4index.errors import IndexStateError, QueryError
    from t4index.lifecycle import search_page
    from t4index.query import Cursor

    try:
        if cursor:
            q = replace(q, cursor=Cursor.decode(cursor))
        page = search_page(es, bucket, q)
    except QueryError as exc:
        raise SearchQueryError(str(exc)) from exc
    except IndexStateError as exc:
        cause = exc.__cause__
        status = getattr(cause, "status_code", None) or getattr(cause, "meta", None)
        status = getattr(status, "status", status)
        if status in (401, 403):
            raise SearchAccessDeniedError(
                f"Elasticsearch refused the search of s3://{bucket}: check that your "
                f"credentials may read this bucket's index ({exc})") from exc
        if status == 404:
            raise SearchError(f"s3://{bucket} has no index yet: it is not connected to this "
                              "catalog, or nothing was indexed", status=404) from exc
        raise SearchUnavailableError(f"search of s3://{bucket} failed: {exc}") from exc
    next_cursor = page.cursor.encode() if page.cursor and page.has_more else None
    return SearchResults([_hit(h) for h in page.hits], page.total, next_cursor,
                         _facets(page.facets))
