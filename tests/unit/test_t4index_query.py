"""The query model: request bodies, validation, field references, responses."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from t4index import fields as f
from t4index.dates import parse_iso
from t4index.errors import QueryError
from t4index.mapping import field_types, index_template
from t4index.query import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Cursor,
    SearchQuery,
    build_search_body,
    parse_response,
)

CURSOR = Cursor(pit_id="pit-1", search_after=[1.0, 5])

QUERY_FORMS: dict[str, SearchQuery] = {
    "text": SearchQuery(text='final -draft "exact phrase" fin*'),
    "meta exact string": SearchQuery(meta={"name": "thor"}),
    "meta exact number": SearchQuery(meta={"n": 3}),
    "meta exact bool": SearchQuery(meta={"flag": True}),
    "meta exact null": SearchQuery(meta={"gone": None}),
    "meta exact date": SearchQuery(meta={"when": datetime(2023, 1, 1, tzinfo=UTC)}),
    "meta exact NaN": SearchQuery(meta={"bad": "NaN"}),
    "meta eq": SearchQuery(meta={"n": {"eq": 3}}),
    "meta in": SearchQuery(meta={"n": {"in": [1, "one", True]}}),
    "meta number range": SearchQuery(meta={"n": {"gte": 3, "lt": 10}}),
    "meta date range": SearchQuery(meta={"when": {"gt": "2022-12-31"}}),
    "meta string range": SearchQuery(meta={"name": {"gte": "a", "lte": "m"}}),
    "meta nested path": SearchQuery(meta={"a.b.c": 1}),
    "meta exists": SearchQuery(meta={"x": {"exists": True}}),
    "meta not exists": SearchQuery(meta={"x": {"exists": False}}),
    "amz meta": SearchQuery(amz_meta={"owner": "me", "team": {"exists": True},
                                      "gone": {"exists": False}}),
    "extensions": SearchQuery(extensions=["CSV", ".parquet"]),
    "size range": SearchQuery(min_size=1, max_size=100),
    "last modified range": SearchQuery(modified_since="2023-01-01",
                                       modified_before=datetime(2024, 1, 1, tzinfo=UTC)),
    "key": SearchQuery(key="a/b.csv"),
    "key prefix": SearchQuery(key_prefix="data/"),
    "versions": SearchQuery(include_versions=True, include_deleted=True, sort="key"),
    "highlight": SearchQuery(text="final", highlight=True),
    "facets": SearchQuery(facets=True),
    "sort key": SearchQuery(sort="-key", cursor=CURSOR),
    "sort size": SearchQuery(sort="size", cursor=Cursor(pit_id="p")),
    "sort last modified": SearchQuery(sort="-last_modified"),
    "page": SearchQuery(text="x", page_size=MAX_PAGE_SIZE, cursor=CURSOR),
}

# where a field is used -> the mapping types that use is valid on
USES = {
    "term": {"keyword", "boolean", "double", "long", "date"},
    "terms": {"keyword", "boolean", "double", "long", "date"},
    "prefix": {"keyword"},
    "range": {"keyword", "double", "long", "date"},
    "nested": {"nested"},
    "full_text": {"text"},
    "highlight": {"text"},
    "sort": {"keyword", "long", "double", "date"},
    "terms_agg": {"keyword"},
    "sum_agg": {"long", "double"},
}


def referenced_fields(body: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Every (use, field, value) a request body refers to."""
    out: list[tuple[str, str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        for kind, spec in node.items():
            if kind in ("term", "terms", "prefix", "range"):
                for field, value in spec.items():
                    out.append((kind, field, value))
            elif kind == "nested":
                out.append(("nested", spec["path"], None))
                walk(spec["query"])
            elif kind == "simple_query_string":
                out.extend(("full_text", fld.split("^")[0], None) for fld in spec["fields"])
            else:
                walk(spec)

    walk(body["query"])
    for clause in body.get("sort", []):
        out.extend(("sort", fld, None) for fld in clause if fld != "_score")
    for fld in body.get("highlight", {}).get("fields", {}):
        out.append(("highlight", fld, None))
    for agg in body.get("aggs", {}).values():
        for kind, spec in agg.items():
            out.append((f"{kind}_agg", spec["field"], None))
    return out


def check_value(kind: str, ftype: str, value: Any) -> bool:
    """A term's value fits the field's type."""
    if kind not in ("term", "terms"):
        return True
    values = value if kind == "terms" else [value]
    checks = {
        "boolean": lambda v: isinstance(v, bool),
        "double": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "date": lambda v: isinstance(v, str) and parse_iso(v) is not None,
        "keyword": lambda v: isinstance(v, str),
    }
    return all(checks[ftype](v) for v in values)


def assert_fields_fit(body: dict[str, Any], types: dict[str, str]) -> None:
    refs = referenced_fields(body)
    assert refs
    for kind, field, value in refs:
        assert field in types, f"{kind} on {field!r}, which the mapping lacks"
        assert types[field] in USES[kind], f"{kind} on {field!r} of type {types[field]}"
        assert check_value(kind, types[field], value), f"{kind} {field}={value!r}"


@pytest.mark.parametrize("name", QUERY_FORMS)
def test_every_query_form_references_template_fields_with_the_right_type(name: str) -> None:
    types = field_types(index_template()["template"]["mappings"])
    assert_fields_fit(build_search_body(QUERY_FORMS[name]), types)


def test_default_search_shows_current_state_only() -> None:
    body = build_search_body(SearchQuery())
    filters = body["query"]["bool"]["filter"]
    assert {"term": {f.IS_LATEST: True}} in filters
    assert {"term": {f.DELETED: False}} in filters
    assert "pit" not in body and "search_after" not in body
    assert body["size"] == DEFAULT_PAGE_SIZE + 1
    assert body["sort"] == [{"_score": {"order": "desc"}}, {"bucket": "asc"}, {"key": "asc"},
                            {"version_id": {"order": "asc", "missing": "_last"}}]
    assert f.TEXT in body["_source"]["excludes"]


def test_versions_and_deleted_flags_drop_their_filters() -> None:
    body = build_search_body(SearchQuery(include_versions=True, include_deleted=True))
    assert body["query"]["bool"]["filter"] == []


def test_cursor_pages_use_pit_search_after_and_the_same_tiebreak() -> None:
    q = SearchQuery(text="x", cursor=CURSOR, keep_alive="30s", facets=True)
    body = build_search_body(q)
    assert body["pit"] == {"id": "pit-1", "keep_alive": "30s"}
    assert body["search_after"] == [1.0, 5]
    assert body["sort"][1:] == [{"bucket": "asc"}, {"key": "asc"},
                                {"version_id": {"order": "asc", "missing": "_last"}}]
    assert "aggs" not in body  # facets come with the first page only


def test_first_page_of_a_pit_has_facets_and_no_search_after() -> None:
    body = build_search_body(SearchQuery(facets=True, cursor=Cursor(pit_id="p")))
    assert "search_after" not in body and "aggs" in body


def test_text_uses_simple_query_string_with_and() -> None:
    body = build_search_body(SearchQuery(text="  final csv "))
    sqs = body["query"]["bool"]["must"][0]["simple_query_string"]
    assert sqs["query"] == "final csv"
    assert sqs["default_operator"] == "and"


def test_highlight_needs_text() -> None:
    assert "highlight" not in build_search_body(SearchQuery(highlight=True))


def test_meta_range_types_follow_the_bounds() -> None:
    def field_of(meta):
        body = build_search_body(SearchQuery(meta=meta))
        inner = body["query"]["bool"]["filter"][-1]["nested"]["query"]["bool"]["filter"][1]
        return next(iter(inner["range"]))

    assert field_of({"n": {"gte": 3}}) == f.META_NUM
    assert field_of({"n": {"gte": "2023-01-01T00:00:00Z"}}) == f.META_DATE
    assert field_of({"n": {"gte": "abc"}}) == f.META_STR


@pytest.mark.parametrize(("query", "message"), [
    (SearchQuery(meta={"a": {"b": 1}}), r"unknown operator 'b'.*'a\.b'"),
    (SearchQuery(meta={"n": {"gte": 3, "exists": True}}), "cannot be combined"),
    (SearchQuery(meta={"n": {"gte": 3, "lt": "x"}}), "mix"),
    (SearchQuery(meta={"n": {"gte": True}}), "bound must be"),
    (SearchQuery(meta={"n": {"gte": math.inf}}), "finite"),
    (SearchQuery(meta={"n": {"exists": "yes"}}), "True or False"),
    (SearchQuery(meta={"n": [1, 2]}), "'in'"),
    (SearchQuery(meta={"n": {"in": []}}), "non-empty list"),
    (SearchQuery(meta={"n": {}}), "empty operator"),
    (SearchQuery(meta={"n": object()}), "cannot match"),
    (SearchQuery(meta={"n": "x" * 2000}), "at most 1024"),
    (SearchQuery(meta={"": 1}), "non-empty string"),
    (SearchQuery(meta=["n"]), "meta must be a dict"),
    (SearchQuery(amz_meta={"a": 1}), "expected a string"),
    (SearchQuery(text='"unclosed'), "never closed"),
    (SearchQuery(text="(a b"), "never closed"),
    (SearchQuery(text="a) b"), "closes nothing"),
    (SearchQuery(text=3), "text must be a string"),
    (SearchQuery(text="x" * 5000), "limit"),
    (SearchQuery(extensions="csv"), "list of strings"),
    (SearchQuery(extensions=[]), "empty"),
    (SearchQuery(min_size=-1), "min_size"),
    (SearchQuery(min_size="1"), "min_size"),
    (SearchQuery(min_size=5, max_size=4), "greater than"),
    (SearchQuery(modified_since="last week"), "modified_since"),
    (SearchQuery(key=""), "key must be"),
    (SearchQuery(key_prefix=3), "key_prefix"),
    (SearchQuery(page_size=0), "page_size"),
    (SearchQuery(page_size=MAX_PAGE_SIZE + 1), "page_size"),
    (SearchQuery(sort="owner"), "sort must be one of"),
    (SearchQuery(cursor="abc"), "Cursor"),
    (SearchQuery(cursor=CURSOR, keep_alive="forever"), "keep_alive"),
])
def test_bad_queries_raise_query_error(query: SearchQuery, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        build_search_body(query)


def test_escaped_quotes_and_quoted_parentheses_are_fine() -> None:
    build_search_body(SearchQuery(text=r'say \"hi'))
    build_search_body(SearchQuery(text='"a ( b"'))


def test_a_cursor_only_continues_its_own_query() -> None:
    q = SearchQuery(text="a")
    cursor = Cursor(pit_id="p", search_after=[1], query_hash=q.fingerprint())
    build_search_body(SearchQuery(text="a", cursor=cursor, page_size=7))
    with pytest.raises(QueryError, match="different query"):
        build_search_body(SearchQuery(text="b", cursor=cursor))


def test_cursor_round_trips_and_rejects_garbage() -> None:
    cursor = Cursor(pit_id="a+b/c==", search_after=[1.5, "k", 3], query_hash="h")
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "!!!", "eyJ4IjoxfQ"):
        with pytest.raises(QueryError, match="cursor is not valid"):
            Cursor.decode(bad)


def _raw_hit(i: int) -> dict[str, Any]:
    return {"_index": "t4-data-v1-b", "_id": f"id{i}", "_score": 1.5, "sort": [1.5, i],
            "_source": {"bucket": "b", "key": f"k{i}", "size": i, "user_meta": {"a": [i]},
                        "last_modified": "2023-01-02T03:04:05.000Z", "extension": "csv",
                        "amz_meta": {"o": "me"}},
            "highlight": {"key.text": ["<em>k</em>"]}}


def test_parse_response_pages_and_facets() -> None:
    q = SearchQuery(text="k", page_size=2, cursor=Cursor(pit_id="p0"))
    resp = {"pit_id": "p1", "hits": {"total": {"value": 10000, "relation": "gte"},
                                     "hits": [_raw_hit(i) for i in range(3)]},
            "aggregations": {"extensions": {"buckets": [{"key": "csv", "doc_count": 3}],
                                            "sum_other_doc_count": 1},
                             "total_size": {"value": 3.0}}}
    page = parse_response(resp, q)
    assert [h.key for h in page.hits] == ["k0", "k1"]
    assert page.has_more and page.cursor == Cursor("p1", [1.5, 1], q.fingerprint())
    assert page.total == 10000 and not page.total_is_exact
    hit = page.hits[1]
    assert hit.user_meta == {"a": [1]} and hit.amz_meta == {"o": "me"}
    assert hit.last_modified == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert hit.highlights == {"key.text": ["<em>k</em>"]}
    assert hit.score == 1.5 and hit.size == 1 and hit.version_id is None
    assert page.facets.extensions == {"csv": 3} and page.facets.other_extensions == 1
    assert page.facets.total_size == 3


def test_parse_response_last_page_has_no_cursor() -> None:
    q = SearchQuery(page_size=5)
    page = parse_response({"pit_id": "p", "hits": {"hits": [_raw_hit(0)]}}, q)
    assert not page.has_more and page.cursor is None and page.facets is None


def test_parse_response_refuses_non_search_answers() -> None:
    with pytest.raises(QueryError, match="not a search response"):
        parse_response({"error": "x"}, SearchQuery())
