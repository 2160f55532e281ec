"""The search API's wire format (``t4index.wire``): one field list, one encoding, one hit shape.

The central property: for any query the model accepts, what the search Lambda
decodes from the client's encoding builds the very same Elasticsearch request as
the query itself, so the two routes cannot give different answers.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

import t4
from lambdas.search.errors import BadRequest, PayloadTooLarge
from lambdas.search.request import parse_body
from t4._search import build_query
from t4._search_api import request_body
from t4index.errors import QueryError
from t4index.filters import FILTERS
from t4index.query import (
    DEFAULT_PAGE_SIZE,
    MAX_EXPANDING_TERMS,
    MAX_HIGHLIGHT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    SORTS,
    Cursor,
    Hit,
    SearchPage,
    SearchQuery,
    build_search_body,
)
from t4index.wire import (
    FIELDS,
    decode_page,
    decode_request,
    dumps,
    encode_page,
    encode_request,
)

VALUES: list[Any] = [
    None, True, False, 0, 3, -7, 2**70, 10**400, 1.5, -2.25e10, Decimal("5"), Decimal("2.5"),
    "thor", "", "NaN", "2024-03-05", "ü/ß", datetime(2024, 3, 5, tzinfo=UTC),
    datetime(2024, 3, 5, 10, 30, 15, 123456), date(2023, 1, 31),
    datetime(2024, 3, 5, 1, 0, tzinfo=timezone(timedelta(hours=2))),
]
RANGE_BOUNDS: list[Any] = [3, -1.5, Decimal("10"), "2024-01-01", date(2023, 6, 1),
                           datetime(2024, 1, 1, 12, tzinfo=UTC), "m"]


def random_meta(rng: random.Random) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for i in range(rng.randint(1, 3)):
        path = rng.choice(["n", "name", "a.b", "when", "flag", f"p{i}"])
        form = rng.random()
        if form < 0.45:
            meta[path] = rng.choice(VALUES)
        elif form < 0.6:
            meta[path] = {"exists": rng.random() < 0.5}
        elif form < 0.7:
            meta[path] = {"eq": rng.choice(VALUES)}
        elif form < 0.85:
            seq = rng.sample(VALUES, 3)
            meta[path] = {"in": seq if rng.random() < 0.5 else tuple(seq)}
        else:
            bound = rng.choice(RANGE_BOUNDS)
            meta[path] = {rng.choice(["gt", "gte"]): bound, rng.choice(["lt", "lte"]): bound}
    return meta


def random_query(rng: random.Random) -> SearchQuery:
    """A query over every parameter and value type the model accepts."""
    kwargs: dict[str, Any] = {}
    if rng.random() < 0.5:
        kwargs["text"] = rng.choice(["thor", "thor -loki", '"the hammer"', "ham*", "thor~1",
                                     "(thor | loki) +north", "ü"])
    if rng.random() < 0.5:
        kwargs["meta"] = random_meta(rng)
    if rng.random() < 0.2:
        kwargs["amz_meta"] = {"owner": "ops", "team": {"exists": rng.random() < 0.5}}
    if rng.random() < 0.3:
        kwargs["extensions"] = rng.choice([["csv"], (".MD", "txt"), {"json"}, ["csv.gz"]])
    if rng.random() < 0.3:
        kwargs["min_size"] = rng.randint(0, 10)
    if rng.random() < 0.3:
        kwargs["max_size"] = rng.randint(10, 10**6)
    for name in ("modified_since", "modified_before"):
        if rng.random() < 0.2:
            kwargs[name] = rng.choice(["2020-01-01", datetime(2021, 5, 1, tzinfo=UTC),
                                       date(2030, 1, 1), datetime(2022, 2, 2, 2, 2)])
    if rng.random() < 0.15:
        kwargs["key"] = rng.choice(["notes/thor.md", "ü ß+%.txt"])
    if rng.random() < 0.3:
        kwargs["key_prefix"] = rng.choice(["", "notes/", "a" * 1_010])
    if rng.random() < 0.1:
        kwargs["content_type"] = "text/plain"
    for name in ("include_versions", "include_deleted", "facets"):
        kwargs[name] = rng.random() < 0.3
    kwargs["sort"] = rng.choice(SORTS)
    kwargs["page_size"] = rng.choice([1, 2, DEFAULT_PAGE_SIZE, 99, 100,
                                      rng.randint(1, MAX_PAGE_SIZE), MAX_PAGE_SIZE])
    kwargs["highlight"] = rng.random() < 0.5 and kwargs["page_size"] <= MAX_HIGHLIGHT_PAGE_SIZE
    return SearchQuery(**kwargs)


def through_the_wire(query: SearchQuery, buckets: list[str] | None = None) -> SearchQuery:
    raw = dumps(encode_request(buckets or ["b-1"], query))
    request = decode_request(raw, MAX_PAGE_SIZE)
    return SearchQuery(**request.query)


@pytest.mark.parametrize("seed", range(300))
def test_the_api_builds_the_same_request_as_the_direct_route(seed: int) -> None:
    query = random_query(random.Random(seed))
    assert build_search_body(through_the_wire(query)) == build_search_body(query)


def test_every_searchquery_field_is_on_the_wire_with_the_models_default() -> None:
    defaults = {fld.name: fld.default for fld in fields(SearchQuery)}
    assert {fld.name for fld in FIELDS} == set(defaults) - {"cursor", "keep_alive"}
    for fld in FIELDS:
        assert fld.default == defaults[fld.name]
    assert decode_request(json.dumps({"buckets": ["b-1"]})).page_size == DEFAULT_PAGE_SIZE


@pytest.mark.parametrize("limit", [1, 10, 99, 100, 101, 1000])
def test_a_page_size_is_never_lost_on_the_wire(limit: int) -> None:
    """Once the client left out limit=100 (its default) and the API used its own 10."""
    q = build_query("x", meta=None, limit=limit, include_deleted=False, versions=False,
                    highlight=False, facets=False, filters={})
    assert decode_request(dumps(request_body("b-1", q))).page_size == limit


@pytest.mark.parametrize("value", [
    {1, 2}, object(), math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("Infinity"),
    b"bytes", datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))), 1e308 * 10,
])
def test_a_value_with_no_encoding_is_a_query_error_before_any_request(value: Any) -> None:
    query = SearchQuery(meta={"f": value})
    with pytest.raises(QueryError):
        encode_request(["b-1"], query)
    with pytest.raises(t4.SearchQueryError):
        request_body("b-1", query)
    with pytest.raises(QueryError):  # the direct route refuses it the same way
        build_search_body(query)


def test_datetime_and_decimal_have_one_encoding_each() -> None:
    when = datetime(2024, 3, 5, tzinfo=UTC)
    body = encode_request(["b-1"], SearchQuery(meta={"f": when, "n": Decimal("5")}))
    assert body["meta"] == {"f": {"$date": "2024-03-05T00:00:00.000Z"}, "n": 5.0}
    assert body["meta"]["f"] == encode_request(["b-1"], SearchQuery(
        meta={"f": date(2024, 3, 5)}))["meta"]["f"]
    assert through_the_wire(SearchQuery(meta={"f": when})).meta == {"f": when}


def test_nested_or_oversized_bodies_are_400_and_413() -> None:
    nested = '{"buckets": ["b-1"], "meta": {"a": ' + "[" * 990 + "]" * 990 + "}}"
    assert len(nested) < 2_100
    with pytest.raises(BadRequest, match="nests deeper"):
        parse_body(nested, 100)
    with pytest.raises(BadRequest, match="nests deeper"):
        parse_body("[" * 30_000 + "]" * 30_000, 100)
    with pytest.raises(PayloadTooLarge):
        parse_body(json.dumps({"buckets": ["b-1"], "text": "x" * 70_000}), 100)


def test_hits_have_one_shape_on_both_routes() -> None:
    hit = Hit(id="i", index="x", bucket="b", key="k.csv", version_id=None, size=3, etag="e",
              last_modified=datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
              content_type="text/csv", extension="csv", is_latest=True, deleted=False,
              user_meta={"n": 1}, amz_meta={"a": "b"}, extraction_status="truncated", score=1.5,
              highlights={"text": ["<em>x</em>"], "key.text": ["k"], "key_tokens": ["k"]},
              extraction_error="text cut", doc={"pages": 3, "authors": ["Ann"]},
              tags={"Project": "x"}, storage_class="GLACIER")
    page = SearchPage([hit], 1, True, False, None, None, None)
    back = decode_page(json.loads(dumps(encode_page(page, "c"))))
    assert back.cursor == "c" and back.total == 1
    assert back.hits[0] == replace(hit, id="", index="",
                                   highlights={"content": ["<em>x</em>"], "key": ["k"]})


def test_cost_limits_are_enforced_by_the_model() -> None:
    fuzzy = " ".join(f"term{i}~" for i in range(MAX_EXPANDING_TERMS + 1))
    with pytest.raises(QueryError, match="fuzzy or prefix terms"):
        build_search_body(SearchQuery(text=fuzzy))
    ok = " ".join(f"term{i}~" for i in range(MAX_EXPANDING_TERMS))
    build_search_body(SearchQuery(text=ok + ' "a phrase"~5 literal\\*'))
    with pytest.raises(QueryError, match="at most 100 hits with highlight"):
        build_search_body(SearchQuery(text="x", highlight=True, page_size=101))
    build_search_body(SearchQuery(text="x", highlight=False, page_size=1000))
    q = build_query("x", meta=None, limit=500, include_deleted=False, versions=False,
                    highlight=None, facets=False, filters={})
    assert q.highlight is False  # the default turns highlights off for large pages


def test_long_prefixes_and_long_metadata_names() -> None:
    long_key = "k" * 1_024
    body = build_search_body(SearchQuery(key_prefix=long_key))
    assert {"range": {"key": {"gte": long_key, "lte": long_key + "\U0010ffff"}}} in (
        body["query"]["bool"]["filter"])
    assert {"prefix": {"key": "k" * 1_000}} in build_search_body(
        SearchQuery(key_prefix="k" * 1_000))["query"]["bool"]["filter"]
    with pytest.raises(QueryError, match="index keeps paths of at most 1024"):
        build_search_body(SearchQuery(meta={"m" * 1_025: 1}))


def test_a_cursor_names_its_buckets_and_is_refused_elsewhere() -> None:
    cursor = Cursor(pit_id=None, search_after=["a"], buckets=["a-1"])
    assert Cursor.decode(cursor.encode()) == cursor
    cursor.check_buckets("a-1")
    with pytest.raises(QueryError, match="issued for bucket"):
        cursor.check_buckets("b-1")
    with pytest.raises(QueryError, match="issued for bucket"):
        Cursor(pit_id=None, search_after=["a"]).check_buckets("b-1")


def test_filters_are_declared_once() -> None:
    """Bucket.search, the CLI and the API all take every declared filter."""
    import argparse

    from t4.cli import _parser

    parser = _parser()
    search = next(a for a in parser._subparsers._group_actions  # noqa: SLF001
                  if isinstance(a, argparse._SubParsersAction)).choices["search"]  # noqa: SLF001
    options = {opt for action in search._actions for opt in action.option_strings}  # noqa: SLF001
    for flt in FILTERS:
        assert flt.option in options
        assert flt.name in {fld.name for fld in FIELDS}
    q = build_query(None, meta=None, limit=5, include_deleted=False, versions=False,
                    highlight=None, facets=False, filters={"content_type": "text/csv"})
    assert q.content_type == "text/csv"
    with pytest.raises(t4.SearchQueryError, match="unknown filter"):
        build_query(None, meta=None, limit=5, include_deleted=False, versions=False,
                    highlight=None, facets=False, filters={"colour": "red"})


SHARDS_LOST = {"total": 3, "successful": 1, "skipped": 0, "failed": 2, "failures": [
    {"shard": 0, "index": "x", "reason": {"type": "no_shard_available_action_exception",
                                          "reason": None}},
    {"shard": 1, "index": "x", "reason": {"type": "node_disconnected_exception",
                                          "reason": "[n2] disconnected"}}]}


def _answer(shards: dict[str, Any]) -> dict[str, Any]:
    return {"_shards": shards, "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}


def test_missing_shards_flag_the_page_on_both_routes() -> None:
    from t4._search import _results
    from t4index.response import parse_response

    page = parse_response(_answer(SHARDS_LOST), SearchQuery())
    assert page.partial is not None
    assert (page.partial.failed_shards, page.partial.total_shards) == (2, 3)
    assert page.partial.reasons == ("no_shard_available_action_exception: None",
                                    "node_disconnected_exception: [n2] disconnected")
    wire = json.loads(dumps(encode_page(page, None)))
    assert wire["partial"] == {"failed_shards": 2, "total_shards": 3,
                               "reasons": list(page.partial.reasons)}
    assert decode_page(wire).partial == page.partial
    assert _results(decode_page(wire)).partial == wire["partial"]
    # every shard answered (skipped ones held no match): no flag, null on the wire
    whole = parse_response(_answer({"total": 3, "successful": 2, "skipped": 1, "failed": 0}),
                           SearchQuery())
    assert whole.partial is None and json.loads(dumps(encode_page(whole, None)))["partial"] is None
    # a shard neither answered nor listed as failed still counts as missing
    assert parse_response(_answer({"total": 2, "successful": 1, "failed": 0}),
                          SearchQuery()).partial.failed_shards == 1


def test_complete_results_asked_for_refuse_a_partial_answer() -> None:
    from lambdas.search.engine import classify
    from lambdas.search.errors import PartialResults
    from t4._search_api import SearchApiClient
    from t4index.errors import PartialResultsError
    from t4index.response import parse_response

    with pytest.raises(PartialResultsError, match="2 of 3 shards") as refused:
        parse_response(_answer(SHARDS_LOST), SearchQuery(allow_partial=False))
    error = classify(refused.value, ("b-1",))
    assert isinstance(error, PartialResults) and (error.status, error.code) == (
        503, "PartialResults")
    assert "2 of 3 shards" in str(error)

    def transport(method, url, headers, body, timeout):
        return error.status, json.dumps({"error": error.code, "message": str(error)}).encode()

    client = SearchApiClient("http://127.0.0.1:1", transport=transport)
    with pytest.raises(t4.SearchPartialError, match="2 of 3 shards") as caught:
        client.search({"buckets": ["b-1"]})
    assert isinstance(caught.value, t4.SearchUnavailableError) and caught.value.status == 503


@pytest.mark.parametrize("allow", [True, False])
def test_allow_partial_travels_on_the_wire(allow: bool) -> None:
    query = SearchQuery(text="thor", allow_partial=allow)
    assert through_the_wire(query).allow_partial is allow
    assert build_query("thor", meta=None, limit=10, include_deleted=False, versions=False,
                       highlight=None, facets=False, filters={},
                       allow_partial=allow).allow_partial is allow
    with pytest.raises(QueryError, match="allow_partial"):
        build_search_body(SearchQuery(allow_partial="no"))  # type: ignore[arg-type]
