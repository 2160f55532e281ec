"""The search API end to end: signed client -> local SigV4 server -> handler -> Elasticsearch.

Every request is signed by ``t4._search_api.SearchApiClient`` with a boto3 session,
checked by ``infra.local.search_api`` and answered by ``lambdas.search.app`` over
the real cluster.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.local.endpoints import Endpoints
from infra.local.search_api import SearchApiServer, serve
from lambdas.search import app
from lambdas.search.access import AccessPolicy
from lambdas.search.service import SearchService
from lambdas.search.settings import Settings
from t4._search_api import (
    SearchAccessDeniedError,
    SearchApiClient,
    SearchError,
    SearchQueryError,
    SearchUnavailableError,
)
from t4index import lifecycle
from t4index.document import build_document
from t4index.engine import EngineConfig
from t4index.names import alias_name, doc_id
from t4index.query import SearchQuery
from tests.support.engine import bulk_index

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
BUCKET_A = f"t4-sapi-a-{RUN}"
BUCKET_B = f"t4-sapi-b-{RUN}"
BUCKET_C = f"t4-sapi-c-{RUN}"  # alice may search it; it holds no index
USERS = {
    "AKIDALICE": ("alice", "arn:aws:iam::000000000000:user/alice"),
    "AKIDCAROL": ("carol", "arn:aws:iam::000000000000:user/carol"),
    "AKIDBOB": ("bob", "arn:aws:iam::111111111111:user/bob"),
}
ACCESS = {
    USERS["AKIDALICE"][1]: [BUCKET_A, f"t4-sapi-c-{RUN[:4]}*"],
    USERS["AKIDCAROL"][1]: [BUCKET_A],
    "111111111111": [BUCKET_B],
}
SECRET = b"integration-cursor-secret-0123456789"
DAY0 = datetime(2024, 1, 1, tzinfo=UTC)
PAGES = [f"pages/p{i:02}.txt" for i in range(25)]


def docs() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        dict(key=key, size=i * 10, last_modified=DAY0 + timedelta(days=i),
             text=f"thor page number{i}", user_meta={"n": i, "kind": "page"},
             content_type="text/plain")
        for i, key in enumerate(PAGES)
    ]
    out += [
        dict(key="data/report.final.csv", size=5000, last_modified=datetime(2023, 3, 1, tzinfo=UTC),
             text="quarterly revenue of thor", content_type="text/csv",
             user_meta={"name": "thor", "nested": {"level": 2}, "flag": True},
             amz_meta={"owner": "alice"}),
        dict(key="data/other.csv", size=300, last_modified=datetime(2022, 5, 1, tzinfo=UTC),
             text="mischief", user_meta={"name": "loki"}, content_type="text/csv"),
        dict(key="old/removed.csv", deleted=True),
        dict(key="ver/file.txt", version_id="v1", is_latest=False, size=1,
             last_modified=datetime(2021, 1, 1, tzinfo=UTC)),
        dict(key="ver/file.txt", version_id="v2", size=2,
             last_modified=datetime(2021, 2, 1, tzinfo=UTC)),
    ]
    return out


def index_docs(es: Any, bucket: str, items: list[dict[str, Any]]) -> None:
    lifecycle.ensure_template(es)
    lifecycle.ensure_bucket_index(es, bucket)
    actions = ({"_index": alias_name(bucket), "_id": doc_id(bucket, d["key"], d.get("version_id")),
                "_source": build_document(bucket=bucket, **d)} for d in items)
    ok, errors = bulk_index(es, actions, **lifecycle.WRITE_PARAMS)
    assert errors == [] and ok == len(items)


def engine_config(endpoints: Endpoints) -> EngineConfig:
    return endpoints.engine_config()


@pytest.fixture(scope="module")
def corpus(es: Any) -> Iterator[None]:
    try:
        index_docs(es, BUCKET_A, docs())
        index_docs(es, BUCKET_B, [dict(key="bob/secret.txt", text="thor bob only", size=1)])
        yield
    finally:
        for bucket in (BUCKET_A, BUCKET_B):
            for name in lifecycle.bucket_indices(es, bucket):
                lifecycle.delete_index(es, name)


@pytest.fixture(scope="module")
def settings(endpoints: Endpoints) -> Settings:
    return Settings(engine=engine_config(endpoints), access=AccessPolicy.from_mapping(ACCESS),
                    cursor_secret=SECRET, max_page=100)


@pytest.fixture(scope="module")
def server(corpus: None, settings: Settings, endpoints: Endpoints,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchApiServer]:
    path = tmp_path_factory.mktemp("search-api") / "credentials.json"
    path.write_text(json.dumps({key: {"secret": f"{name}-secret", "arn": arn}
                                for key, (name, arn) in USERS.items()}))
    app.configure(SearchService.from_settings(settings))
    srv = serve(0, path, region=endpoints.region)
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        app.configure(None)


def client(server: SearchApiServer, key: str = "AKIDALICE", secret: str | None = None,
           region: str | None = None) -> SearchApiClient:
    name = USERS.get(key, ("nobody", ""))[0]
    session = boto3.Session(aws_access_key_id=key,
                            aws_secret_access_key=secret or f"{name}-secret",
                            region_name=region or server.region)
    return SearchApiClient(server.url, session=session)


def keys(server: SearchApiServer, **request: Any) -> set[str]:
    answer = client(server).search({"buckets": [BUCKET_A], "page_size": 100, **request})
    assert not answer["has_more"]
    return {hit["key"] for hit in answer["hits"]}


# --- each query form ------------------------------------------------------------------------

@pytest.mark.parametrize(("request_", "expected"), [
    ({"text": "thor"}, {*PAGES, "data/report.final.csv"}),
    ({"text": "quarterly"}, {"data/report.final.csv"}),
    ({"text": "final"}, {"data/report.final.csv"}),  # a key token
    ({"text": "thor -page"}, {"data/report.final.csv"}),
    ({"text": '"page number3"'}, {"pages/p03.txt"}),
    ({"meta": {"name": "thor"}}, {"data/report.final.csv"}),
    ({"meta": {"n": {"gte": 22}}}, {"pages/p22.txt", "pages/p23.txt", "pages/p24.txt"}),
    ({"meta": {"nested.level": 2}}, {"data/report.final.csv"}),
    ({"meta": {"flag": True}}, {"data/report.final.csv"}),
    ({"meta": {"name": {"in": ["thor", "loki"]}}}, {"data/report.final.csv", "data/other.csv"}),
    ({"amz_meta": {"owner": "alice"}}, {"data/report.final.csv"}),
    ({"extensions": ["CSV"]}, {"data/report.final.csv", "data/other.csv"}),
    ({"min_size": 4000}, {"data/report.final.csv"}),
    ({"max_size": 10}, {"pages/p00.txt", "pages/p01.txt", "ver/file.txt"}),
    ({"modified_since": "2024-01-23"}, {"pages/p22.txt", "pages/p23.txt", "pages/p24.txt"}),
    ({"modified_before": "2023-01-01"}, {"data/other.csv", "ver/file.txt"}),
    ({"key_prefix": "data/"}, {"data/report.final.csv", "data/other.csv"}),
    ({"key": "data/other.csv"}, {"data/other.csv"}),
    ({"key_prefix": "old/", "include_deleted": True}, {"old/removed.csv"}),
    ({"key_prefix": "old/"}, set()),
    ({"text": "thor", "meta": {"kind": "page"}, "max_size": 30},
     {"pages/p00.txt", "pages/p01.txt", "pages/p02.txt", "pages/p03.txt"}),
])
def test_query_forms(server: SearchApiServer, request_: dict[str, Any],
                     expected: set[str]) -> None:
    assert keys(server, **request_) == expected


def test_versions_facets_sort_and_hit_fields(server: SearchApiServer) -> None:
    c = client(server)
    versions = c.search({"buckets": [BUCKET_A], "key_prefix": "ver/", "include_versions": True})
    assert sorted(h["version_id"] for h in versions["hits"]) == ["v1", "v2"]
    answer = c.search({"buckets": [BUCKET_A], "key_prefix": "data/", "facets": True,
                       "sort": "-size"})
    assert [h["key"] for h in answer["hits"]] == ["data/report.final.csv", "data/other.csv"]
    assert answer["facets"] == {"extensions": {"csv": 2}, "other_extensions": 0,
                                "total_size": 5300}
    hit = answer["hits"][0]
    assert hit["bucket"] == BUCKET_A and hit["size"] == 5000
    assert hit["last_modified"] == "2023-03-01T00:00:00.000Z"
    assert hit["user_meta"] == {"name": "thor", "nested": {"level": 2}, "flag": True}
    assert hit["amz_meta"] == {"owner": "alice"} and hit["content_type"] == "text/csv"
    assert answer["total"] == 2 and answer["total_is_exact"] and answer["cursor"] is None


def test_highlighting(server: SearchApiServer) -> None:
    answer = client(server).search({"buckets": [BUCKET_A], "text": "quarterly final",
                                    "highlight": True})
    hit = answer["hits"][0]
    assert hit["key"] == "data/report.final.csv" and hit["score"] > 0
    assert hit["highlights"]["content"] == ["<em>quarterly</em> revenue of thor"]
    assert any("<em>final</em>" in part for part in hit["highlights"]["key"])
    plain = client(server).search({"buckets": [BUCKET_A], "text": "quarterly"})
    assert plain["hits"][0]["highlights"] == {}


# --- pagination -----------------------------------------------------------------------------

def test_pagination_without_duplicates_or_gaps(server: SearchApiServer) -> None:
    c = client(server)
    request: dict[str, Any] = {"buckets": [BUCKET_A], "text": "thor",
                               "meta": {"kind": "page"}, "page_size": 10, "facets": True}
    seen: list[str] = []
    sizes = []
    answer = c.search(request)
    assert answer["total"] == 25 and answer["facets"]["extensions"] == {"txt": 25}
    while True:
        sizes.append(len(answer["hits"]))
        seen += [h["key"] for h in answer["hits"]]
        if not answer["has_more"]:
            assert answer["cursor"] is None
            break
        answer = c.search({**request, "cursor": answer["cursor"]})
        assert answer["facets"] is None  # facets come with the first page only
    assert sizes == [10, 10, 5]
    assert len(seen) == len(set(seen)) == 25 and set(seen) == set(PAGES)


def test_pagination_through_search_query(server: SearchApiServer) -> None:
    c = client(server)
    query = SearchQuery(meta={"kind": "page"}, sort="key", page_size=10)
    page = c.search_query(BUCKET_A, query)
    got = [h.key for h in page.hits]
    while page.cursor:
        page = c.search_query(BUCKET_A, query, cursor=page.cursor)
        got += [h.key for h in page.hits]
    assert got == PAGES


# --- refusals -------------------------------------------------------------------------------

def test_syntax_error_is_400_with_a_message(server: SearchApiServer) -> None:
    with pytest.raises(SearchQueryError) as caught:
        client(server).search({"buckets": [BUCKET_A], "text": "thor (page"})
    assert caught.value.status == 400 and "'(' never closed" in str(caught.value)
    with pytest.raises(SearchQueryError, match="unknown operator|operator"):
        client(server).search({"buckets": [BUCKET_A], "meta": {"n": {"regex": ".*"}}})
    with pytest.raises(SearchQueryError, match="unknown field.s. query"):
        client(server).search({"buckets": [BUCKET_A], "query": {"match_all": {}}})


def test_over_large_page_is_400(server: SearchApiServer) -> None:
    with pytest.raises(SearchQueryError, match="'page_size' must be 1..100, got 101"):
        client(server).search({"buckets": [BUCKET_A], "page_size": 101})


def first_page(server: SearchApiServer, key: str = "AKIDALICE") -> tuple[dict[str, Any], str]:
    request = {"buckets": [BUCKET_A], "meta": {"kind": "page"}, "page_size": 10}
    answer = client(server, key).search(request)
    assert answer["cursor"]
    return request, answer["cursor"]


def test_tampered_cursor_is_refused(server: SearchApiServer) -> None:
    request, cursor = first_page(server)
    payload, mac = cursor.split(".")
    import base64

    raw = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw["b"] = [BUCKET_B]  # try to point the cursor at bob's bucket
    forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    for bad in (f"{forged}.{mac}", cursor[:-3] + "AAA", "garbage"):
        with pytest.raises(SearchQueryError, match="cursor is not valid") as caught:
            client(server).search({**request, "cursor": bad})
        assert caught.value.status == 400


def test_cursor_replayed_by_another_caller_is_refused(server: SearchApiServer) -> None:
    request, cursor = first_page(server, "AKIDALICE")
    with pytest.raises(SearchAccessDeniedError, match="another caller") as caught:
        client(server, "AKIDCAROL").search({**request, "cursor": cursor})
    assert caught.value.status == 403


def test_cursor_bound_to_buckets_and_query(server: SearchApiServer) -> None:
    request, cursor = first_page(server)
    with pytest.raises(SearchQueryError, match="other buckets"):
        client(server).search({**request, "buckets": [BUCKET_A, BUCKET_C], "cursor": cursor})
    with pytest.raises(SearchQueryError, match="different query"):
        client(server).search({**request, "text": "thor", "cursor": cursor})


def test_cursor_of_a_finished_search_has_expired(server: SearchApiServer) -> None:
    c = client(server)
    request, cursor = first_page(server)
    second = c.search({**request, "cursor": cursor})  # opens the point in time
    answer = c.search({**request, "cursor": second["cursor"]})
    assert not answer["has_more"]  # the last page closed the point in time
    with pytest.raises(SearchQueryError, match="expired"):
        c.search({**request, "cursor": second["cursor"]})
    # the first page's cursor holds no point in time: asking again reads a new one
    assert c.search({**request, "cursor": cursor})["hits"] == second["hits"]


def test_bucket_the_caller_may_not_search_is_403(server: SearchApiServer) -> None:
    with pytest.raises(SearchAccessDeniedError, match=f"may not search bucket.s. {BUCKET_B}"):
        client(server, "AKIDALICE").search({"buckets": [BUCKET_A, BUCKET_B], "text": "thor"})
    with pytest.raises(SearchAccessDeniedError) as caught:
        client(server, "AKIDBOB").search({"buckets": [BUCKET_A]})
    assert caught.value.status == 403
    answer = client(server, "AKIDBOB").search({"buckets": [BUCKET_B], "text": "thor"})
    assert [h["key"] for h in answer["hits"]] == ["bob/secret.txt"]  # by account id


def test_bucket_without_index_is_404(server: SearchApiServer) -> None:
    with pytest.raises(SearchError, match="no index") as caught:
        client(server).search({"buckets": [BUCKET_C]})
    assert caught.value.status == 404


def test_unsigned_and_wrongly_signed_requests_are_403(server: SearchApiServer) -> None:
    body = json.dumps({"buckets": [BUCKET_A], "text": "thor"}).encode()
    unsigned = urllib.request.Request(f"{server.url}/search", data=body, method="POST",
                                      headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(unsigned, timeout=10)
    assert caught.value.code == 403 and json.loads(caught.value.read()) == {
        "message": "Forbidden"}
    for wrong in (client(server, secret="not-alices"), client(server, "AKIDUNKNOWN"),
                  client(server, region="ap-south-1")):
        with pytest.raises(SearchAccessDeniedError, match="403"):
            wrong.search({"buckets": [BUCKET_A], "text": "thor"})


# --- configuration from the environment, and a cluster that is down ------------------------

def test_settings_from_environment(server: SearchApiServer, endpoints: Endpoints,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in endpoints.es_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("T4_SEARCH_CURSOR_SECRET", SECRET.decode())
    monkeypatch.setenv("T4_SEARCH_ACCESS", json.dumps(ACCESS))
    monkeypatch.setenv("T4_SEARCH_MAX_PAGE", "7")
    previous = app._get_service()
    app.configure(None)
    try:
        answer = client(server).search({"buckets": [BUCKET_A], "text": "thor", "page_size": 7})
        assert len(answer["hits"]) == 7 and answer["has_more"]
        with pytest.raises(SearchQueryError, match="1..7"):
            client(server).search({"buckets": [BUCKET_A], "page_size": 8})
    finally:
        app.configure(previous)


def test_cluster_down_is_503(server: SearchApiServer, settings: Settings) -> None:
    from dataclasses import replace

    previous = app._get_service()
    down = replace(settings, engine=EngineConfig(url="http://127.0.0.1:9"))
    app.configure(SearchService.from_settings(down))
    try:
        with pytest.raises(SearchUnavailableError, match="cannot be reached") as caught:
            client(server).search({"buckets": [BUCKET_A], "text": "thor"})
        assert caught.value.status == 503 and "Traceback" not in str(caught.value)
    finally:
        app.configure(previous)


def test_command_line_server(corpus: None, endpoints: Endpoints, tmp_path: Path) -> None:
    """``python -m infra.local.search_api`` serves the handler configured by the environment."""
    import os
    import subprocess
    import sys

    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"AKIDALICE": {"secret": "alice-secret",
                                               "arn": USERS["AKIDALICE"][1]}}))
    env = {**os.environ, **endpoints.es_env(), "T4_SEARCH_CURSOR_SECRET": SECRET.decode(),
           "T4_SEARCH_ACCESS": json.dumps(ACCESS), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "infra.local.search_api", "--port", "0",
                             "--credentials", str(creds), "--region", endpoints.region],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("search API on http://"), line
        url = line.split()[3]
        session = boto3.Session(aws_access_key_id="AKIDALICE",
                                aws_secret_access_key="alice-secret",
                                region_name=endpoints.region)
        answer = SearchApiClient(url, session=session).search(
            {"buckets": [BUCKET_A], "text": "quarterly"})
        assert [h["key"] for h in answer["hits"]] == ["data/report.final.csv"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
