"""Search answers as small dataclasses: ``parse_response`` and its types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from t4index import fields as f
from t4index.dates import parse_iso
from t4index.errors import PartialResultsError, QueryError

if TYPE_CHECKING:
    from t4index.query import Cursor, SearchQuery


@dataclass(frozen=True)
class Hit:
    """One matching document: an object, or one version of it."""

    id: str
    index: str
    bucket: str
    key: str
    version_id: str | None
    size: int | None
    etag: str | None
    last_modified: datetime | None
    content_type: str | None
    extension: str
    is_latest: bool
    deleted: bool
    user_meta: Any
    amz_meta: dict[str, str]
    extraction_status: str | None
    score: float | None
    highlights: dict[str, list[str]] = field(default_factory=dict)
    extraction_error: str | None = None
    doc: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    storage_class: str | None = None


@dataclass(frozen=True)
class Facets:
    """Counts over all matches (not only the page).

    Attributes:
        extensions: match count per extension (``""`` for none), the largest first.
        other_extensions: matches whose extension is not among ``extensions``.
        total_size: the sum of the matches' sizes in bytes.
    """

    extensions: dict[str, int]
    other_extensions: int
    total_size: int


MAX_PARTIAL_REASONS = 5
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class Partial:
    """The shards a search could not read: its hits, total and facets miss their documents.

    Attributes:
        failed_shards: shards that failed or had no copy available.
        total_shards: shards the search was sent to.
        reasons: up to ``MAX_PARTIAL_REASONS`` distinct ``type: reason`` of the failures
            the engine listed (unassigned shards are counted, not listed).
    """

    failed_shards: int
    total_shards: int
    reasons: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for a warning or an error message."""
        why = f" ({'; '.join(self.reasons)})" if self.reasons else ""
        return (f"{self.failed_shards} of {self.total_shards} shards did not answer{why}; "
                "results may be missing matches")


def partial_of(shards: Mapping[str, Any] | None) -> Partial | None:
    """The ``Partial`` of a search answer's ``_shards`` header, or None when every shard
    answered (skipped shards held no match and count as answered)."""
    if not isinstance(shards, Mapping):
        return None
    total = int(shards.get("total") or 0)
    failed = int(shards.get("failed") or 0)
    answered = int(shards.get("successful") or 0) + int(shards.get("skipped") or 0)
    failed = max(failed, total - answered)
    if failed <= 0:
        return None
    reasons: list[str] = []
    for failure in shards.get("failures") or []:
        reason = failure.get("reason") if isinstance(failure, Mapping) else None
        if isinstance(reason, Mapping):
            text = f"{reason.get('type', '')}: {reason.get('reason', '')}"[:MAX_REASON_CHARS]
            if text not in reasons and len(reasons) < MAX_PARTIAL_REASONS:
                reasons.append(text)
    return Partial(failed_shards=failed, total_shards=total, reasons=tuple(reasons))


@dataclass(frozen=True)
class SearchPage:
    """One page of hits.

    Attributes:
        hits: at most ``page_size`` hits.
        total: number of matches (a lower bound when ``total_is_exact`` is False).
        has_more: another page exists.
        cursor: continues the search (None when there is no point in time or no
            more pages).
        pit_id: the point in time this page was read from (close it when done).
        facets: present when asked for on the first page.
        partial: None when every shard answered; otherwise which did not (the hits,
            total and facets miss their documents).
    """

    hits: list[Hit]
    total: int
    total_is_exact: bool
    has_more: bool
    cursor: Cursor | None
    pit_id: str | None
    facets: Facets | None
    partial: Partial | None = None


def _hit(raw: Mapping[str, Any]) -> Hit:
    src = raw.get("_source") or {}
    modified = src.get(f.LAST_MODIFIED)
    return Hit(
        id=raw["_id"],
        index=raw.get("_index", ""),
        bucket=src.get(f.BUCKET, ""),
        key=src.get(f.KEY, ""),
        version_id=src.get(f.VERSION_ID),
        size=src.get(f.SIZE),
        etag=src.get(f.ETAG),
        last_modified=parse_iso(modified) if isinstance(modified, str) else None,
        content_type=src.get(f.CONTENT_TYPE),
        extension=src.get(f.EXTENSION, ""),
        is_latest=bool(src.get(f.IS_LATEST, True)),
        deleted=bool(src.get(f.DELETED, False)),
        user_meta=src.get(f.USER_META),
        amz_meta=dict(src.get(f.AMZ_META) or {}),
        extraction_status=src.get(f.EXTRACTION_STATUS),
        score=raw.get("_score"),
        highlights={name: list(parts) for name, parts in (raw.get("highlight") or {}).items()},
        extraction_error=src.get(f.EXTRACTION_ERROR),
        doc=dict(src.get(f.DOC) or {}),
        tags=dict(src.get(f.TAGS) or {}),
        storage_class=src.get(f.STORAGE_CLASS),
    )


def _facets(aggs: Mapping[str, Any] | None) -> Facets | None:
    if not aggs or "extensions" not in aggs:
        return None
    terms = aggs["extensions"]
    return Facets(
        extensions={b["key"]: b["doc_count"] for b in terms.get("buckets", [])},
        other_extensions=int(terms.get("sum_other_doc_count", 0)),
        total_size=int((aggs.get("total_size") or {}).get("value") or 0),
    )


def parse_response(resp: Mapping[str, Any], query: SearchQuery,
                   pit_id: str | None = None) -> SearchPage:
    """Turn a ``_search`` answer for ``build_search_body(query)`` into a page.

    ``pit_id`` names the point in time later pages read from when the answer itself
    was read without one (the first page).

    Returns:
        The ``SearchPage``; its cursor carries the point in time; ``partial`` is set
        when some shards did not answer.
    Raises:
        QueryError: the answer is not a search response.
        PartialResultsError: some shards did not answer and ``query.allow_partial``
            is False.
    """
    from t4index.query import Cursor

    body = getattr(resp, "body", resp)
    try:
        raw_hits = list(body["hits"]["hits"])
        total = body["hits"].get("total") or {"value": len(raw_hits), "relation": "eq"}
    except (KeyError, TypeError) as exc:
        raise QueryError("not a search response: no hits.hits") from exc
    partial = partial_of(body.get("_shards"))
    if partial is not None and not query.allow_partial:
        raise PartialResultsError(f"incomplete search refused (allow_partial=False): "
                                  f"{partial.describe()}", partial)
    has_more = len(raw_hits) > query.page_size
    raw_hits = raw_hits[: query.page_size]
    pit_id = body.get("pit_id") or pit_id
    cursor = None
    if has_more and raw_hits and "sort" in raw_hits[-1]:
        cursor = Cursor(pit_id=pit_id, search_after=list(raw_hits[-1]["sort"]),
                        query_hash=query.fingerprint())
    return SearchPage(
        hits=[_hit(h) for h in raw_hits],
        total=int(total["value"]),
        total_is_exact=total.get("relation", "eq") == "eq",
        has_more=has_more,
        cursor=cursor,
        pit_id=pit_id,
        facets=_facets(body.get("aggregations")),
        partial=partial,
    )
