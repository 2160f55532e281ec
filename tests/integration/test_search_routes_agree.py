"""Both routes of ``Bucket.search`` give the same answer, on the real stack.

Elasticsearch directly and the SigV4 search API (the stack's running server)
share one query model and one wire format (``t4index.wire``): generated calls
over every parameter and value type must return the same keys in the same order,
and values with no encoding must fail the same way on both, before any request.
"""

from __future__ import annotations

import json
import random
import urllib.request
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

import t4
from infra.local import services
from infra.local.settings import StackSettings
from lambdas.search.settings import DEFAULT_MAX_PAGE
from t4 import cli
from t4index.names import alias_name
from t4index.query import MAX_EXPANDING_TERMS
from tests.support.indexing import make_pipeline

pytestmark = pytest.mark.integration

LONG_DIR = "d" * 1_000 + "/"
MAX_PAGE = DEFAULT_MAX_PAGE
"""The search API's page cap (the stack runs the default): both routes take 1..MAX_PAGE."""
N_NUMBERED = 24


def _files() -> dict[str, tuple[bytes, dict[str, Any]]]:
    files: dict[str, tuple[bytes, dict[str, Any]]] = {
        "notes/thor.md": (b"Thor carries the hammer north", {"name": "thor", "n": 3,
                                                             "when": "2024-03-05T00:00:00Z"}),
        "notes/loki.txt": (b"Loki borrowed a helmet", {"name": "loki", "n": 5, "ok": False}),
        "reports/report.final.csv": (b"site,temp\nridge,-4\n", {"name": "weather", "n": 5.5,
                                                                "a": {"b": "x"}}),
        "data/thor-runs.json": (json.dumps({"runs": 12}).encode(), {"name": "thor", "n": "5"}),
        LONG_DIR + "x" * 19 + ".txt": (b"deep thor", {"n": 7, "ok": True}),
        LONG_DIR + "y" * 20 + ".txt": (b"deep loki", {"n": None}),
    }
    for i in range(N_NUMBERED):
        files[f"many/item-{i:03d}.txt"] = (f"item {i} hammer".encode() * (i + 1),
                                           {"i": i, "even": i % 2 == 0})
    return files


FILES = _files()


@pytest.fixture(scope="module")
def catalog(es, s3, request) -> str:
    import uuid

    bucket = f"t4-routes-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    for key, (body, meta) in FILES.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body,
                      Metadata={"helium": json.dumps({"user_meta": meta})})
    result = make_pipeline(es, s3).index_keys([(bucket, k) for k in FILES])
    assert result.failed == {}
    es.refresh(alias_name(bucket))
    return bucket


@pytest.fixture(scope="module")
def other_catalog(es, s3) -> str:
    import uuid

    bucket = f"t4-routes-b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"b/{i}.txt", Body=b"other")
    make_pipeline(es, s3).index_keys([(bucket, f"b/{i}.txt") for i in range(3)])
    es.refresh(alias_name(bucket))
    return bucket


def both(routes, bucket: str, **kwargs: Any) -> dict[str, Any]:
    """``Bucket.search(**kwargs)`` on each route: its keys, or the error class it raised."""
    out: dict[str, Any] = {}
    for route in ("direct", "api"):
        b = t4.Bucket(f"s3://{bucket}", session=routes(route))
        try:
            out[route] = [h.key for h in b.search(**kwargs)]
        except t4.SearchQueryError as exc:
            out[route] = ("SearchQueryError", str(exc).rsplit(": ", 1)[-1][:40])
    return out


def test_limit_100_returns_100_hits_on_both_routes(catalog, routes):
    """The client once left out limit=100 (its default) and the API used its own 10."""
    for route in ("direct", "api"):
        results = t4.Bucket(f"s3://{catalog}", session=routes(route)).search(
            prefix="", limit=100)
        assert len(results) == len(FILES) and results.cursor is None, route


def test_cli_limit_100_through_the_api(catalog, routes, capsys, monkeypatch):
    credentials = routes("api").get_credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_key)
    assert cli.main(["search", f"s3://{catalog}", "--limit", "100", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(FILES)


@pytest.mark.parametrize("meta", [
    {"when": datetime(2024, 3, 5, tzinfo=UTC)},
    {"when": date(2024, 3, 5)},
    {"n": Decimal("5")},
    {"n": {"gte": Decimal("5")}},
    {"n": {"in": {3, 7}}},
])
def test_value_types_find_the_same_objects_on_both_routes(catalog, routes, meta):
    answers = both(routes, catalog, query=meta, limit=MAX_PAGE)
    assert answers["direct"] == answers["api"]
    assert answers["direct"], answers


@pytest.mark.parametrize("meta", [{"n": {1, 2}}, {"n": object()}, {"n": float("nan")},
                                  {"n": float("inf")}, {"n": Decimal("NaN")}])
def test_values_with_no_encoding_fail_on_both_routes_before_any_request(catalog, routes, meta):
    for route in ("direct", "api"):
        with pytest.raises(t4.SearchQueryError):
            t4.Bucket(f"s3://{catalog}", session=routes(route)).search(meta)


def test_a_cursor_is_refused_for_another_bucket_on_both_routes(catalog, other_catalog, routes):
    """On the direct route a cursor of bucket A once returned A's keys as B's."""
    for route in ("direct", "api"):
        session = routes(route)
        cursor = t4.Bucket(f"s3://{catalog}", session=session).search(prefix="", limit=2).cursor
        assert cursor
        with pytest.raises(t4.SearchQueryError, match="issued for"):
            t4.Bucket(f"s3://{other_catalog}", session=session).search(
                prefix="", limit=2, cursor=cursor)


@pytest.mark.engine_specific(
    "elasticsearch", "OpenSearch 2.19 refuses a prefix query above about 1,000 bytes "
    "('input automaton is too large'); test_t4index_search.py checks that error is clear")
def test_a_1024_character_key_is_a_usable_prefix(catalog, routes):
    """The server refuses prefix queries over index.max_regex_length (1,000) with a 400."""
    long_key = LONG_DIR + "x" * 19 + ".txt"
    assert len(long_key) == 1_024
    for prefix, expected in ((long_key, [long_key]), (LONG_DIR + "y", [LONG_DIR + "y" * 20 +
                                                                     ".txt"])):
        answers = both(routes, catalog, prefix=prefix)
        assert answers == {"direct": expected, "api": expected}


@pytest.mark.engine_specific(
    "opensearch", "the Elasticsearch twin above serves the same prefixes (Lucene 10)")
def test_a_1024_character_prefix_is_one_clear_refusal_on_both_routes(catalog, routes):
    """OpenSearch 2.19 (Lucene 9) refuses prefixes over ~1,000 bytes; both routes say
    so alike, with what to do, and a 999-byte prefix is served."""
    long_key = LONG_DIR + "x" * 19 + ".txt"
    for route in ("direct", "api"):
        bucket = t4.Bucket(f"s3://{catalog}", session=routes(route))
        with pytest.raises(t4.SearchQueryError, match="at most 999 bytes"):
            bucket.search(prefix=long_key)
    served = {route: sorted(found) for route, found in
              both(routes, catalog, prefix=LONG_DIR[:999]).items()}
    expected = sorted([long_key, LONG_DIR + "y" * 20 + ".txt"])
    assert served == {"direct": expected, "api": expected}


def test_expensive_queries_are_refused_up_front(catalog, routes):
    fuzzy = " ".join(f"word{i}~2" for i in range(80))
    answers = both(routes, catalog, query=fuzzy, highlight=True, limit=100)
    assert answers["direct"][0] == answers["api"][0] == "SearchQueryError"
    allowed = " ".join(f"hammr{i}~1" for i in range(MAX_EXPANDING_TERMS))
    assert both(routes, catalog, query=allowed)["direct"] == []
    long_name = both(routes, catalog, query={"m" * 1_025: 1})
    assert long_name["direct"][0] == long_name["api"][0] == "SearchQueryError"


def test_a_deeply_nested_signed_body_is_400(catalog):
    """~990 nested arrays in a 2 KB body once made the API answer 500 (RecursionError)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    settings = StackSettings.from_env()
    (access_key, entry), = services.search_api_callers(settings).items()
    body = (f'{{"buckets": ["{catalog}"], "meta": {{"a": ' + "[" * 990 + "]" * 990 + "}}"
            ).encode()
    assert len(body) < 2_100
    url = f"{settings.search_api_url}/search"
    req = AWSRequest(method="POST", url=url, data=body,
                     headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(access_key, entry["secret"]), "execute-api", "us-east-1").add_auth(req)
    http = urllib.request.Request(url, data=body, headers=dict(req.headers.items()),
                                  method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(http, timeout=30)
    assert caught.value.code == 400
    assert b"nests deeper" in caught.value.read()


# --- the property: generated calls, same keys in the same order -----------------------------

_VALUES: list[Any] = [3, 5, 5.5, Decimal("5"), "5", "thor", "loki", True, False, None,
                      datetime(2024, 3, 5, tzinfo=UTC), date(2024, 3, 5), 2**70, "x"]
_BOUNDS: list[Any] = [0, 3, Decimal("5"), 6.5, "2024-01-01", date(2024, 1, 1),
                      datetime(2025, 1, 1, tzinfo=UTC), "m"]
_BAD: list[Any] = [{1}, object(), float("nan"), float("-inf"), Decimal("Infinity")]


def _call(rng: random.Random) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    form = rng.random()
    if form < 0.35:
        kwargs["query"] = rng.choice(["thor", "hammer", "loki | thor", "deep -loki", "ham*",
                                      "thor~1", '"the hammer"', "item", "final", "ü"])
    elif form < 0.75:
        path = rng.choice(["n", "name", "i", "even", "ok", "when", "a.b", "runs"])
        op = rng.random()
        if op < 0.4:
            kwargs["query"] = {path: rng.choice(_VALUES)}
        elif op < 0.55:
            kwargs["query"] = {path: {"exists": rng.random() < 0.7}}
        elif op < 0.7:
            kwargs["query"] = {path: {"in": rng.sample(_VALUES, 3)}}
        else:
            kwargs["query"] = {path: {rng.choice(["gt", "gte", "lt", "lte"]):
                                      rng.choice(_BOUNDS)}}
        if rng.random() < 0.2:
            kwargs["meta"] = {"n": {rng.choice(["gte", "lt"]): rng.choice([3, 6])}}
    if rng.random() < 0.05:
        kwargs["query"] = {"n": rng.choice(_BAD)}
    if rng.random() < 0.25:
        kwargs["extensions"] = rng.choice([["txt"], [".MD", "csv"], ["json"]])
    if rng.random() < 0.2:
        kwargs["min_size"] = rng.choice([0, 10, 100])
    if rng.random() < 0.2:
        kwargs["max_size"] = rng.choice([30, 200, 10**9])
    if rng.random() < 0.1:
        kwargs["modified_since"] = rng.choice(["2000-01-01", datetime(2000, 1, 1, tzinfo=UTC)])
    if rng.random() < 0.1:
        kwargs["modified_before"] = rng.choice([date(2000, 1, 1), "2999-01-01"])
    if rng.random() < 0.25:
        kwargs["prefix"] = rng.choice(["notes/", "many/item-01", LONG_DIR, "", "zzz"])
    if rng.random() < 0.05:
        kwargs["key"] = "notes/thor.md"
    if rng.random() < 0.05:
        kwargs["content_type"] = rng.choice(["text/plain", "binary/octet-stream"])
    kwargs["limit"] = rng.choice([1, 2, 3, 7, 10, 29, 100, rng.randint(1, MAX_PAGE),
                                  MAX_PAGE])
    kwargs["include_deleted"] = rng.random() < 0.2
    kwargs["versions"] = rng.random() < 0.2
    kwargs["facets"] = rng.random() < 0.2
    if rng.random() < 0.3:
        kwargs["highlight"] = kwargs["limit"] <= 100 and rng.random() < 0.5
    return kwargs


def test_generated_calls_return_the_same_keys_in_the_same_order(catalog, routes):
    """Every parameter and value type, page sizes 1..max, both routes, whole pages in order."""
    rng = random.Random(20261204)
    checked = nonempty = 0
    for _ in range(120):
        kwargs = _call(rng)
        answers = both(routes, catalog, **kwargs)
        assert answers["direct"] == answers["api"], kwargs
        checked += 1
        nonempty += bool(answers["direct"]) and isinstance(answers["direct"], list)
        if isinstance(answers["direct"], list) and kwargs["limit"] < 5 and answers["direct"]:
            # follow the cursors to the end on both routes: same keys, same order
            pages = {}
            for route in ("direct", "api"):
                b = t4.Bucket(f"s3://{catalog}", session=routes(route))
                seen, cursor = [], None
                while True:
                    page = b.search(**kwargs, cursor=cursor)
                    seen += [h.key for h in page]
                    cursor = page.cursor
                    if cursor is None:
                        break
                pages[route] = seen
            assert pages["direct"] == pages["api"], kwargs
    assert checked == 120 and nonempty > 30
