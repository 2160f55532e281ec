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
from datetime import datetime
from typing import Any

from t4._config import load
from t4._errors import SearchNotConfiguredError
from t4._search_api import (  # one error tree for both routes
    SearchAccessDeniedError,
    SearchError,
    SearchPartialError,
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
    """One object that matched.

    Attributes:
        key, version_id, size, last_modified, extension, content_type, deleted: the object.
        meta: the user metadata ``put*`` stored (``meta=``).
        score: relevance (None when sorted otherwise).
        highlights: matched snippets by where they matched (``content``, ``key``, ``meta``).
        status: the extraction outcome (``ok``, ``truncated``, ``unreadable`` ...; the
            list is in ``t4index.outcomes``), None when nothing was extracted yet.
        status_reason: why the outcome is not ``ok`` (names the limit or the parser's
            message), else None.
        doc: extracted document metadata (``title``, ``authors``, ``pages``,
            ``language``, ``columns`` ...; declared in ``t4index.docmeta``).
        tags: the object's S3 tags.
        storage_class: the object's S3 storage class, when recorded.
    """

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
    status: str | None = None
    status_reason: str | None = None
    doc: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    storage_class: str | None = None


@dataclass(frozen=True)
class SearchResults(Sequence[SearchHit]):
    """A page of hits in relevance order, with the cursor of the next page.

    ``partial`` is None when every shard of the catalog answered. Otherwise some did
    not (a node was lost): the hits, ``total`` and ``facets`` may miss matches, and
    ``partial`` says ``{"failed_shards", "total_shards", "reasons"}``; search again
    later, or pass ``allow_partial=False`` to get ``SearchPartialError`` instead.
    """

    hits: list[SearchHit]
    total: int
    cursor: str | None
    facets: dict[str, Any] | None = None
    partial: dict[str, Any] | None = None

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
            "highlights": h.highlights, "status": h.status, "doc": h.doc, "tags": h.tags}
            for h in self.hits])


def _results(page: Any) -> SearchResults:
    """``SearchResults`` of a ``t4index.wire.WirePage``: the one shape both routes decode to."""
    hits = [SearchHit(key=h.key, version_id=h.version_id, size=h.size,
                      last_modified=h.last_modified, meta=h.user_meta, score=h.score,
                      highlights=dict(h.highlights), extension=h.extension,
                      content_type=h.content_type, deleted=h.deleted,
                      status=h.extraction_status, status_reason=h.extraction_error,
                      doc=dict(h.doc), tags=dict(h.tags), storage_class=h.storage_class)
            for h in page.hits]
    facets = None if page.facets is None else {
        "extensions": dict(page.facets.extensions),
        "other_extensions": page.facets.other_extensions,
        "total_size": page.facets.total_size}
    from t4index.wire import encode_partial

    return SearchResults(hits, page.total, page.cursor, facets, encode_partial(page.partial))


def build_query(query: str | Mapping[str, Any] | None, *, meta: Mapping[str, Any] | None,
                limit: int, doc: Mapping[str, Any] | None = None,
                tags: Mapping[str, Any] | None = None, include_deleted: bool, versions: bool,
                highlight: bool | None, facets: bool, filters: Mapping[str, Any],
                allow_partial: bool = True) -> Any:
    """The ``t4index.SearchQuery`` of ``Bucket.search``'s arguments.

    ``filters`` maps ``Bucket.search`` keywords of ``t4index.filters.FILTERS`` to values
    (None: not filtered). ``highlight=None`` highlights pages of up to
    ``MAX_HIGHLIGHT_PAGE_SIZE`` hits.

    Raises:
        SearchQueryError: ``query`` is neither text nor a dict, or an unknown filter.
    """
    from t4index.filters import by_keyword
    from t4index.query import MAX_HIGHLIGHT_PAGE_SIZE, SearchQuery

    text, metadata = None, dict(meta or {})
    if isinstance(query, str):
        text = query
    elif isinstance(query, Mapping):
        metadata = {**dict(query), **metadata}
    elif query is not None:
        raise SearchQueryError(f"query must be a string (full text) or a dict (metadata), "
                               f"not {type(query).__name__}")
    declared = by_keyword()
    unknown = sorted(set(filters) - set(declared))
    if unknown:
        raise SearchQueryError(f"unknown filter(s) {', '.join(unknown)}; the filters are "
                               f"{', '.join(declared)}")
    chosen = {declared[k].name: [v] if isinstance(v, str) and declared[k].kind == "terms" else v
              for k, v in filters.items() if v is not None}
    if highlight is None:
        highlight = isinstance(limit, int) and limit <= MAX_HIGHLIGHT_PAGE_SIZE
    # Validated before any request, on both routes (t4index.query.build_search_body).
    return SearchQuery(text=text or None, meta=metadata or None, doc=doc, tags=tags,
                       include_deleted=include_deleted,
                       include_versions=versions, highlight=highlight, facets=facets,
                       page_size=limit, allow_partial=allow_partial, **chosen)


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
                api_key=settings.get("es_api_key"), ca_certs=settings.get("es_ca_certs"),
                engine=settings.get("es_engine") or "auto",
                sigv4_region=settings.get("es_sigv4_region")))
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
        return _results(client.search_query(bucket, q, cursor=cursor))
    if settings.get("es_url") or settings.get("es_cloud_id"):
        return _search_direct(_direct_client(settings), bucket, q, cursor)
    raise SearchNotConfiguredError(f"search on s3://{bucket} is not configured: "
                                   f"{HOW_TO_CONFIGURE}")


def _search_direct(es: Any, bucket: str, q: Any, cursor: str | None) -> SearchResults:
    from dataclasses import replace

    from t4index.errors import (
        CursorExpiredError,
        EngineAccessDeniedError,
        IndexMissingError,
        PartialResultsError,
        QueryError,
        T4IndexError,
    )
    from t4index.lifecycle import search_page
    from t4index.query import Cursor
    from t4index.wire import decode_page, encode_page

    try:
        if cursor:
            q = replace(q, cursor=Cursor.decode(cursor))
        page = search_page(es, bucket, q)
    except QueryError as exc:  # the query model's, or the engine's 400
        raise SearchQueryError(str(exc)) from exc
    except PartialResultsError as exc:
        raise SearchPartialError(f"search of s3://{bucket}: {exc}") from exc
    except CursorExpiredError as exc:
        raise SearchQueryError("cursor has expired; start the search again without a "
                               "cursor") from exc
    except EngineAccessDeniedError as exc:
        raise SearchAccessDeniedError(
            f"the search engine refused the search of s3://{bucket}: check that your "
            f"credentials may read this bucket's index ({exc})") from exc
    except IndexMissingError as exc:
        raise SearchError(f"s3://{bucket} has no index yet: it is not connected to this "
                          "catalog, or nothing was indexed", status=404) from exc
    except T4IndexError as exc:  # unavailable, timed out, or another refusal
        raise SearchUnavailableError(f"search of s3://{bucket} failed: {exc}") from exc
    next_cursor = page.cursor.encode() if page.cursor and page.has_more else None
    # Through the wire shape, as the API route: one hit shape whatever the route.
    return _results(decode_page(encode_page(page, next_cursor)))
