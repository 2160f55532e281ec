"""Document metadata: typed values in, typed clauses out (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from t4index import docmeta
from t4index.document import build_document
from t4index.errors import QueryError
from t4index.mapping import field_types, mappings
from t4index.query import SearchQuery, build_search_body


def test_clean_keeps_declared_fields_with_their_types() -> None:
    got = docmeta.clean({
        "title": "  Quarterly\n report ", "authors": ["Ann", "Ann", "Bob"], "pages": "12 pages",
        "created": "2024-03-05T10:00:00Z", "language": "en-GB", "columns": "temperature",
        "shape": [3, 4], "width": -1, "height": True, "delimiter": ",", "nbformat": 4,
        "modified": "not a date", "rows": float("nan")})
    assert got == {"title": "Quarterly report", "authors": ["Ann", "Bob"], "pages": 12,
                   "created": "2024-03-05T10:00:00.000Z", "language": "en",
                   "columns": ["temperature"], "shape": [3, 4]}


def test_every_declared_field_is_mapped_and_reaches_the_document() -> None:
    types = field_types(mappings())
    for fld in docmeta.DOC_FIELDS:
        assert f"doc.{fld.name}" in types
    doc = build_document(bucket="b", key="k", doc_meta={"pages": 3, "oops": 1},
                         tags={"Project": "x"})
    assert doc["doc"] == {"pages": 3}
    assert doc["tags"] == {"Project": "x"} and doc["tags_kv"] == ["Project=x"]


def _filters(**kwargs) -> list:
    return build_search_body(SearchQuery(**kwargs))["query"]["bool"]["filter"]


def test_doc_predicates_become_typed_clauses() -> None:
    clauses = _filters(doc={"pages": {"gte": 20}, "language": "fr",
                            "created": {"lt": datetime(2024, 1, 1, tzinfo=UTC)},
                            "authors": {"in": ["a", "b"]}, "title": {"exists": True}})
    assert {"range": {"doc.pages": {"gte": 20}}} in clauses
    assert {"term": {"doc.language": "fr"}} in clauses
    assert {"range": {"doc.created": {"lt": "2024-01-01T00:00:00.000Z"}}} in clauses
    assert {"terms": {"doc.authors": ["a", "b"]}} in clauses
    assert {"exists": {"field": "doc.title"}} in clauses
    body = build_search_body(SearchQuery(doc={"title": {"exists": False}}))
    assert body["query"]["bool"]["must_not"] == [{"exists": {"field": "doc.title"}}]


@pytest.mark.parametrize(("doc", "message"), [
    ({"nope": 1}, "unknown field 'nope'"),
    ({"pages": "many"}, "whole numbers"),
    ({"pages": True}, "whole numbers"),
    ({"title": {"gte": "a"}}, "ranges work on numbers and dates"),
    ({"created": "yesterday"}, "ISO 8601"),
    ({"pages": [1, 2]}, "ambiguous"),
    ({"pages": {"in": []}}, "non-empty list"),
    ({"pages": {"exists": True, "gte": 1}}, "cannot be combined"),
    ("pages", "must be a dict"),
])
def test_bad_doc_predicates_say_what_is_wrong(doc, message) -> None:
    with pytest.raises(QueryError, match=message):
        build_search_body(SearchQuery(doc=doc))


def test_status_and_tags_filters() -> None:
    assert {"terms": {"extraction_status": ["unreadable"]}} in _filters(statuses=["Unreadable"])
    with pytest.raises(QueryError, match="not an extraction outcome"):
        build_search_body(SearchQuery(statuses=["broken"]))
    clauses = _filters(tags={"Project": "x"})
    assert {"term": {"tags_kv": "Project=x"}} in clauses
