"""S3 tags, restores and storage classes through the stack's worker.

Each test wires its bucket to a queue the stack's worker polls. Moto sends the
created events itself; tagging and restore events are fed as recorded AWS payloads
(``tests/events/``): moto has no ``ObjectRestore:Completed``, and its tagging
events lack the version and sequencer AWS sends. The bucket's own notifications
are limited to created events so that only the recorded payloads announce the rest.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import t4
from indexer import freshness
from infra.local.settings import StackSettings
from t4index import fields as F
from t4index.names import alias_name, doc_id
from tests.support.aws import make_queue, notify_queue, queue_depth, wait_for
from tests.support.events import load_event
from tests.support.indexing import stored

pytestmark = pytest.mark.integration


def _wire(s3, sqs, bucket: str) -> str:
    prefix = StackSettings.from_env().queue_prefix  # the stack's worker polls these
    url, arn, _ = make_queue(sqs, f"{prefix}-{bucket}", visibility_timeout=5, max_receive_count=3)
    notify_queue(s3, bucket, arn, events=["s3:ObjectCreated:*"])
    return url


def _send(sqs, url: str, name: str, bucket: str, key: str) -> None:
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(load_event(name, bucket=bucket, key=key)))


def _indexed(es, bucket: str, key: str, **want: Any) -> dict[str, Any]:
    def match() -> dict[str, Any] | None:
        doc = stored(es, bucket, key)
        return doc if doc and all(doc.get(k) == v for k, v in want.items()) else None
    return wait_for(match, timeout=60, what=f"s3://{bucket}/{key} with {want}")


def _mark_text(es, bucket: str, key: str, text: str) -> None:
    """Overwrite the stored text: only a new extraction can bring the object's own back."""
    es.raw.update(index=alias_name(bucket), id=doc_id(bucket, key), body={"doc": {F.TEXT: text}},
                  refresh=True)


def test_tags_are_indexed_searchable_and_updated_by_tagging_events_without_extraction(
        es, s3, sqs, bucket, drop_indices, routes):
    drop_indices(bucket)
    url = _wire(s3, sqs, bucket)
    writer = t4.Bucket(f"s3://{bucket}")
    writer.put("notes/apollo.txt", "lunar module checklist", tags={"project": "apollo", "n": 3})
    writer.put("notes/gemini.txt", "orbital rendezvous", tags={"project": "gemini"})
    writer.put("notes/plain.txt", "no tags here")
    assert writer.get_tags("notes/apollo.txt") == {"project": "apollo", "n": "3"}
    assert writer.get_tags("notes/plain.txt") == {}

    doc = _indexed(es, bucket, "notes/apollo.txt", **{F.EXTRACTION_STATUS: "ok"})
    assert doc[F.TAGS] == {"project": "apollo", "n": "3"}
    assert "lunar" in doc[F.TEXT]
    _indexed(es, bucket, "notes/plain.txt")
    es.refresh(alias_name(bucket))
    for route in ("direct", "api"):
        found = t4.Bucket(f"s3://{bucket}", session=routes(route)).search(
            tags={"project": "apollo"})
        assert [(h.key, h.tags) for h in found] == [
            ("notes/apollo.txt", {"project": "apollo", "n": "3"})], route
        also = t4.Bucket(f"s3://{bucket}", session=routes(route)).search(tags={"n": "3"})
        assert [h.key for h in also] == ["notes/apollo.txt"], route

    # a tag change: the recorded ObjectTagging:Put updates the tags and nothing else
    _mark_text(es, bucket, "notes/apollo.txt", "kept as stored")
    s3.put_object_tagging(Bucket=bucket, Key="notes/apollo.txt", Tagging={"TagSet": [
        {"Key": "project", "Value": "artemis"}]})
    _send(sqs, url, "s3_tagging_put", bucket, "notes/apollo.txt")
    doc = _indexed(es, bucket, "notes/apollo.txt", **{F.TAGS: {"project": "artemis"}})
    assert doc[F.TEXT] == "kept as stored", "a tag change re-ran the extraction"
    assert doc[F.TAGS_KV] == ["project=artemis"]

    # tags removed: the recorded ObjectTagging:Delete
    s3.delete_object_tagging(Bucket=bucket, Key="notes/gemini.txt")
    _send(sqs, url, "s3_tagging_delete", bucket, "notes/gemini.txt")
    doc = _indexed(es, bucket, "notes/gemini.txt", **{F.TAGS: {}})
    assert doc[F.TAGS_KV] == []
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), what="the queue to drain")
    es.refresh(alias_name(bucket))
    for route in ("direct", "api"):
        b = t4.Bucket(f"s3://{bucket}", session=routes(route))
        assert [h.key for h in b.search(tags={"project": "artemis"})] == ["notes/apollo.txt"]
        assert list(b.search(tags={"project": "gemini"})) == [], route
        assert list(b.search(tags={"project": "apollo"})) == [], route


def test_a_completed_restore_extracts_an_archived_object(es, s3, sqs, bucket, drop_indices):
    drop_indices(bucket)
    url = _wire(s3, sqs, bucket)
    s3.put_object(Bucket=bucket, Key="cold/report.txt", Body=b"glacial moraine survey",
                  StorageClass="GLACIER")
    doc = _indexed(es, bucket, "cold/report.txt", **{F.EXTRACTION_STATUS: "unreadable"})
    assert doc[F.STORAGE_CLASS] == "GLACIER" and F.RESTORE not in doc
    assert F.TEXT not in doc and "archived" in doc[F.EXTRACTION_ERROR]

    s3.restore_object(Bucket=bucket, Key="cold/report.txt", RestoreRequest={"Days": 1})
    head = s3.head_object(Bucket=bucket, Key="cold/report.txt")
    assert 'ongoing-request="false"' in head["Restore"]  # moto restores at once
    _send(sqs, url, "s3_restore_completed", bucket, "cold/report.txt")
    doc = _indexed(es, bucket, "cold/report.txt", **{F.EXTRACTION_STATUS: "ok"})
    assert "moraine" in doc[F.TEXT]
    assert (doc[F.STORAGE_CLASS], doc[F.RESTORE]) == ("GLACIER", "restored")
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), what="the queue to drain")


def test_tags_are_read_only_for_tagged_objects(s3, bucket):
    """GetObjectTagging is skipped when the GET says the object has no tags."""
    from indexer.state import probe_state

    calls: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(s3, name)

    s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    s3.put_object(Bucket=bucket, Key="tagged", Body=b"x", Tagging="a=1")
    plain, _ = probe_state(Counting(), bucket, "plain")
    assert (plain.tags, calls) == ({}, ["get_object"])
    tagged, _ = probe_state(Counting(), bucket, "tagged")
    assert tagged.tags == {"a": "1"} and calls[1:] == ["get_object", "get_object_tagging"]
    assert freshness.source_digest(plain) != freshness.source_digest(tagged)
