"""A search that misses shards says so, on both routes; it is never a silent short answer.

The bucket's alias covers a second index whose only shard has no copy anywhere (its
allocation requires a node that does not exist), as a lost node's shards are until a
replica is promoted or the node returns. Elasticsearch then answers 200 with the
hits of the shards that answered and ``_shards.failed``.
"""

from __future__ import annotations

import io
import json
import uuid

import pytest

import t4
from t4 import cli
from t4index.names import alias_name
from tests.support.indexing import make_pipeline

FILES = {"notes/thor.md": b"Thor carries the hammer", "notes/loki.txt": b"Loki and thor"}


@pytest.fixture
def half_missing(es, s3, bucket, drop_indices):
    """A bucket whose alias also names an index with an unassigned shard."""
    drop_indices(bucket)
    for key, body in FILES.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert make_pipeline(es, s3).index_keys([(bucket, k) for k in FILES]).failed == {}
    es.refresh(alias_name(bucket))
    lost = f"t4-lost-shard-{uuid.uuid4().hex[:8]}"
    es.raw.indices.create(index=lost, wait_for_active_shards="0", body={"settings": {
        "number_of_shards": 1, "number_of_replicas": 0,
        "index.routing.allocation.require._name": "no-such-node"}})
    es.update_aliases([{"add": {"index": lost, "alias": alias_name(bucket)}}])
    try:
        yield bucket
    finally:
        es.delete_index(lost)


@pytest.fixture(params=["direct", "api"])
def route(request, endpoints, monkeypatch):
    """Configure ``t4`` for one route; returns the session to search with."""
    import boto3

    from infra.local import services
    from infra.local.settings import StackSettings

    if request.param == "direct":
        for name, value in endpoints.es_env().items():
            if name.startswith("T4_ES_"):
                monkeypatch.setenv(name, value)
        return None
    settings = StackSettings.from_env()
    (access_key, entry), = services.search_api_callers(settings).items()
    monkeypatch.setenv("T4_SEARCH_API_URL", settings.search_api_url)
    return boto3.Session(aws_access_key_id=access_key, aws_secret_access_key=entry["secret"],
                         region_name="us-east-1")


def test_a_search_missing_shards_is_flagged_on_both_routes(half_missing, route):
    b = t4.Bucket(f"s3://{half_missing}", session=route)
    results = b.search("thor")
    assert sorted(h.key for h in results) == sorted(FILES)  # what the live shard holds
    assert results.partial is not None
    assert (results.partial["failed_shards"], results.partial["total_shards"]) == (1, 2)
    # Elasticsearch says why (no_shard_available_...); OpenSearch counts an unassigned
    # shard as failed without a failure entry: the counts above are the flag on both
    assert all(isinstance(r, str) and r for r in results.partial["reasons"])


def test_complete_results_asked_for_are_an_error_on_both_routes(half_missing, route):
    b = t4.Bucket(f"s3://{half_missing}", session=route)
    with pytest.raises(t4.SearchPartialError, match="1 of 2 shards"):
        b.search("thor", allow_partial=False)


def test_the_command_line_warns_of_partial_results(half_missing, route, capsys, monkeypatch):
    if route is not None:  # the command line signs with the default session's credentials
        credentials = route.get_credentials()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_key)
    out = io.StringIO()
    assert cli.main(["search", f"s3://{half_missing}", "thor", "--json"], out=out) == 0
    assert len(out.getvalue().splitlines()) == len(FILES)
    assert "warning: partial results: 1 of 2 shards" in capsys.readouterr().err
    assert cli.main(["search", f"s3://{half_missing}", "thor", "--complete"], out=out) == 1
    assert "1 of 2 shards" in capsys.readouterr().err


def test_a_complete_search_has_no_flag(es, s3, bucket, drop_indices, route):
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"thor")
    assert make_pipeline(es, s3).index_keys([(bucket, "a.txt")]).failed == {}
    es.refresh(alias_name(bucket))
    results = t4.Bucket(f"s3://{bucket}", session=route).search("thor", allow_partial=False)
    assert [h.key for h in results] == ["a.txt"] and results.partial is None
    assert json.dumps(results.partial) == "null"
