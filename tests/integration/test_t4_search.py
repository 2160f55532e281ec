"""Bucket.search through both routes (Elasticsearch directly, the SigV4 search API)."""

from __future__ import annotations

import json
import secrets
import time

import boto3
import pytest

import t4
from infra.local import services
from infra.local.settings import StackSettings
from t4index.names import alias_name, role_index_names
from tests.support.aws import wait_for
from tests.support.indexing import make_pipeline

FILES = {
    "notes/thor.md": (b"Thor carries the hammer north", {"name": "thor", "n": 3}),
    "notes/loki.txt": (b"Loki borrowed a helmet", {"name": "loki", "n": 1}),
    "reports/report.final.csv": (b"site,temp\nridge,-4\n", {"name": "weather", "n": 5,
                                                             "nested": {"ok": True}}),
    "data/thor-runs.json": (json.dumps({"runs": 12}).encode(), {"name": "thor", "n": 7}),
}


def _index(es, s3, bucket, files):
    for key, (body, meta) in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body,
                      Metadata={"helium": json.dumps({"user_meta": meta})})
    result = make_pipeline(es, s3).index_keys([(bucket, k) for k in files])
    assert result.failed == {}
    es.refresh(alias_name(bucket))


@pytest.fixture
def catalog(es, s3, bucket, drop_indices):
    drop_indices(bucket)
    _index(es, s3, bucket, FILES)
    return bucket


@pytest.fixture
def direct(endpoints, monkeypatch):
    for name, value in endpoints.es_env().items():
        if name.startswith("T4_ES_"):
            monkeypatch.setenv(name, value)


@pytest.fixture
def api_session(monkeypatch):
    settings = StackSettings.from_env()
    callers = services.search_api_callers(settings)
    (access_key, entry), = callers.items()
    monkeypatch.setenv("T4_SEARCH_API_URL", settings.search_api_url)
    return boto3.Session(aws_access_key_id=access_key, aws_secret_access_key=entry["secret"],
                         region_name="us-east-1")


def _keys(results):
    return sorted(hit.key for hit in results)


def _check_query_forms(b):
    assert _keys(b.search("thor")) == ["data/thor-runs.json", "notes/thor.md"]
    assert _keys(b.search("hammer")) == ["notes/thor.md"]
    assert _keys(b.search("final")) == ["reports/report.final.csv"]
    assert _keys(b.search({"name": "thor"})) == ["data/thor-runs.json", "notes/thor.md"]
    assert _keys(b.search({"n": {"gte": 3}})) == [
        "data/thor-runs.json", "notes/thor.md", "reports/report.final.csv"]
    assert _keys(b.search({"nested.ok": True})) == ["reports/report.final.csv"]
    assert _keys(b.search("thor", meta={"n": {"lt": 5}})) == ["notes/thor.md"]
    assert _keys(b.search("thor", extensions=["md"])) == ["notes/thor.md"]
    assert _keys(b.search(prefix="notes/")) == ["notes/loki.txt", "notes/thor.md"]
    hit = b.search("hammer")[0]
    assert hit.meta == {"name": "thor", "n": 3} and hit.size == len(FILES["notes/thor.md"][0])
    assert any("<em>" in s for snippets in hit.highlights.values() for s in snippets)
    facets = b.search(prefix="", facets=True).facets
    assert facets["extensions"] == {"md": 1, "txt": 1, "csv": 1, "json": 1}
    with pytest.raises(t4.SearchQueryError):
        b.search('"unbalanced')
    with pytest.raises(t4.SearchQueryError):
        b.search({"n": {"gtee": 3}})


def _check_pages(b):
    seen, cursor = [], None
    while True:
        page = b.search(prefix="", limit=3, cursor=cursor)
        seen += [h.key for h in page]
        cursor = page.cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(FILES) and len(seen) == len(set(seen))


def test_direct_route_every_query_form(catalog, direct):
    b = t4.Bucket(f"s3://{catalog}")
    _check_query_forms(b)
    _check_pages(b)
    frame = b.search("thor").to_dataframe()
    assert set(frame["key"]) == {"data/thor-runs.json", "notes/thor.md"}


def test_search_api_route_every_query_form(catalog, api_session):
    b = t4.Bucket(f"s3://{catalog}", session=api_session)
    _check_query_forms(b)
    _check_pages(b)


def test_an_expired_direct_cursor_says_so_not_no_index(catalog, direct, es):
    """Issue 14: a 404 from a gone point in time read as 'no index yet' on the direct route."""
    from t4index.query import Cursor

    b = t4.Bucket(f"s3://{catalog}")
    second = b.search(prefix="", limit=1, cursor=b.search(prefix="", limit=1).cursor)
    es.close_pit(Cursor.decode(second.cursor).pit_id)  # as if its keep-alive had passed
    with pytest.raises(t4.SearchQueryError, match="cursor has expired"):
        b.search(prefix="", limit=1, cursor=second.cursor)


def test_a_tampered_api_cursor_is_refused(catalog, api_session):
    b = t4.Bucket(f"s3://{catalog}", session=api_session)
    cursor = b.search(prefix="", limit=1).cursor
    tampered = cursor[:-4] + ("AAAA" if not cursor.endswith("AAAA") else "BBBB")
    # The API's refusal of an altered cursor (400), not any failure of the search.
    with pytest.raises(t4.SearchQueryError, match="cursor is not valid") as refused:
        b.search(prefix="", limit=1, cursor=tampered)
    assert refused.value.status == 400


def test_wrong_credentials_are_refused_by_the_api(catalog, api_session):
    wrong = boto3.Session(aws_access_key_id="AKIAWRONGWRONGWRONG1",
                          aws_secret_access_key="nope", region_name="us-east-1")
    with pytest.raises(t4.SearchAccessDeniedError):
        t4.Bucket(f"s3://{catalog}", session=wrong).search("thor")


def test_search_before_configuration_says_how(bucket):
    with pytest.raises(t4.SearchNotConfiguredError, match=r"t4\.config\(search_api_url="):
        t4.Bucket(f"s3://{bucket}").search("thor")


def test_config_persists_and_env_overrides(monkeypatch, endpoints):
    shown = t4.config(es_url="http://es.example:9200", es_api_key="secret-key")
    assert shown == {"es_url": "http://es.example:9200", "es_api_key": "***"}
    monkeypatch.setenv("T4_ES_URL", endpoints.es_url)
    assert t4.config()["es_url"] == endpoints.es_url
    with pytest.raises(t4.ConfigError):
        t4.config(es_url="es.example:9200")
    t4.config(reset=True)


@pytest.mark.engine_specific(
    "elasticsearch", "file-realm users are Elasticsearch's; the local OpenSearch has no security "
    "plugin (not on Maven Central), so its per-bucket reader role is documented, not tested")
def test_direct_route_with_credentials_limited_to_one_bucket(es, s3, unique_name, request,
                                                             drop_indices, monkeypatch, endpoints):
    mine, theirs = unique_name("mine"), unique_name("theirs")
    for name in (mine, theirs):
        s3.create_bucket(Bucket=name)
        drop_indices(name)
        _index(es, s3, name, {"doc.txt": (b"thor in " + name.encode(), {"owner": name})})
    user, password = f"reader_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    settings = StackSettings.from_env()
    services.add_file_realm_user(settings, user, password, f"role_{user}",
                                 role_index_names(mine), ["read", "view_index_metadata"])
    request.addfinalizer(lambda: services.remove_file_realm_user(settings, user, f"role_{user}"))
    monkeypatch.setenv("T4_ES_URL", endpoints.es_url)
    monkeypatch.setenv("T4_ES_USERNAME", user)
    monkeypatch.setenv("T4_ES_PASSWORD", password)

    def allowed():
        try:
            return _keys(t4.Bucket(f"s3://{mine}").search("thor"))
        except t4.SearchError:
            time.sleep(0.5)  # the file realm is reread every few seconds
            return None

    assert wait_for(allowed, timeout=30, what="the new file-realm user") == ["doc.txt"]
    with pytest.raises(t4.SearchAccessDeniedError):
        t4.Bucket(f"s3://{theirs}").search("thor")


def test_t4_search_on_the_command_line(catalog, direct, capsys):
    from t4.cli import main

    assert main(["search", f"s3://{catalog}", "thor"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 match(es)") and "notes/thor.md" in out and "loki" not in out
    assert main(["search", f"s3://{catalog}", "--meta", '{"n": {"gte": 5}}', "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["key"] for r in lines) == ["data/thor-runs.json", "reports/report.final.csv"]
    assert main(["search", f"s3://{catalog}", '"unbalanced']) == 1
    assert "t4: error:" in capsys.readouterr().err


def test_a_put_is_searchable_within_the_documented_time(es, s3, sqs, bucket, direct,
                                                        drop_indices):
    """README: a put is searchable within 15 s on the local stack (typically 1-2 s)."""
    from tests.support.aws import make_queue, notify_queue

    drop_indices(bucket)
    _, arn, _ = make_queue(sqs, f"{StackSettings.from_env().queue_prefix}-{bucket}")
    notify_queue(s3, bucket, arn)
    b = t4.Bucket(f"s3://{bucket}")
    started = time.monotonic()
    b.put("fresh/odin.json", {"said": "wisdom"}, meta={"name": "odin"})

    def found():
        try:
            return _keys(b.search({"name": "odin"}))
        except t4.SearchError:
            return None  # no index until the first document

    assert wait_for(found, timeout=15, interval=0.1, what="the put to be searchable") == [
        "fresh/odin.json"]
    print(f"searchable after {time.monotonic() - started:.1f} s")
