"""Repair on the real stack: documents of deleted objects are tombstoned, in flat memory."""

from __future__ import annotations

import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

from indexer import freshness
from indexer.backfill import repair
from indexer.state import head_state
from t4index import fields as F
from t4index.document import build_document
from t4index.lifecycle import WRITE_PARAMS, ensure_bucket_index, ensure_template
from t4index.names import alias_name, doc_id
from tests.support.engine import bulk_index
from tests.support.indexing import make_pipeline, stored

SIZES = (1000, 3000)  # both past the first flushes: the working set is reached


def _bucket_with_documents(es: Any, s3: Any, bucket: str, n: int) -> list[str]:
    """``n`` objects in S3, each with its document (written directly: repair is under test)."""
    keys = [f"data/{i:06d}-é.txt" if i % 7 == 0 else f"data/{i:06d}.txt" for i in range(n)]
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode()), keys))
    ensure_template(es)
    ensure_bucket_index(es, bucket)
    time.sleep(freshness.SETTLE_SECONDS)  # the documents below show S3 as settled

    def document(key: str) -> dict[str, Any]:
        state = head_state(s3, bucket, key)
        return build_document(
            bucket=bucket, key=key, size=state.size, etag=state.etag,
            last_modified=state.last_modified, content_type=state.content_type,
            text=key, extraction_status="ok", extractor_version="test-1",
            source_digest=freshness.source_digest(state), observed_at=state.observed_at)

    with ThreadPoolExecutor(32) as pool:
        docs = list(pool.map(document, keys))
    bulk_index(es, [{"_index": alias_name(bucket), "_id": doc_id(bucket, d[F.KEY]),
                     "_source": d} for d in docs], **WRITE_PARAMS)
    return keys


def _repair_peak(es: Any, bucket: str, n: int) -> tuple[Any, int, set[str]]:
    s3 = boto3.client("s3", config=Config(max_pool_connections=32))
    keys = _bucket_with_documents(es, s3, bucket, n)
    gone = set(keys[::10])
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in sorted(gone)][:1000]})
    pipeline = make_pipeline(es, s3)
    pipeline.bucket_index(bucket)
    s3.head_object(Bucket=bucket, Key=keys[1])  # warm the client: its models load once
    repair(pipeline, f"{bucket}", "nothing-here/", page_size=100, batch=50)
    tracemalloc.start()
    try:
        summary = repair(pipeline, bucket, page_size=100, batch=50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return summary, peak, gone


def test_repair_tombstones_deleted_objects_in_memory_that_does_not_grow(
        es, s3, unique_name, drop_indices):
    peaks = {}
    for n in SIZES:
        bucket = unique_name("b")
        s3.create_bucket(Bucket=bucket)
        drop_indices(bucket)
        summary, peaks[n], gone = _repair_peak(es, bucket, n)
        assert summary.failed == 0, summary.failures[:5]
        assert (summary.listed, summary.documents) == (n - len(gone), n)
        assert summary.orphaned == summary.tombstoned == len(gone)
        assert summary.missing == summary.stale == summary.retryable == 0
        for key in list(gone)[:20]:
            assert stored(es, bucket, key)[F.DELETED] is True
        assert stored(es, bucket, "data/000001.txt")[F.DELETED] is False
    print("repair peaks (bytes):", peaks)
    # 3x the objects, the same working set: one LIST page, one scan page, one batch
    assert peaks[SIZES[1]] < peaks[SIZES[0]] * 1.3 + 256 * 1024, peaks


def test_repair_indexes_objects_without_documents_and_leaves_created_keys_alone(
        es, s3, bucket, drop_indices):
    drop_indices(bucket)
    keys = _bucket_with_documents(es, s3, bucket, 30)
    s3.delete_object(Bucket=bucket, Key=keys[3])
    s3.put_object(Bucket=bucket, Key="new/only-in-s3.txt", Body=b"fresh")
    summary = repair(make_pipeline(es, s3), bucket)
    assert (summary.orphaned, summary.tombstoned, summary.missing, summary.indexed) == (1, 1, 1, 1)
    assert summary.stale == 0
    assert stored(es, bucket, "new/only-in-s3.txt")[F.TEXT] == "fresh"
    assert stored(es, bucket, keys[3])[F.DELETED] is True
    again = repair(make_pipeline(es, s3), bucket)
    assert (again.orphaned, again.stale, again.missing, again.tombstoned, again.indexed) == (
        0, 0, 0, 0, 0)
