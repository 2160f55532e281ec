"""Hostile user metadata on the real server: nothing lost, every predicate exact."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from t4index import lifecycle
from t4index.document import build_document
from t4index.names import alias_name, doc_id
from t4index.query import SearchQuery
from tests.support.engine import bulk_index
from tests.support.search import keys

pytestmark = pytest.mark.integration


def deep_list(levels: int) -> list:
    root: list = []
    node = root
    for _ in range(levels):
        node.append([])
        node = node[0]
    return root


CORPUS: dict[str, Any] = {
    "num.json": {"n": 3, "flag": True, "when": "2023-05-01", "a": {"b": {"c": 1}},
                 "name": "thor"},
    "str.json": {"n": "three", "flag": "true", "when": "not a date", "name": "loki"},
    "obj.json": {"n": {"x": 1}, "flag": False},
    "list.json": {"n": [1, 5, "five"], "tags": ["red", "blue"]},
    "date.json": {"n": "2024-02-29T12:00:00Z", "when": "2024-01-15T08:00:00+01:00"},
    "bool.json": {"n": True},
    "big.json": {"n": 2**70, "huge": 10**400, "neg": -(2**64)},
    "nan.json": {"n": math.nan, "inf": math.inf},
    "null.json": {"n": None},
    "empty.json": {"n": {}},
    "many.json": {f"path{i:04d}": i for i in range(2000)},
    "nometa.txt": None,
    "dotted.json": {"a.b.c": 2},
    "deep.json": {"deep": deep_list(1500)},
    "weird.json": {"": 1, " ": "space", "a..b": 1, "ü": "é", "bad\ud800": "x\udfff",
                   "long": "y" * 5000},
    "scalar.json": 42,
    "toplist.json": ["x", {"y": 1}],
}
HAS_N = {"num.json", "str.json", "obj.json", "list.json", "date.json", "bool.json",
         "big.json", "nan.json", "null.json", "empty.json"}


@pytest.fixture(scope="module")
def indexed(es) -> Iterator[str]:
    import uuid

    bucket = f"t4-meta-{uuid.uuid4().hex[:8]}"
    lifecycle.ensure_bucket_index(es, bucket)
    try:
        actions = [{"_index": alias_name(bucket), "_id": doc_id(bucket, key),
                    "_source": build_document(bucket=bucket, key=key, user_meta=meta, size=1)}
                   for key, meta in CORPUS.items()]
        ok, errors = bulk_index(es, actions, **lifecycle.WRITE_PARAMS)
        assert errors == [] and ok == len(CORPUS)
        yield bucket
    finally:
        for index in lifecycle.bucket_indices(es, bucket):
            lifecycle.delete_index(es, index)


def test_no_document_is_lost(es, indexed: str) -> None:
    assert es.count(alias_name(indexed)) == len(CORPUS)
    for key in CORPUS:
        assert es.mget(alias_name(indexed), [doc_id(indexed, key)])[0]["found"]
    assert keys(es, indexed) == set(CORPUS)


def test_stored_metadata_reads_back(es, indexed: str) -> None:
    page = lifecycle.search_page(es, indexed, SearchQuery(page_size=1000))
    by_key = {hit.key: hit.user_meta for hit in page.hits}
    assert by_key["num.json"] == CORPUS["num.json"]
    assert by_key["big.json"] == {"n": 2**70, "huge": 10**400, "neg": -(2**64)}
    assert by_key["nan.json"] == {"n": "NaN", "inf": "Infinity"}
    assert by_key["many.json"] == CORPUS["many.json"]
    assert by_key["scalar.json"] == 42 and by_key["toplist.json"] == ["x", {"y": 1}]
    assert by_key["nometa.txt"] is None


META_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"n": 3}, {"num.json"}),
    ({"n": 3.0}, {"num.json"}),
    ({"n": "3"}, set()),
    ({"n": "three"}, {"str.json"}),
    ({"n": True}, {"bool.json"}),
    ({"n": 5}, {"list.json"}),
    ({"n": "five"}, {"list.json"}),
    ({"n": None}, {"null.json"}),
    ({"n": "NaN"}, {"nan.json"}),
    ({"n": 2**70}, {"big.json"}),
    ({"huge": 10**400}, {"big.json"}),
    ({"neg": {"lt": -1e19}}, {"big.json"}),
    ({"inf": "Infinity"}, {"nan.json"}),
    ({"n": {"eq": "three"}}, {"str.json"}),
    ({"n": {"in": [3, "three", True]}}, {"num.json", "str.json", "bool.json"}),
    ({"n": {"gte": 3}}, {"num.json", "list.json", "big.json"}),
    ({"n": {"gte": 1, "lte": 2}}, {"list.json"}),
    ({"n": {"gt": 1, "lt": 3}}, set()),  # 1 and 5 are in one list: one value must fit both
    ({"n": {"gte": "2024-01-01"}}, {"date.json"}),
    ({"when": {"gte": "2024-01-01", "lt": "2024-02-01"}}, {"date.json"}),
    ({"when": {"lt": "2024-01-01"}}, {"num.json"}),
    ({"when": {"lt": "2024-01-15T07:00:00.001Z", "gt": "2024-01-15T06:59:59.999Z"}},
     {"date.json"}),
    ({"name": {"gte": "a", "lt": "m"}}, {"str.json"}),
    ({"flag": True}, {"num.json"}),
    ({"flag": False}, {"obj.json"}),
    ({"flag": "true"}, {"str.json"}),
    ({"n.x": 1}, {"obj.json"}),
    ({"a.b.c": 1}, {"num.json"}),
    ({"a.b.c": {"exists": True}}, {"num.json", "dotted.json"}),
    ({"a": {"exists": True}}, {"num.json", "dotted.json", "weird.json"}),  # "a..b" is under "a"
    ({"n": {"exists": True}}, HAS_N),
    ({"n": {"exists": False}}, set(CORPUS) - HAS_N),
    ({"tags": "red"}, {"list.json"}),
    ({"tags": {"in": ["green", "blue"]}}, {"list.json"}),
    ({"path1999": 1999}, {"many.json"}),
    ({"path0500": {"gte": 500}}, {"many.json"}),
    ({"path0500": {"gte": 501}}, set()),
    ({"ü": "é"}, {"weird.json"}),
    ({"a..b": 1}, {"weird.json"}),
    ({" ": "space"}, {"weird.json"}),
    ({"long": {"exists": True}}, {"weird.json"}),
    ({"deep": {"exists": True}}, {"deep.json"}),
    ({"y": 1}, {"toplist.json"}),
    ({"n": 3, "flag": True}, {"num.json"}),
    ({"n": 3, "flag": False}, set()),
    ({"n": {"exists": True}, "flag": {"exists": False}},
     HAS_N - {"num.json", "str.json", "obj.json"}),
]


@pytest.mark.parametrize(("meta", "expected"), META_CASES,
                         ids=[repr(m)[:60] for m, _ in META_CASES])
def test_each_metadata_predicate_returns_exactly_its_documents(
    es, indexed: str, meta: dict[str, Any], expected: set[str]
) -> None:
    assert keys(es, indexed, meta=meta) == expected


def test_full_text_finds_metadata_values_and_paths(es, indexed: str) -> None:
    assert keys(es, indexed, text="thor") == {"num.json"}
    assert keys(es, indexed, text="path1234") == {"many.json"}


def test_the_live_mapping_did_not_grow(es, indexed: str) -> None:
    from t4index.mapping import field_types, mappings

    write = lifecycle.ensure_bucket_index(es, indexed).write_index
    live = es.raw.indices.get_mapping(index=write)[write]["mappings"]
    assert field_types(live) == field_types(mappings())
