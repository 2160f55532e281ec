"""Zero-downtime reindex under a steady stream of searches and puts."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

from indexer.backfill import backfill, reindex
from indexer.backfill.enqueue import event_body
from indexer.backfill.listing import Listed
from indexer.pipeline import Message
from t4index import fields as F
from t4index.lifecycle import bucket_indices, ensure_bucket_index
from t4index.names import alias_name
from tests.support.aws import wait_for
from tests.support.indexing import make_pipeline, stored

_ids = itertools.count()


def _put_and_announce(s3: Any, pipeline: Any, bucket: str, key: str, body: str) -> None:
    """Put an object and run its event through the pipeline until it is accepted (as SQS would)."""
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
    message = Message(f"live-{next(_ids)}", event_body(bucket, [Listed(key, len(body), None,
                                                                        None)]))
    for _ in range(50):
        if not pipeline.process([message], lambda: 600_000).failed:
            return
        time.sleep(0.2)  # redelivery after a visibility timeout
    raise AssertionError(f"event for {key} kept failing")


def test_reindex_while_searching_and_putting_loses_nothing_and_never_fails_a_search(
        es, s3, bucket, drop_indices):
    drop_indices(bucket)
    for i in range(300):
        s3.put_object(Bucket=bucket, Key=f"old/{i:04d}.txt", Body=f"old {i}".encode())
    loader = make_pipeline(es, s3, index_ttl_s=0.5)
    assert backfill(loader, bucket).indexed == 300
    before = ensure_bucket_index(es, bucket)
    es.refresh(alias_name(bucket))  # searches start from a searchable bucket

    stop = threading.Event()
    expected: dict[str, str] = {}
    searches: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        pipeline = make_pipeline(es, s3, index_ttl_s=0.5)
        for n in itertools.count():
            if stop.is_set():
                return
            key = f"live/{n:04d}.txt" if n % 2 else f"old/{n % 300:04d}.txt"
            body = f"put {n}"
            try:
                _put_and_announce(s3, pipeline, bucket, key, body)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
                return
            expected[key] = body

    def searcher() -> None:
        while not stop.is_set():
            try:
                resp = es.search({"size": 0, "track_total_hits": True,
                                  "query": {"match": {F.TEXT: "old put"}}}, alias_name(bucket))
                searches.append(resp["hits"]["total"]["value"])
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=searcher),
               threading.Thread(target=searcher)]
    for t in threads:
        t.start()
    try:
        # The stream is running before the reindex starts, and goes on after its swap.
        wait_for(lambda: len(expected) >= 3 and len(searches) >= 3 or errors, timeout=60,
                 what="writes and searches under way")
        summary = reindex(es, bucket, before.mapping_version + 1, grace_s=1.5, page_size=50)
        swapped_at, searched_at = len(expected), len(searches)
        wait_for(lambda: (len(expected) >= swapped_at + 5 and len(searches) >= searched_at + 5)
                 or errors, timeout=60, what="writes and searches after the swap")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors[:3]
    after = ensure_bucket_index(es, bucket)
    assert after.write_index == summary.new_index != before.write_index
    assert set(bucket_indices(es, bucket)) == {before.write_index, after.write_index}
    assert summary.copied + summary.newer_in_target >= 300  # 409: a mirrored write was newer
    assert len(searches) > 20 and min(searches) >= 300  # every search saw the whole bucket
    assert len(expected) >= 10
    for key, body in expected.items():  # no put missing, none stale
        assert (stored(es, bucket, key) or {}).get(F.TEXT) == body, key
    for i in range(300):
        key = f"old/{i:04d}.txt"
        assert (stored(es, bucket, key) or {}).get(F.TEXT) == expected.get(key, f"old {i}"), key
