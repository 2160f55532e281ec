"""A bulk item the engine does not acknowledge is never reported as written.

The pipeline writes a whole batch in one bulk request, and the engine answers each
item on its own: some may be written while others are refused. Every message whose
item was refused must come back (listed as failed, so the worker leaves it on the
queue), with the engine's reason; the messages of the items that were written must
not. The engine dying between the read and the bulk write is in
``test_indexing_faults.py`` (it needs a private engine it may kill).
"""

from __future__ import annotations

import json

import pytest

from indexer.pipeline import Message
from t4index import fields as F
from t4index.lifecycle import ensure_bucket_index
from t4index.mapping import MAPPING_VERSION, index_settings, mappings
from t4index.names import alias_name, index_name
from tests.support.events import load_event
from tests.support.indexing import make_pipeline, stored


def _messages(bucket: str, keys: list[str], name: str = "s3_put") -> dict[str, Message]:
    """One message per key, by key."""
    return {key: Message(f"{name}-{bucket}-{key}", json.dumps(
        load_event(name, bucket=bucket, key=key, version_id=None))) for key in keys}


def _process(pipeline, messages: list[Message]):
    return pipeline.process(messages, remaining_ms=lambda: 600_000)


@pytest.fixture
def pipeline(es, s3):
    return make_pipeline(es, s3)


def test_items_refused_with_429_come_back_and_the_others_are_written(
        es, s3, bucket, unique_name, pipeline, drop_indices):
    """One bulk request to two buckets' indices; the engine refuses every item of one of
    them with 429 (the flood-stage block, ``cluster_block_exception``, as a node whose
    disk filled up answers) and writes the other's."""
    other = unique_name("b2")
    s3.create_bucket(Bucket=other)
    drop_indices(bucket)
    drop_indices(other)
    blocked = ensure_bucket_index(es, bucket).write_index
    ensure_bucket_index(es, other)
    keys = [f"k{i}.txt" for i in range(4)]
    for name in (bucket, other):
        for key in keys:
            s3.put_object(Bucket=name, Key=key, Body=f"words of {name}/{key}".encode())
    refused, accepted = _messages(bucket, keys), _messages(other, keys)
    es.raw.indices.put_settings(index=blocked,
                                body={"index.blocks.read_only_allow_delete": True})
    try:
        result = _process(pipeline, [*refused.values(), *accepted.values()])
    finally:
        es.raw.indices.put_settings(index=blocked,
                                    body={"index.blocks.read_only_allow_delete": None})
    assert set(result.failed) == {m.message_id for m in refused.values()}
    # Elasticsearch answers this block with 429, OpenSearch with 403: refused either way
    assert all(("bulk item 429" in why or "bulk item 403" in why)
               and "cluster_block_exception" in why for why in result.failed.values()), (
        result.failed)
    assert result.written == len(accepted)
    for key in keys:
        assert stored(es, bucket, key) is None
        assert stored(es, other, key)[F.TEXT] == f"words of {other}/{key}"
    # The messages came back; their next delivery writes them.
    again = _process(pipeline, list(refused.values()))
    assert again.failed == {} and again.written == len(refused)
    assert all(stored(es, bucket, key)[F.TEXT] == f"words of {bucket}/{key}" for key in keys)


def test_items_refused_by_a_mapping_conflict_come_back_with_the_reason(
        es, s3, bucket, pipeline, drop_indices):
    """The bucket's index was made by someone else with ``size`` mapped as a boolean:
    documents of objects (which carry a size) are refused with 400 one by one, while a
    tombstone in the same bulk request is written."""
    drop_indices(bucket)
    wrong = mappings()
    wrong["properties"][F.SIZE] = {"type": "boolean"}
    es.raw.indices.create(index=index_name(bucket, MAPPING_VERSION), body={
        "settings": index_settings(), "mappings": wrong,
        "aliases": {alias_name(bucket): {"is_write_index": True}}},
        wait_for_active_shards="1")
    s3.put_object(Bucket=bucket, Key="live.txt", Body=b"a live object")
    s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone.txt")
    live = _messages(bucket, ["live.txt"])["live.txt"]
    gone = _messages(bucket, ["gone.txt"], "s3_delete")["gone.txt"]
    result = _process(pipeline, [live, gone])
    assert list(result.failed) == [live.message_id]
    assert "bulk item 400" in result.failed[live.message_id]
    assert "live.txt" in result.failed[live.message_id]
    assert result.written == 1 and result.tombstoned == 1
    assert stored(es, bucket, "live.txt") is None
    assert stored(es, bucket, "gone.txt")[F.DELETED] is True
