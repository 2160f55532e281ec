"""The search API's wire format: one module for the client and the search Lambda.

A request is a JSON object: ``buckets``, an optional ``cursor`` string and the
fields of :data:`FIELDS`, each the ``SearchQuery`` attribute of the same name, left
out when it has its default (the defaults are ``SearchQuery``'s, so both sides
agree on what an absent field means). Values have exactly one encoding each:

=========================  ==========================================================
Python                     JSON
=========================  ==========================================================
str, bool, None            the same
int                        a number (any size)
float, ``Decimal``         a number (finite only)
datetime, date             ``{"$date": "2024-03-05T00:00:00.000Z"}`` inside ``meta``;
                           the ISO string for the ``since``/``before`` filters
list, tuple, set           an array (sets only where order does not matter: ``in``,
                           filter lists)
=========================  ==========================================================

Anything else (an arbitrary object, NaN, infinity, a non-string dict key) is a
``QueryError`` before any request: :func:`encode_request` validates the whole query
with the query model first. An answer is ``{"hits", "total", "total_is_exact",
"has_more", "cursor", "facets", "partial"}``; :func:`encode_page` and
:func:`decode_page` are its two directions, and each hit has one shape,
:data:`HIT_FIELDS`. ``partial`` is null when every shard answered, else
``{"failed_shards", "total_shards", "reasons"}`` (``t4index.Partial``): both routes
carry it, so an incomplete answer is never mistaken for a complete one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from t4index import fields as f
from t4index.dates import parse_iso, to_es_date
from t4index.errors import QueryError
from t4index.filters import FILTERS
from t4index.query import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    SORTS,
    Facets,
    Hit,
    Partial,
    SearchPage,
    SearchQuery,
    build_search_body,
)
from t4index.s3 import is_bucket_name

__all__ = [
    "FIELDS",
    "HIT_FIELDS",
    "MAX_BODY_BYTES",
    "MAX_BUCKETS",
    "MAX_DEPTH",
    "RequestTooLarge",
    "WireField",
    "WirePage",
    "WireRequest",
    "decode_page",
    "decode_request",
    "dumps",
    "decode_partial",
    "encode_page",
    "encode_partial",
    "encode_request",
]

MAX_BODY_BYTES = 64 * 1024
MAX_BUCKETS = 20
MAX_DEPTH = 8
"""JSON nesting a request may have (``meta`` -> path -> operators -> ``in`` list -> value)."""
DATE_TAG = "$date"
MAX_FRAGMENTS = 5
MAX_FRAGMENT_CHARS = 1_000
HIGHLIGHT_NAMES = {f.TEXT: "content", f.KEY_TEXT: "key", f.KEY_TOKENS: "key", f.META_TEXT: "meta"}
"""Highlighted index fields by the name a hit shows them under."""
HIT_FIELDS: tuple[str, ...] = (
    "bucket", "key", "version_id", "size", "last_modified", "etag", "content_type", "extension",
    "is_latest", "deleted", "user_meta", "amz_meta", "extraction_status", "extraction_error",
    "doc", "tags", "storage_class", "score", "highlights")
"""The fields of a hit on the wire, in order."""


class RequestTooLarge(QueryError):
    """The request body is over ``MAX_BODY_BYTES``."""


@dataclass(frozen=True)
class WireField:
    """One request field: its JSON type and the default an absent field stands for."""

    name: str
    json_type: str
    default: Any


def _fields() -> tuple[WireField, ...]:
    defaults = {fld.name: fld.default for fld in fields(SearchQuery)}
    types = {"text": "string", "meta": "object", "amz_meta": "object", "doc": "object",
             "tags": "object", "sort": "string",
             "page_size": "integer", "include_versions": "boolean",
             "include_deleted": "boolean", "highlight": "boolean", "facets": "boolean",
             "allow_partial": "boolean",
             **{flt.name: flt.json_type for flt in FILTERS}}
    missing = set(defaults) - set(types) - {"cursor", "keep_alive"}
    if missing:  # a SearchQuery attribute nobody declared: fail at import, not in production
        raise RuntimeError(f"t4index.wire: no wire type for SearchQuery field(s) {missing}")
    return tuple(WireField(name, types[name], defaults[name]) for name in defaults
                 if name in types)


FIELDS: tuple[WireField, ...] = _fields()
"""Every query field of a request (``buckets`` and ``cursor`` besides)."""
_BY_NAME = {fld.name: fld for fld in FIELDS}
_OBJECTS = frozenset(fld.name for fld in FIELDS if fld.json_type == "object")
"""Predicate dicts: their dates travel tagged (``{"$date": ...}``)."""


# --- values -------------------------------------------------------------------------------

def _encode(value: Any, where: str, *, in_meta: bool) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not finite:
            raise QueryError(f"{where}: {value!r} cannot be sent (not a finite number)")
        number = float(value)
        if not math.isfinite(number):
            raise QueryError(f"{where}: {value!r} is beyond a double's range")
        return number
    if isinstance(value, datetime | date):
        iso = to_es_date(value)
        if iso is None:
            raise QueryError(f"{where}: {value!r} is not a date the index can hold")
        return {DATE_TAG: iso} if in_meta else iso
    if isinstance(value, Mapping):
        out = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise QueryError(f"{where}: keys must be strings, got {name!r}")
            out[name] = _encode(item, f"{where}.{name}", in_meta=in_meta)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [_encode(item, where, in_meta=in_meta) for item in value]
    raise QueryError(f"{where}: a value of type {type(value).__name__} ({value!r}) cannot be "
                     "searched for; use str, int, float, Decimal, bool, None, datetime or date")


def _decode(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise QueryError(f"request nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if list(value) == [DATE_TAG]:
            parsed = parse_iso(value[DATE_TAG]) if isinstance(value[DATE_TAG], str) else None
            if parsed is None:
                raise QueryError(f"{DATE_TAG} must hold an ISO 8601 date, got "
                                 f"{value[DATE_TAG]!r}")
            return parsed
        return {name: _decode(item, depth + 1) for name, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, depth + 1) for item in value]
    return value


def dumps(value: Any) -> bytes:
    """The strict JSON of ``value`` (no NaN, no fallback for unknown types), UTF-8 kept.

    Raises:
        QueryError: a value JSON cannot carry exactly.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise QueryError(f"cannot be sent as JSON: {exc}") from exc
    return text.encode("utf-8", "surrogatepass")


# --- requests -----------------------------------------------------------------------------

def encode_request(buckets: str | Sequence[str], query: SearchQuery,
                   cursor: str | None = None) -> dict[str, Any]:
    """The request for ``query`` over ``buckets`` (fields at their default left out).

    The query is validated by the query model first, so a query that would fail on
    the direct route fails here too, before any request.

    Returns:
        The JSON-ready request.
    Raises:
        QueryError: the query is invalid, carries a ``SearchQuery.cursor`` (the API
            takes the string cursor of its previous page), or holds a value with no
            encoding.
    """
    if not isinstance(query, SearchQuery):
        raise QueryError(f"expected a SearchQuery, got {type(query).__name__}")
    if query.cursor is not None:
        raise QueryError("the search API takes the string cursor of its previous page "
                         "(cursor=...), not a SearchQuery.cursor")
    build_search_body(query)
    body: dict[str, Any] = {"buckets": [buckets] if isinstance(buckets, str) else list(buckets)}
    for fld in FIELDS:
        value = getattr(query, fld.name)
        if value is None or value == fld.default:
            continue
        body[fld.name] = _encode(value, fld.name, in_meta=fld.name in _OBJECTS)
    if cursor is not None:
        body["cursor"] = cursor
    return body


@dataclass(frozen=True)
class WireRequest:
    """A decoded request: buckets, the cursor string, the ``SearchQuery`` keyword arguments."""

    buckets: tuple[str, ...]
    cursor: str | None
    query: Mapping[str, Any]

    @property
    def page_size(self) -> int:
        """The page size asked for."""
        return self.query["page_size"]


_JSON_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool}
_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
               float: "number", type(None): "null"}


def _check_type(fld: WireField, value: Any) -> None:
    if fld.json_type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, _JSON_TYPES[fld.json_type])
        if ok and fld.json_type == "array":
            ok = all(isinstance(v, str) for v in value)
    if not ok:
        expected = {"string": "a string", "object": "an object", "integer": "an integer",
                    "boolean": "true or false", "array": "an array of strings"}[fld.json_type]
        raise QueryError(f"'{fld.name}' must be {expected}, "
                         f"got {_TYPE_NAMES.get(type(value), 'value')}")


def _buckets(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise QueryError("'buckets' must be a non-empty array of bucket names")
    if len(value) > MAX_BUCKETS:
        raise QueryError(f"'buckets' names {len(value)} buckets; the limit is {MAX_BUCKETS}")
    for bucket in value:
        if not is_bucket_name(bucket):
            raise QueryError(f"'buckets': {bucket!r} is not an S3 bucket name")
    return tuple(dict.fromkeys(value))


def decode_request(raw: str | bytes | None, max_page: int = MAX_PAGE_SIZE) -> WireRequest:
    """Check a request body against the schema and decode its values.

    Returns:
        The ``WireRequest``; its ``query`` holds every field of ``FIELDS`` that was
        given, and ``page_size`` always (default ``min(DEFAULT_PAGE_SIZE, max_page)``).
    Raises:
        RequestTooLarge: the body is over ``MAX_BODY_BYTES``.
        QueryError: not a JSON object, nested too deep, an unknown field, a wrong type,
            a page over ``max_page``.
    """
    data = raw.encode() if isinstance(raw, str) else (raw or b"")
    if len(data) > MAX_BODY_BYTES:
        raise RequestTooLarge(f"request body is {len(data)} bytes; the limit is "
                              f"{MAX_BODY_BYTES}")
    try:
        parsed = json.loads(data) if data.strip() else None
    except RecursionError as exc:
        raise QueryError(f"request nests deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise QueryError(f"request body is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise QueryError('request body must be a JSON object such as '
                         '{"buckets": ["my-bucket"], "text": "thor"}')
    accepted = {"buckets", "cursor", *_BY_NAME}
    unknown = sorted(set(parsed) - accepted)
    if unknown:
        raise QueryError(f"unknown field(s) {', '.join(unknown)}; "
                         f"accepted: {', '.join(sorted(accepted))}")
    if "buckets" not in parsed:
        raise QueryError("'buckets' is required: the buckets to search")
    cursor = parsed.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise QueryError(f"'cursor' must be a string, got {_TYPE_NAMES.get(type(cursor))}")
    query: dict[str, Any] = {}
    for name, value in parsed.items():
        if value is None or name in ("buckets", "cursor"):
            continue
        fld = _BY_NAME[name]
        _check_type(fld, value)
        query[name] = _decode(value)
    page_size = query.setdefault("page_size", min(DEFAULT_PAGE_SIZE, max_page))
    if not 1 <= page_size <= max_page:
        raise QueryError(f"'page_size' must be 1..{max_page}, got {page_size}")
    if query.get("sort", "relevance") not in SORTS:
        raise QueryError(f"'sort' must be one of {', '.join(SORTS)}, got {query['sort']!r}")
    return WireRequest(buckets=_buckets(parsed["buckets"]), cursor=cursor, query=query)


# --- answers ------------------------------------------------------------------------------

def _highlights(raw: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field, fragments in raw.items():
        kept = out.setdefault(HIGHLIGHT_NAMES.get(field, field), [])
        for fragment in fragments:
            if len(kept) < MAX_FRAGMENTS and fragment[:MAX_FRAGMENT_CHARS] not in kept:
                kept.append(fragment[:MAX_FRAGMENT_CHARS])
    return out


def encode_hit(hit: Hit) -> dict[str, Any]:
    """One hit as the API sends it (``HIT_FIELDS``; highlights named content/key/meta)."""
    modified = to_es_date(hit.last_modified) if hit.last_modified else None
    values = {"bucket": hit.bucket, "key": hit.key, "version_id": hit.version_id,
              "size": hit.size, "last_modified": modified, "etag": hit.etag,
              "content_type": hit.content_type, "extension": hit.extension,
              "is_latest": hit.is_latest, "deleted": hit.deleted, "user_meta": hit.user_meta,
              "amz_meta": dict(hit.amz_meta), "extraction_status": hit.extraction_status,
              "extraction_error": hit.extraction_error, "doc": dict(hit.doc),
              "tags": dict(hit.tags), "storage_class": hit.storage_class, "score": hit.score,
              "highlights": _highlights(hit.highlights)}
    return {name: values[name] for name in HIT_FIELDS}


def decode_hit(raw: Mapping[str, Any]) -> Hit:
    """The ``Hit`` of one wire hit (no ``id`` or ``index``: the API does not show them)."""
    modified = raw.get("last_modified")
    return Hit(id="", index="", bucket=raw.get("bucket", ""), key=raw.get("key", ""),
               version_id=raw.get("version_id"), size=raw.get("size"), etag=raw.get("etag"),
               last_modified=parse_iso(modified) if isinstance(modified, str) else None,
               content_type=raw.get("content_type"), extension=raw.get("extension", ""),
               is_latest=bool(raw.get("is_latest", True)), deleted=bool(raw.get("deleted")),
               user_meta=raw.get("user_meta"), amz_meta=dict(raw.get("amz_meta") or {}),
               extraction_status=raw.get("extraction_status"), score=raw.get("score"),
               highlights={k: list(v) for k, v in (raw.get("highlights") or {}).items()},
               extraction_error=raw.get("extraction_error"), doc=dict(raw.get("doc") or {}),
               tags=dict(raw.get("tags") or {}), storage_class=raw.get("storage_class"))


@dataclass(frozen=True)
class WirePage:
    """One page as the client sees it on either route: hits and the next page's cursor."""

    hits: list[Hit]
    total: int
    total_is_exact: bool
    has_more: bool
    cursor: str | None
    facets: Facets | None
    partial: Partial | None = None


def encode_partial(partial: Partial | None) -> dict[str, Any] | None:
    """``partial`` as the answer's ``partial`` field (None: every shard answered)."""
    if partial is None:
        return None
    return {"failed_shards": partial.failed_shards, "total_shards": partial.total_shards,
            "reasons": list(partial.reasons)}


def decode_partial(raw: Any) -> Partial | None:
    """The ``Partial`` of an answer's ``partial`` field.

    Raises:
        QueryError: the field is neither null nor the object ``encode_partial`` makes.
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise QueryError(f"'partial' must be an object or null, got {raw!r}")
    try:
        return Partial(failed_shards=int(raw["failed_shards"]),
                       total_shards=int(raw["total_shards"]),
                       reasons=tuple(str(r) for r in raw.get("reasons") or ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise QueryError(f"'partial' is not valid: {exc}") from exc


def encode_page(page: SearchPage, cursor: str | None) -> dict[str, Any]:
    """The answer for ``page``; ``cursor`` is the next page's cursor string or None.

    Returns:
        ``{"hits", "total", "total_is_exact", "has_more", "cursor", "facets", "partial"}``.
    """
    facets = None if page.facets is None else {
        "extensions": dict(page.facets.extensions),
        "other_extensions": page.facets.other_extensions,
        "total_size": page.facets.total_size}
    return {"hits": [encode_hit(h) for h in page.hits], "total": page.total,
            "total_is_exact": page.total_is_exact, "has_more": page.has_more,
            "cursor": cursor, "facets": facets, "partial": encode_partial(page.partial)}


def decode_page(answer: Mapping[str, Any]) -> WirePage:
    """The ``WirePage`` of an answer.

    Raises:
        QueryError: the answer is not a search answer.
    """
    try:
        facets = answer.get("facets")
        return WirePage(
            hits=[decode_hit(h) for h in answer["hits"]],
            total=int(answer.get("total", 0)),
            total_is_exact=bool(answer.get("total_is_exact", True)),
            has_more=bool(answer.get("has_more")),
            cursor=answer.get("cursor"),
            facets=Facets(extensions=dict(facets.get("extensions") or {}),
                          other_extensions=int(facets.get("other_extensions", 0)),
                          total_size=int(facets.get("total_size", 0))) if facets else None,
            partial=decode_partial(answer.get("partial")))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise QueryError(f"not a search answer: {exc}") from exc
