"""The request body: a fixed JSON schema, checked field by field, into a ``SearchRequest``.

Nothing of the body reaches Elasticsearch except through ``t4index.SearchQuery``;
unknown fields, wrong types and out-of-range values are refused with a message
that names the field. The query model checks the rest (operators, dates, syntax).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.search.errors import BadRequest, PayloadTooLarge
from t4index.query import SORTS

MAX_BODY_BYTES = 64 * 1024
MAX_BUCKETS = 20
MAX_EXTENSIONS = 100
DEFAULT_PAGE_SIZE = 10
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{1,253}[A-Za-z0-9]")  # incl. legacy names

_STRINGS = ("text", "key", "key_prefix", "modified_since", "modified_before", "sort", "cursor")
_OBJECTS = ("meta", "amz_meta")
_INTS = ("min_size", "max_size", "page_size")
_BOOLS = ("include_deleted", "include_versions", "highlight", "facets")
FIELDS = frozenset(("buckets", "extensions", *_STRINGS, *_OBJECTS, *_INTS, *_BOOLS))
"""Every field a request may hold."""


@dataclass(frozen=True)
class SearchRequest:
    """A checked request: the buckets, the cursor string and the query's fields.

    ``query`` holds ``SearchQuery`` keyword arguments (no cursor, no keep-alive:
    the API sets those itself).
    """

    buckets: tuple[str, ...]
    cursor: str | None
    page_size: int
    query: Mapping[str, Any]


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            int: "integer", float: "number", type(None): "null"}.get(type(value), "value")


def _fail(name: str, expected: str, value: Any) -> BadRequest:
    return BadRequest(f"'{name}' must be {expected}, got {_type_name(value)}")


def _buckets(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _fail("buckets", "a non-empty array of bucket names", value)
    if len(value) > MAX_BUCKETS:
        raise BadRequest(f"'buckets' names {len(value)} buckets; the limit is {MAX_BUCKETS}")
    for bucket in value:
        if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket):
            raise BadRequest(f"'buckets': {bucket!r} is not an S3 bucket name")
    return tuple(dict.fromkeys(value))


def parse_body(body: str | bytes | None, max_page: int) -> SearchRequest:
    """Check a request body against the schema.

    Returns:
        The ``SearchRequest``.
    Raises:
        PayloadTooLarge: the body is over ``MAX_BODY_BYTES``.
        BadRequest: not a JSON object, an unknown field, a wrong type, a page over ``max_page``.
    """
    raw = body.encode() if isinstance(body, str) else (body or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES}")
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise BadRequest(f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object such as "
                         '{"buckets": ["my-bucket"], "text": "thor"}')
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}; "
                         f"accepted: {', '.join(sorted(FIELDS))}")
    if "buckets" not in data:
        raise BadRequest("'buckets' is required: the buckets to search")
    query: dict[str, Any] = {}
    for name, value in data.items():
        if value is None or name == "buckets":
            continue
        if name in _STRINGS and not isinstance(value, str):
            raise _fail(name, "a string", value)
        if name in _OBJECTS and not isinstance(value, dict):
            raise _fail(name, "an object", value)
        if name in _INTS and (isinstance(value, bool) or not isinstance(value, int)):
            raise _fail(name, "an integer", value)
        if name in _BOOLS and not isinstance(value, bool):
            raise _fail(name, "true or false", value)
        if name == "extensions":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _fail(name, "an array of strings", value)
            if len(value) > MAX_EXTENSIONS:
                raise BadRequest(f"'extensions' has {len(value)} entries; "
                                 f"the limit is {MAX_EXTENSIONS}")
        query[name] = value
    page_size = query.pop("page_size", min(DEFAULT_PAGE_SIZE, max_page))
    if not 1 <= page_size <= max_page:
        raise BadRequest(f"'page_size' must be 1..{max_page}, got {page_size}")
    if query.get("sort", "relevance") not in SORTS:
        raise BadRequest(f"'sort' must be one of {', '.join(SORTS)}, got {query['sort']!r}")
    cursor = query.pop("cursor", None)
    return SearchRequest(buckets=_buckets(data["buckets"]), cursor=cursor,
                         page_size=page_size, query=query)
