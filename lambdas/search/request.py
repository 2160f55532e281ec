"""The request body: checked against the wire schema (``t4index.wire``) into a ``SearchRequest``.

The schema, its defaults and the decoding of values live in ``t4index.wire``, which
the client encodes with; this module only turns its refusals into API errors.
Nothing of the body reaches Elasticsearch except through ``t4index.SearchQuery``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.search.errors import BadRequest, PayloadTooLarge
from t4index.errors import QueryError
from t4index.wire import FIELDS as WIRE_FIELDS
from t4index.wire import MAX_BODY_BYTES, RequestTooLarge, decode_request

__all__ = ["FIELDS", "MAX_BODY_BYTES", "SearchRequest", "parse_body"]

FIELDS = frozenset(("buckets", "cursor", *(fld.name for fld in WIRE_FIELDS)))
"""Every field a request may hold."""


@dataclass(frozen=True)
class SearchRequest:
    """A checked request: the buckets, the cursor string and the query's fields.

    ``query`` holds ``SearchQuery`` keyword arguments (no page size, cursor or
    keep-alive: the service sets those itself).
    """

    buckets: tuple[str, ...]
    cursor: str | None
    page_size: int
    query: Mapping[str, Any]


def parse_body(body: str | bytes | None, max_page: int) -> SearchRequest:
    """Check a request body against the schema.

    Returns:
        The ``SearchRequest``.
    Raises:
        PayloadTooLarge: the body is over ``MAX_BODY_BYTES``.
        BadRequest: not a JSON object, nested too deep, an unknown field, a wrong type,
            a page over ``max_page``.
    """
    try:
        wire = decode_request(body, max_page)
    except RequestTooLarge as exc:
        raise PayloadTooLarge(str(exc)) from exc
    except QueryError as exc:
        raise BadRequest(str(exc)) from exc
    query = dict(wire.query)
    page_size = query.pop("page_size")
    return SearchRequest(buckets=wire.buckets, cursor=wire.cursor, page_size=page_size,
                         query=query)
