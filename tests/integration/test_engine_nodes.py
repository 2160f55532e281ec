"""A cluster named by several node URLs (``T4_ES_URL=http://a:9200,http://b:9200``).

The first listed node is down, as when ``./dev node stop es-1`` stopped it: the
indexer and both search routes (``Bucket.search`` direct, the search API's logic
with its time budget) still reach the cluster through the next node, on every request.
"""

from __future__ import annotations

import json
import socket

import t4
from indexer.service import build_pipeline
from indexer.settings import Settings
from t4index.names import alias_name


def _dead_node() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_node_list_whose_first_node_is_down_still_indexes_and_searches(
        es, s3, bucket, endpoints, stack_env, monkeypatch, drop_indices):
    drop_indices(bucket)
    nodes = f"{_dead_node()},{endpoints.es_url}"
    s3.put_object(Bucket=bucket, Key="notes/first-node-down.txt",
                  Body=b"a quokka survives the first node", ContentType="text/plain")
    settings = Settings.from_env({**endpoints.es_env(), "T4_ES_URL": nodes})
    result = build_pipeline(settings, s3=s3).index_keys([(bucket, "notes/first-node-down.txt")])
    assert (result.written, result.failed) == (1, {})
    es.refresh(alias_name(bucket))

    monkeypatch.setenv("T4_ES_URL", nodes)
    hits = t4.Bucket(f"s3://{bucket}").search("quokka")
    assert [hit.key for hit in hits] == ["notes/first-node-down.txt"]


def test_the_search_apis_budgeted_calls_go_to_the_next_node(s3, bucket, endpoints, stack_env,
                                                            drop_indices, es):
    from lambdas.search.access import Caller
    from lambdas.search.service import SearchService
    from lambdas.search.settings import Settings as ApiSettings

    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a wombat in the list",
                  ContentType="text/plain")
    build_pipeline(Settings.from_env(endpoints.es_env()), s3=s3).index_keys([(bucket, "a.txt")])
    es.refresh(alias_name(bucket))
    arn = "arn:aws:iam::111122223333:user/searcher"
    env = {k: v for k, v in endpoints.es_env().items() if k.startswith("T4_ES_")}
    api = SearchService.from_settings(ApiSettings.from_env({
        **env, "T4_ES_URL": f"{_dead_node()},{endpoints.es_url}",
        "T4_SEARCH_CURSOR_SECRET": "x" * 32, "T4_SEARCH_ACCESS": json.dumps({arn: ["*"]})}))
    caller = Caller(arn, "111122223333", "AIDASEARCHER", "AKSEARCHER")
    body = json.dumps({"buckets": [bucket], "text": "wombat"})
    for _ in range(4):  # each request, whichever node the client takes first
        answer = api.search(caller, body, budget=5)
        assert [hit["key"] for hit in answer["hits"]] == ["a.txt"]
