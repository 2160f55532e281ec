"""Extracted document metadata, per format, stored and searchable through both routes.

One real file of each format goes through the real extractors (Tika for PDF,
Office, OpenDocument, HTML, e-mail and images; the fast path for notebooks, CSV
and Parquet), is indexed, and is found by its metadata with ``Bucket.search(doc=...)``
on Elasticsearch directly and through the SigV4 search API alike.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import t4
from indexer.extract import EXTRACTOR_VERSION, Extractor, TikaClient
from indexer.pipeline import Pipeline
from indexer.service import make_extract
from t4index.names import alias_name
from tests.support import documents

pytestmark = pytest.mark.integration


def _parquet() -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"station": ["a", "b", "c"], "temperature": [1.5, 2.5, -3.0]}), out)
    return out.getvalue()


NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "cells": [
    {"cell_type": "code", "source": "print('zebra')", "metadata": {}, "outputs": []}],
    "metadata": {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"},
                 "language_info": {"name": "R"}}}

# key -> (bytes, the doc fields its hit must carry)
CORPUS: dict[str, tuple[bytes, dict[str, Any]]] = {
    "papers/report.pdf": (documents.pdf(pages=3), {
        "title": "Quarterly report", "authors": ["Ann Author"], "pages": 3,
        "detected_type": "application/pdf"}),
    "docs/letter.docx": (documents.docx(), {
        "title": "Word title", "authors": ["Wendy Writer"], "pages": 3,
        "created": "2024-03-05T10:00:00.000Z", "producer": "t4 tests"}),
    "docs/budget.xlsx": (documents.xlsx(), {
        "title": "Budget book", "authors": ["Xavier Counter"],
        "detected_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}),
    "docs/deck.pptx": (documents.pptx(), {
        "title": "Deck title", "authors": ["Paula Presenter"], "pages": 1}),
    "docs/minutes.odt": (documents.odt(), {
        "title": "Minutes title", "authors": ["Olga Odf"], "pages": 2, "language": "en"}),
    "web/page.html": (documents.html(), {"title": "Page title", "detected_type": "text/html"}),
    "mail/mail.eml": (documents.eml(), {
        "title": "Mail subject", "from": "ann@example.com", "to": ["Bob <bob@example.com>"],
        "created": "2024-01-01T10:00:00.000Z", "embedded": 1}),
    "nb/study.ipynb": (json.dumps(NOTEBOOK).encode(), {"kernel": "ir", "kernel_language": "R"}),
    "tables/weather.csv": (b"station,temperature\na,1.5\nb,2.5\n", {
        "columns": ["station", "temperature"], "rows": 2}),
    "tables/weather.parquet": (_parquet(), {"columns": ["station", "temperature"], "rows": 3}),
    "images/pixel.png": (documents.png(), {"width": 7, "height": 5,
                                           "detected_type": "image/png"}),
    "broken/cut.pdf": (documents.pdf()[:300], {}),
    "notes/rapport.txt": ("Le relevé a mesuré la température de l'eau à chaque station le long "
                          "de la rivière, et ce rapport décrit ce que l'équipe a trouvé pendant "
                          "l'été.".encode(), {"language": "fr", "encoding": "utf-8"}),
}


@pytest.fixture(scope="module")
def corpus(es, s3, tika_url) -> str:
    bucket = f"t4-docmeta-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    for key, (body, _) in CORPUS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    pipeline = Pipeline(es, s3, make_extract(s3, Extractor(TikaClient(tika_url), languages=True)),
                        extractor_version=EXTRACTOR_VERSION)
    result = pipeline.index_keys([(bucket, key) for key in CORPUS])
    assert result.failed == {}
    es.refresh(alias_name(bucket))
    return bucket


def _search(routes, bucket: str, **kwargs: Any) -> dict[str, list[t4.SearchHit]]:
    return {route: list(t4.Bucket(f"s3://{bucket}", session=routes(route)).search(
        limit=100, **kwargs)) for route in ("direct", "api")}


def test_every_format_carries_its_metadata_on_both_routes(corpus, routes):
    for route, hits in _search(routes, corpus, prefix="").items():
        by_key = {hit.key: hit for hit in hits}
        assert set(by_key) == set(CORPUS), route
        for key, (_, expected) in CORPUS.items():
            assert expected.items() <= by_key[key].doc.items(), (route, key, by_key[key].doc)


@pytest.mark.parametrize(("doc", "expected"), [
    ({"pages": {"gte": 3}}, {"papers/report.pdf", "docs/letter.docx"}),
    ({"pages": {"lt": 3}}, {"docs/deck.pptx", "docs/minutes.odt"}),
    ({"authors": "Wendy Writer"}, {"docs/letter.docx"}),
    ({"title": {"in": ["Deck title", "Page title"]}}, {"docs/deck.pptx", "web/page.html"}),
    ({"columns": "temperature"}, {"tables/weather.csv", "tables/weather.parquet"}),
    ({"columns": "temperature", "rows": {"gte": 3}}, {"tables/weather.parquet"}),
    ({"kernel_language": "R"}, {"nb/study.ipynb"}),
    ({"from": "ann@example.com"}, {"mail/mail.eml"}),
    ({"to": "Bob <bob@example.com>"}, {"mail/mail.eml"}),
    ({"width": {"gte": 7}, "height": 5}, {"images/pixel.png"}),
    ({"language": "en", "pages": 2}, {"docs/minutes.odt"}),
    ({"language": "fr"}, {"notes/rapport.txt"}),  # detected: the file declares none
    ({"created": {"gte": "2024-01-01", "lt": "2024-02-01"}}, {"mail/mail.eml"}),
    ({"detected_type": "application/pdf"}, {"papers/report.pdf", "broken/cut.pdf"}),
    ({"authors": {"exists": False}, "detected_type": {"exists": True},
      "kernel": {"exists": False}},
     {"web/page.html", "images/pixel.png", "broken/cut.pdf"}),
])
def test_metadata_searches_find_the_same_files_on_both_routes(corpus, routes, doc, expected):
    for route, hits in _search(routes, corpus, doc=doc).items():
        assert {hit.key for hit in hits} == expected, route


def test_the_outcome_is_on_the_hit_and_a_filter(corpus, routes):
    for route, hits in _search(routes, corpus, status="corrupt").items():
        assert [hit.key for hit in hits] == ["broken/cut.pdf"], route
        assert hits[0].status == "corrupt" and hits[0].status_reason, route
    for route, hits in _search(routes, corpus, status=["ok", "truncated"]).items():
        assert len(hits) == len(CORPUS) - 1, route
        assert all(hit.status == "ok" and hit.status_reason is None for hit in hits), route


def test_office_thumbnails_leave_no_path_in_the_text(corpus, routes):
    for route, hits in _search(routes, corpus, query="thumbnail").items():
        assert hits == [], route
    for route, hits in _search(routes, corpus, query="zebra", extensions=["docx", "pptx"]).items():
        assert {hit.key for hit in hits} == {"docs/letter.docx", "docs/deck.pptx"}, route


@pytest.mark.parametrize("doc", [{"pages": "many"}, {"nope": 1}, {"title": {"gte": "a"}},
                                 {"pages": [1, 2]}])
def test_bad_metadata_queries_fail_on_both_routes_before_any_request(corpus, routes, doc):
    for route in ("direct", "api"):
        with pytest.raises(t4.SearchQueryError):
            t4.Bucket(f"s3://{corpus}", session=routes(route)).search(doc=doc)
