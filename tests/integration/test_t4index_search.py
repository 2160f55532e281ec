"""The query model on the real server: each form returns exactly its documents."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from t4index import lifecycle
from t4index.document import MAX_TEXT_CHARS, build_document
from t4index.errors import EngineError, EngineQueryError, QueryError
from t4index.mapping import HIGHLIGHT_MAX_ANALYZED_OFFSET, field_types, mappings
from t4index.names import alias_name, doc_id
from t4index.query import Cursor, SearchQuery, build_search_body
from tests.support.engine import bulk_index as write_all
from tests.support.search import keys

pytestmark = pytest.mark.integration

LONG_KEY = "long/" + "é" * 509 + "x"  # 5 + 1018 + 1 = 1,024 bytes of UTF-8
NEEDLE_TEXT = ("lorem ipsum " * (MAX_TEXT_CHARS // 12))[: MAX_TEXT_CHARS - 7] + " needle" + (
    " overflow" * 1000)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


DOCS: list[dict[str, Any]] = [
    dict(key="data/report.final.csv", size=100, last_modified=day("2023-01-01"),
         text="quarterly revenue", content_type="text/csv"),
    dict(key="data/report.draft.csv", size=200, last_modified=day("2023-06-01"),
         text="draft revenue numbers", content_type="text/csv"),
    dict(key="data/run_2023/model.parquet", size=5000, last_modified=day("2024-01-01")),
    dict(key="images/CatPhoto.JPG", size=3000, last_modified=day("2022-01-01"),
         amz_meta={"owner": "alice"}),
    dict(key="notes/readme.md", size=10, last_modified=day("2022-06-01"),
         text="hello world readme", amz_meta={"Owner": "bob", "team": "x"}),
    dict(key="old/removed.csv", deleted=True),
    dict(key="ver/file.txt", version_id="v1", is_latest=False, size=1,
         last_modified=day("2021-01-01")),
    dict(key="ver/file.txt", version_id="v2", is_latest=True, size=2,
         last_modified=day("2021-02-01")),
    dict(key=LONG_KEY, size=7, last_modified=day("2020-01-01")),
    dict(key="big/needle.txt", size=1, last_modified=day("2020-01-01"), text=NEEDLE_TEXT),
]
CURRENT = {d["key"] for d in DOCS if d.get("is_latest", True) and not d.get("deleted")}


def bulk_index(es, bucket: str, docs: list[dict[str, Any]]) -> None:
    actions = [
        {"_index": alias_name(bucket), "_id": doc_id(bucket, d["key"], d.get("version_id")),
         "_source": build_document(bucket=bucket, **d)}
        for d in docs
    ]
    ok, errors = write_all(es, actions, **lifecycle.WRITE_PARAMS)
    assert errors == [] and ok == len(docs)


@pytest.fixture(scope="module")
def corpus(es) -> Iterator[str]:
    bucket = f"t4-search-{uuid.uuid4().hex[:8]}"
    lifecycle.ensure_bucket_index(es, bucket)
    try:
        bulk_index(es, bucket, DOCS)
        yield bucket
    finally:
        for index in lifecycle.bucket_indices(es, bucket):
            lifecycle.delete_index(es, index)


CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({}, CURRENT),
    ({"text": "final"}, {"data/report.final.csv"}),
    ({"text": "report.final.csv"}, {"data/report.final.csv"}),
    ({"text": "report"}, {"data/report.final.csv", "data/report.draft.csv"}),
    ({"text": "revenue"}, {"data/report.final.csv", "data/report.draft.csv"}),
    ({"text": "revenue -draft"}, {"data/report.final.csv"}),
    ({"text": "revenue | readme"},
     {"data/report.final.csv", "data/report.draft.csv", "notes/readme.md"}),
    ({"text": '"draft revenue"'}, {"data/report.draft.csv"}),
    ({"text": '"revenue draft"'}, set()),
    ({"text": "rev*"}, {"data/report.final.csv", "data/report.draft.csv"}),
    ({"text": "photo"}, {"images/CatPhoto.JPG"}),
    ({"text": "2023"}, {"data/run_2023/model.parquet"}),
    ({"text": "alice"}, {"images/CatPhoto.JPG"}),
    ({"text": "needle"}, {"big/needle.txt"}),
    ({"text": "overflow"}, set()),  # beyond the text cap
    ({"extensions": ["csv"]}, {"data/report.final.csv", "data/report.draft.csv"}),
    ({"extensions": [".JPG", "parquet"]}, {"images/CatPhoto.JPG", "data/run_2023/model.parquet"}),
    ({"min_size": 150, "max_size": 3000}, {"data/report.draft.csv", "images/CatPhoto.JPG"}),
    ({"min_size": 5000}, {"data/run_2023/model.parquet"}),
    ({"modified_since": "2023-01-01", "modified_before": day("2024-01-01")},
     {"data/report.final.csv", "data/report.draft.csv"}),
    ({"modified_before": "2020-01-01T00:00:00.001Z"}, {LONG_KEY, "big/needle.txt"}),
    ({"key_prefix": "data/"},
     {"data/report.final.csv", "data/report.draft.csv", "data/run_2023/model.parquet"}),
    ({"key_prefix": "Data/"}, set()),
    ({"key": LONG_KEY}, {LONG_KEY}),
    ({"key": "data/report.final.csv"}, {"data/report.final.csv"}),
    ({"amz_meta": {"owner": "bob"}}, {"notes/readme.md"}),
    ({"amz_meta": {"x-amz-meta-owner": "alice"}}, {"images/CatPhoto.JPG"}),
    ({"amz_meta": {"team": {"exists": True}}}, {"notes/readme.md"}),
    ({"amz_meta": {"owner": {"exists": False}}},
     CURRENT - {"images/CatPhoto.JPG", "notes/readme.md"}),
    ({"include_deleted": True}, CURRENT | {"old/removed.csv"}),
    ({"key": "ver/file.txt"}, {"ver/file.txt"}),
    ({"text": "final", "extensions": ["parquet"]}, set()),
]


@pytest.mark.parametrize(("kwargs", "expected"), CASES, ids=[repr(k)[:60] for k, _ in CASES])
def test_each_query_form_returns_exactly_its_documents(
    es, corpus: str, kwargs: dict[str, Any], expected: set[str]
) -> None:
    assert keys(es, corpus, **kwargs) == expected


@pytest.mark.engine_specific(
    "elasticsearch", "OpenSearch 2.19 refuses a prefix query above about 1,000 bytes "
    "('input automaton is too large'); the opensearch twin below checks the error is clear")
def test_a_prefix_as_long_as_the_longest_key(es, corpus: str) -> None:
    assert keys(es, corpus, key_prefix=LONG_KEY) == {LONG_KEY}


@pytest.mark.engine_specific(
    "opensearch", "the Elasticsearch twin above runs the same prefix, which Elasticsearch serves")
def test_a_prefix_over_the_automaton_limit_is_a_clear_query_error(es, corpus: str) -> None:
    with pytest.raises(EngineQueryError, match="automaton is too large.*at most 999 bytes"):
        keys(es, corpus, key_prefix=LONG_KEY)


def test_versions_are_hidden_unless_asked_for(es, corpus: str) -> None:
    page = lifecycle.search_page(es, corpus, SearchQuery(key="ver/file.txt"))
    assert [(h.version_id, h.size) for h in page.hits] == [("v2", 2)]
    page = lifecycle.search_page(es, corpus, SearchQuery(key="ver/file.txt",
                                                         include_versions=True, sort="size"))
    assert [(h.version_id, h.is_latest) for h in page.hits] == [("v1", False), ("v2", True)]


def test_hits_carry_the_objects_fields(es, corpus: str) -> None:
    page = lifecycle.search_page(es, corpus, SearchQuery(text="final"))
    hit = page.hits[0]
    assert (hit.bucket, hit.key, hit.size, hit.extension) == (
        corpus, "data/report.final.csv", 100, "csv")
    assert hit.last_modified == day("2023-01-01") and hit.content_type == "text/csv"
    assert hit.id == doc_id(corpus, hit.key) and hit.score and hit.score > 0


def test_facets_count_extensions_and_sum_sizes(es, corpus: str) -> None:
    page = lifecycle.search_page(es, corpus, SearchQuery(facets=True))
    current = [d for d in DOCS if d["key"] in CURRENT and d.get("is_latest", True)]
    assert page.facets is not None
    assert page.facets.total_size == sum(d.get("size", 0) for d in current)
    assert page.facets.extensions == {"csv": 2, "txt": 2, "parquet": 1, "jpg": 1, "md": 1, "": 1}


def test_sorting(es, corpus: str) -> None:
    page = lifecycle.search_page(es, corpus, SearchQuery(sort="-size", page_size=3))
    assert [h.key for h in page.hits] == ["data/run_2023/model.parquet", "images/CatPhoto.JPG",
                                          "data/report.draft.csv"]
    page = lifecycle.search_page(es, corpus, SearchQuery(sort="key", key_prefix="data/"))
    assert [h.key for h in page.hits] == sorted(h.key for h in page.hits)


def test_highlights_key_metadata_and_text(es, corpus: str) -> None:
    page = lifecycle.search_page(es, corpus, SearchQuery(text="revenue final", highlight=True))
    (hit,) = page.hits
    assert "<em>revenue</em>" in hit.highlights["text"][0]
    assert any("<em>final</em>" in h for h in hit.highlights["key_tokens"])
    page = lifecycle.search_page(es, corpus, SearchQuery(text="alice", highlight=True))
    assert "<em>alice</em>" in page.hits[0].highlights["meta_text"][0]


def test_a_text_at_the_highlight_limit_highlights(es, corpus: str) -> None:
    stored = es.mget(alias_name(corpus), [doc_id(corpus, "big/needle.txt")])[0]["_source"]
    assert len(stored["text"]) == MAX_TEXT_CHARS == HIGHLIGHT_MAX_ANALYZED_OFFSET
    assert stored["text"].endswith(" needle") and stored["extraction_truncated"] is True
    body = build_search_body(SearchQuery(text="needle", highlight=True))
    page = lifecycle.search_page(es, corpus, SearchQuery(text="needle", highlight=True))
    assert page.hits[0].highlights["text"] == ["lorem ipsum <em>needle</em>"] or (
        "<em>needle</em>" in page.hits[0].highlights["text"][0])
    # without the request-level bound, the cap alone keeps highlighting working
    del body["highlight"]["max_analyzed_offset"]
    resp = es.search(body, alias_name(corpus))
    assert "<em>needle</em>" in resp["hits"]["hits"][0]["highlight"]["text"][0]


def test_an_uncapped_text_would_break_highlighting(es, corpus: str) -> None:
    """The trap the cap avoids: one character over the limit fails the whole search."""
    doc = build_document(bucket=corpus, key="raw/uncapped.txt")
    doc["text"] = "x " * (HIGHLIGHT_MAX_ANALYZED_OFFSET // 2) + "needle"
    es.raw.index(index=alias_name(corpus), id="uncapped", body=doc, refresh=True,
             **lifecycle.WRITE_PARAMS)
    try:
        body = build_search_body(SearchQuery(text="needle", highlight=True))
        del body["highlight"]["max_analyzed_offset"]
        with pytest.raises(EngineError) as info:
            es.search(body, alias_name(corpus))
        assert "max_analyzed_offset" in str(info.value)
        # the query model's own body degrades instead of failing
        page = lifecycle.search_page(es, corpus, SearchQuery(text="needle", highlight=True))
        assert {h.key for h in page.hits} == {"big/needle.txt", "raw/uncapped.txt"}
    finally:
        es.raw.delete(index=alias_name(corpus), id="uncapped", refresh=True)


def test_syntax_errors_are_query_errors_before_any_request(es, corpus: str) -> None:
    with pytest.raises(QueryError, match="never closed"):
        lifecycle.search_page(es, corpus, SearchQuery(text='"unclosed'))
    with pytest.raises(QueryError, match="unknown operator"):
        lifecycle.search_page(es, corpus, SearchQuery(meta={"n": {"regex": "x"}}))


@pytest.mark.parametrize(("text", "expected"), [
    ("a && || ~~ */ [ ] { } ^ :", {"notes/readme.md"}),  # the operators alone match nothing
    ("\\", set()), ("-", set()), ("~2", set()), ('""', set()),
    ("*", CURRENT),
])
def test_odd_syntax_is_never_a_server_error(es, corpus: str, text: str,
                                            expected: set[str]) -> None:
    """Stray operators are read leniently, as words or nothing: the search answers (a
    server error would raise ``IndexStateError``) with what the words in it match."""
    page = lifecycle.search_page(es, corpus, SearchQuery(text=text, highlight=True))
    assert {h.key for h in page.hits} == expected
    assert page.total == len(expected)


def test_every_query_form_runs_and_fits_the_live_mapping(es, corpus: str) -> None:
    write = lifecycle.ensure_bucket_index(es, corpus).write_index
    live = field_types(es.raw.indices.get_mapping(index=write)[write]["mappings"])
    assert live == field_types(mappings())
    queries = [SearchQuery(**kwargs) for kwargs, _ in CASES] + [
        SearchQuery(meta={"n": {"gte": 1}}, text="x", highlight=True, facets=True,
                    include_versions=True, sort="-last_modified", page_size=100),
        SearchQuery(text="x", facets=True, page_size=1000),
    ]
    for q in queries:
        lifecycle.search_page(es, corpus, q)


@pytest.fixture
def thousand(es, unique_name) -> Iterator[str]:
    bucket = unique_name("pg")
    lifecycle.ensure_bucket_index(es, bucket)
    try:
        docs = [dict(key=f"p/{i:04d}.csv", size=i % 7, text="same words " * (1 + i % 3),
                     user_meta={"group": "g", "i": i}) for i in range(1000)]
        docs += [dict(key=f"other/{i}.txt", size=1) for i in range(50)]
        bulk_index(es, bucket, docs)
        yield bucket
    finally:
        for index in lifecycle.bucket_indices(es, bucket):
            lifecycle.delete_index(es, index)


@pytest.mark.parametrize("sort", ["relevance", "size", "-size", "key", "-last_modified"])
def test_pagination_returns_each_match_exactly_once(es, thousand: str, sort: str) -> None:
    q = SearchQuery(text="same", meta={"group": "g"}, sort=sort, page_size=97, facets=True)
    seen: list[str] = []
    page = lifecycle.search_page(es, thousand, q)
    assert page.total == 1000 and page.facets and page.facets.extensions == {"csv": 1000}
    pages = 1
    late = dict(key=f"p/late-{sort}.csv", text="same", user_meta={"group": "g"})
    while True:
        seen.extend(h.key for h in page.hits)
        if page.cursor is None:
            break
        page = lifecycle.search_page(es, thousand, SearchQuery(
            text="same", meta={"group": "g"}, sort=sort, page_size=97, cursor=page.cursor))
        assert page.facets is None
        pages += 1
        if pages == 2:
            # the second page opened the point in time: later writes stay out of it
            bulk_index(es, thousand, [late])
    assert len(seen) == 1000 and set(seen) == {f"p/{i:04d}.csv" for i in range(1000)}
    assert pages == 11
    if sort == "key":
        assert seen == sorted(seen)


def test_a_cursor_survives_encoding_and_refuses_another_query(es, thousand: str) -> None:
    q = SearchQuery(meta={"group": "g"}, page_size=600)
    first = lifecycle.search_page(es, thousand, q)
    token = first.cursor.encode()
    second = lifecycle.search_page(es, thousand, SearchQuery(
        meta={"group": "g"}, page_size=600, cursor=Cursor.decode(token)))
    assert len(first.hits) + len(second.hits) == 1000 and second.cursor is None
    with pytest.raises(QueryError, match="different query"):
        lifecycle.search_page(es, thousand, SearchQuery(meta={"group": "h"},
                                                        cursor=first.cursor))
