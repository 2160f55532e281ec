"""The query model: one ``SearchQuery`` for the client and the search API alike.

``build_search_body`` validates a query and builds the body of ``_search``;
it sends nothing. ``parse_response`` turns the answer into a ``SearchPage``.
Pagination uses a point in time and ``search_after`` with a ``_shard_doc``
tiebreak: the caller opens the point in time (``lifecycle.search_page`` does
it all) and passes it in a ``Cursor``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from t4index import docmeta
from t4index import fields as f
from t4index._predicates import OPERATORS, amz_meta_clauses, meta_clauses
from t4index.errors import QueryError
from t4index.filters import FILTERS, filter_clauses
from t4index.mapping import HIGHLIGHT_MAX_ANALYZED_OFFSET
from t4index.response import Facets, Hit, Partial, SearchPage, parse_response

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "OPERATORS",
    "SORTS",
    "TEXT_FIELDS",
    "Cursor",
    "Facets",
    "Hit",
    "Partial",
    "SearchPage",
    "SearchQuery",
    "build_search_body",
    "parse_response",
]

DEFAULT_PAGE_SIZE = 10
"""Hits per page when none is asked for: the same on every route (client, CLI, search API)."""
MAX_PAGE_SIZE = 1_000
"""Hits omit text and derived fields, so 1,000 hits stay well under 6 MB."""
MAX_TEXT_QUERY_CHARS = 1_000
MAX_EXPANDING_TERMS = 10
"""Fuzzy (``thor~``), prefix (``tho*``) terms per ``text`` at most: each expands into
up to ``FUZZY_MAX_EXPANSIONS`` terms over every text field, and 80 of them with
highlights held a search thread for 20 s."""
FUZZY_MAX_EXPANSIONS = 20
"""Terms one fuzzy term expands into at most (Elasticsearch's default is 50)."""
MAX_HIGHLIGHT_PAGE_SIZE = 100
"""Highlights are computed for every hit of a page: pages with highlights hold 100 at most."""
_EXPANDING = re.compile(r'(?<![\\"])(?:\*|~\d*)(?=$|[\s|+()])')
FACET_SIZE = 50
TEXT_FIELDS: tuple[str, ...] = (f"{f.KEY_TEXT}^3", f"{f.KEY_TOKENS}^2", f"{f.META_TEXT}^2", f.TEXT)
"""Fields (with boosts) that full-text queries search."""
_SORT_FIELDS = {"relevance": "_score", "key": f.KEY, "size": f.SIZE,
                "last_modified": f.LAST_MODIFIED}
SORTS: tuple[str, ...] = (
    *_SORT_FIELDS, *(f"-{name}" for name in _SORT_FIELDS if name != "relevance")
)
"""Accepted ``SearchQuery.sort`` values (``-`` means descending)."""
_KEEP_ALIVE = re.compile(r"[1-9]\d{0,3}(ms|s|m|h)")


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: a point in time and the last hit's sort values.

    ``pit_id=None``: the first page ran without a point in time (one request, and no
    cluster context left open for the many searches nobody pages through); the second
    page opens it. ``search_after=None`` is the first page of a freshly opened one.
    ``query_hash`` binds the cursor to the query it came from. The encoded form is
    not signed: an API that hands cursors to callers must sign it (and bind it
    to the caller's buckets) itself.
    """

    pit_id: str | None
    search_after: list[Any] | None = None
    query_hash: str | None = None
    buckets: list[str] | None = None

    def check_buckets(self, buckets: str | Sequence[str]) -> None:
        """Refuse this cursor unless it was issued for exactly ``buckets``.

        Raises:
            QueryError: the cursor names other buckets (or none: it was forged).
        """
        asked = sorted({buckets} if isinstance(buckets, str) else set(buckets))
        if self.buckets != asked:
            raise QueryError(f"cursor was issued for bucket(s) {', '.join(self.buckets or [])}"
                             f", not {', '.join(asked)}: continue a search with the same "
                             "buckets it started with")

    def encode(self) -> str:
        """An opaque URL-safe string of this cursor."""
        raw = json.dumps(asdict(self), separators=(",", ":"), allow_nan=False)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor of an ``encode()`` string.

        Raises:
            QueryError: the token is not a cursor.
        """
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            cursor = cls(**data)
        except (binascii.Error, ValueError, TypeError, RecursionError) as exc:
            raise QueryError("cursor is not valid (was it copied whole?)") from exc
        if not (cursor.pit_id is None or isinstance(cursor.pit_id, str)) or not (
            cursor.search_after is None or isinstance(cursor.search_after, list)
        ) or not (cursor.buckets is None or isinstance(cursor.buckets, list)):
            raise QueryError("cursor is not valid (was it copied whole?)")
        return cursor


@dataclass(frozen=True)
class SearchQuery:
    """One search over one or more buckets' aliases.

    Attributes:
        text: full text over content, key and metadata (``simple_query_string``
            syntax: ``+ | - " * ( ) ~``; terms are ANDed by default).
        meta: user-metadata predicates by dotted path, see "The index" in the README.
        amz_meta: plain ``x-amz-meta-*`` predicates: ``{"name": "value"}`` or
            ``{"name": {"exists": bool}}``.
        doc: extracted document metadata predicates (``t4index.docmeta``):
            ``{"pages": {"gte": 20}, "language": "fr"}``.
        tags: S3 object tag predicates, as ``amz_meta``: ``{"project": "x"}``.
        extensions: any of these extensions (``"csv"``, ``".CSV"``, ``"csv.gz"``).
        min_size, max_size: inclusive size bounds in bytes.
        modified_since, modified_before: last modified ``>=`` and ``<`` (datetime or ISO).
        key: exactly this key.
        key_prefix: keys starting with this string (case sensitive, any length).
        content_type: exactly this content type.
        meta_status: how the ``helium`` metadata read: ``none``, ``ok`` or
            ``unreadable`` (not a JSON object; its raw text is searchable).
        statuses: any of these extraction outcomes (``t4index.outcomes``).
        storage_class: exactly this S3 storage class.
        (The filters are declared in ``t4index.filters.FILTERS``.)
        include_versions: every version, not only each key's current state.
        include_deleted: also delete markers / tombstones.
        highlight: highlight matches of ``text`` (pages of at most ``MAX_HIGHLIGHT_PAGE_SIZE``).
        facets: counts by extension and total size (first page only).
        sort: one of ``SORTS``; ties are broken by index order.
        page_size: hits per page, 1..``MAX_PAGE_SIZE``.
        cursor: continue from a page's ``cursor`` (or a first-page ``Cursor``).
        keep_alive: how long the point in time lives between pages.
        allow_partial: when some shards fail or are unavailable (a node lost), return
            the hits of the others with ``SearchPage.partial`` set; False raises
            ``PartialResultsError`` instead.
    """

    text: str | None = None
    meta: Mapping[str, Any] | None = None
    amz_meta: Mapping[str, Any] | None = None
    doc: Mapping[str, Any] | None = None
    tags: Mapping[str, Any] | None = None
    extensions: Sequence[str] | None = None
    min_size: int | None = None
    max_size: int | None = None
    modified_since: datetime | date | str | None = None
    modified_before: datetime | date | str | None = None
    key: str | None = None
    key_prefix: str | None = None
    content_type: str | None = None
    meta_status: str | None = None
    statuses: Sequence[str] | None = None
    storage_class: str | None = None
    include_versions: bool = False
    include_deleted: bool = False
    highlight: bool = False
    facets: bool = False
    sort: str = "relevance"
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: Cursor | None = None
    keep_alive: str = "1m"
    allow_partial: bool = True

    def fingerprint(self) -> str:
        """A hash of what selects and orders hits (not paging, highlights or facets)."""
        chosen = {
            name: getattr(self, name)
            for name in ("text", "meta", "amz_meta", "doc", "tags", *(flt.name for flt in FILTERS),
                         "include_versions", "include_deleted", "sort")
        }
        raw = json.dumps(chosen, sort_keys=True, default=repr)
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _check_text(text: str) -> str:
    if not isinstance(text, str):
        raise QueryError(f"text must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT_QUERY_CHARS:
        raise QueryError(f"text is {len(text)} characters; the limit is {MAX_TEXT_QUERY_CHARS}")
    depth = 0
    quote_at = None
    escaped = False
    for pos, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quote_at = pos if quote_at is None else None
        elif quote_at is None and ch == "(":
            depth += 1
        elif quote_at is None and ch == ")":
            depth -= 1
            if depth < 0:
                raise QueryError(f"text: ')' at position {pos} closes nothing: {text!r}")
    if quote_at is not None:
        raise QueryError(f"text: the quote at position {quote_at} is never closed: {text!r}")
    if depth:
        raise QueryError(f"text: {depth} '(' never closed: {text!r}")
    expanding = len(_EXPANDING.findall(_outside_quotes(text)))
    if expanding > MAX_EXPANDING_TERMS:
        raise QueryError(f"text has {expanding} fuzzy or prefix terms (~ or *); the limit is "
                         f"{MAX_EXPANDING_TERMS}: each expands into many terms")
    return text.strip()


def _outside_quotes(text: str) -> str:
    """``text`` with quoted phrases blanked (``~N`` after a phrase is slop, not fuzziness)."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
        high is not None and value > high
    ):
        span = f"{low}..{high}" if high is not None else f">= {low}"
        raise QueryError(f"{name} must be an integer {span}, got {value!r}")


def _filters(q: SearchQuery) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    filters: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    if not q.include_versions:
        filters.append({"term": {f.IS_LATEST: True}})
    if not q.include_deleted:
        filters.append({"term": {f.DELETED: False}})
    filters.extend(filter_clauses({flt.name: getattr(q, flt.name) for flt in FILTERS}))
    none: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    for clauses in (meta_clauses(q.meta) if q.meta is not None else none,
                    amz_meta_clauses(q.amz_meta) if q.amz_meta is not None else none,
                    docmeta.doc_clauses(q.doc) if q.doc is not None else none,
                    amz_meta_clauses(q.tags, field=f.TAGS_KV, what="tags")
                    if q.tags is not None else none):
        filters.extend(clauses[0])
        must_not.extend(clauses[1])
    return filters, must_not


TIEBREAK: tuple[dict[str, Any], ...] = (
    {f.BUCKET: "asc"}, {f.KEY: "asc"}, {f.VERSION_ID: {"order": "asc", "missing": "_last"}})


def _sort(q: SearchQuery) -> list[dict[str, Any]]:
    if q.sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}; got {q.sort!r}")
    name = q.sort.lstrip("-")
    order = "desc" if q.sort.startswith("-") or name == "relevance" else "asc"
    spec: dict[str, Any] = {"order": order}
    if name in ("size", "last_modified"):
        spec["missing"] = "_last"
    # The tiebreak names one document (one per key, or per version) in every bucket, and
    # works with and without a point in time: the first page runs without one.
    return [{_SORT_FIELDS[name]: spec}, *TIEBREAK]


def _highlight() -> dict[str, Any]:
    whole = {"number_of_fragments": 0}
    return {
        "encoder": "html",
        "max_analyzed_offset": HIGHLIGHT_MAX_ANALYZED_OFFSET,
        "fields": {
            f.TEXT: {"fragment_size": 150, "number_of_fragments": 3},
            f.META_TEXT: {"fragment_size": 150, "number_of_fragments": 2},
            f.KEY_TEXT: whole,
            f.KEY_TOKENS: whole,
        },
    }


def build_search_body(q: SearchQuery) -> dict[str, Any]:
    """Validate ``q`` and build the body of a ``_search`` request.

    With a cursor the body names the point in time (send it without an index);
    without one, send it to the buckets' aliases. ``size`` is one more than the
    page size, so ``parse_response`` knows whether another page exists.

    Returns:
        The request body.
    Raises:
        QueryError: any invalid part of ``q``, with the reason.
    """
    if not isinstance(q, SearchQuery):
        raise QueryError(f"expected a SearchQuery, got {type(q).__name__}")
    _check_int("page_size", q.page_size, 1, MAX_PAGE_SIZE)
    if not isinstance(q.allow_partial, bool):
        raise QueryError(f"allow_partial must be true or false, got {q.allow_partial!r}")
    if q.highlight is True and q.text and q.page_size > MAX_HIGHLIGHT_PAGE_SIZE:
        raise QueryError(f"highlights are computed for every hit: ask for at most "
                         f"{MAX_HIGHLIGHT_PAGE_SIZE} hits with highlight, or turn it off "
                         f"(page_size is {q.page_size})")
    filters, must_not = _filters(q)
    text = _check_text(q.text) if q.text is not None else ""
    query: dict[str, Any] = {"filter": filters}
    if must_not:
        query["must_not"] = must_not
    if text:
        query["must"] = [{"simple_query_string": {
            "query": text, "fields": list(TEXT_FIELDS), "default_operator": "and",
            "lenient": True, "analyze_wildcard": True,
            "fuzzy_max_expansions": FUZZY_MAX_EXPANSIONS}}]
    body: dict[str, Any] = {
        "query": {"bool": query},
        "size": q.page_size + 1,
        "sort": _sort(q),
        "_source": {"excludes": list(f.SOURCE_EXCLUDES)},
        "track_scores": True,
    }
    continuing = False
    if q.cursor is not None:
        cursor = q.cursor
        if not isinstance(cursor, Cursor):
            raise QueryError(f"cursor must be a Cursor, got {type(cursor).__name__}")
        if not isinstance(q.keep_alive, str) or not _KEEP_ALIVE.fullmatch(q.keep_alive):
            raise QueryError(f"keep_alive must look like '1m' or '30s', got {q.keep_alive!r}")
        if cursor.query_hash is not None and cursor.query_hash != q.fingerprint():
            raise QueryError("cursor belongs to a different query: send the same query "
                             "(text, filters, sort) with the cursor of its last page")
        if cursor.pit_id is not None:
            body["pit"] = {"id": cursor.pit_id, "keep_alive": q.keep_alive}
        if cursor.search_after is not None:
            body["search_after"] = list(cursor.search_after)
            continuing = True
    if q.highlight and text:
        body["highlight"] = _highlight()
    if q.facets and not continuing:
        body["aggs"] = {
            "extensions": {"terms": {"field": f.EXTENSION, "size": FACET_SIZE}},
            "total_size": {"sum": {"field": f.SIZE}},
        }
    return body
