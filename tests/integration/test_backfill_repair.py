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


def _document(s3: Any, bucket: str, key: str, version_id: str | None = None,
              is_latest: bool = True) -> dict[str, Any]:
    """The document of ``key`` (of one version of it) as the pipeline makes it."""
    state = head_state(s3, bucket, key, version_id)
    return build_document(
        bucket=bucket, key=key, size=state.size, etag=state.etag, version_id=version_id,
        is_latest=is_latest, last_modified=state.last_modified,
        content_type=state.content_type, text=key, extraction_status="ok",
        extractor_version="test-1", source_digest=freshness.source_digest(state),
        observed_at=state.observed_at)


def _write_documents(es: Any, bucket: str, docs: list[dict[str, Any]]) -> None:
    bulk_index(es, [{"_index": alias_name(bucket),
                     "_id": doc_id(bucket, d[F.KEY], d.get(F.VERSION_ID)), "_source": d}
                    for d in docs], **WRITE_PARAMS)


def _bucket_with_documents(es: Any, s3: Any, bucket: str, n: int) -> list[str]:
    """``n`` objects in S3, each with its document (written directly: repair is under test)."""
    keys = [f"data/{i:06d}-é.txt" if i % 7 == 0 else f"data/{i:06d}.txt" for i in range(n)]
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode()), keys))
    ensure_template(es)
    ensure_bucket_index(es, bucket)
    time.sleep(freshness.SETTLE_SECONDS)  # the documents below show S3 as settled
    with ThreadPoolExecutor(32) as pool:
        _write_documents(es, bucket, list(pool.map(lambda k: _document(s3, bucket, k), keys)))
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


def _versioned_bucket_with_documents(es: Any, s3: Any, bucket: str, n: int
                                     ) -> dict[str, list[str]]:
    """``n`` keys of two versions each, every version with its document; the version ids
    of each key, oldest first."""
    keys = [f"data/{i:06d}-é.txt" if i % 7 == 0 else f"data/{i:06d}.txt" for i in range(n)]

    def put_twice(key: str) -> list[str]:
        return [s3.put_object(Bucket=bucket, Key=key, Body=f"{key} v{m}".encode())["VersionId"]
                for m in (1, 2)]

    with ThreadPoolExecutor(32) as pool:
        ids = dict(zip(keys, pool.map(put_twice, keys), strict=True))
    ensure_template(es)
    ensure_bucket_index(es, bucket)
    with ThreadPoolExecutor(32) as pool:
        docs = list(pool.map(lambda kv: _document(s3, bucket, kv[0], kv[1][0], False),
                             ids.items()))
        docs += pool.map(lambda kv: _document(s3, bucket, kv[0], kv[1][1], True), ids.items())
    _write_documents(es, bucket, docs)
    return ids


def test_all_versions_repair_finds_and_tombstones_versions_in_memory_that_does_not_grow(
        es, unique_name, drop_indices):
    s3 = boto3.client("s3", config=Config(max_pool_connections=32))
    peaks = {}
    for n in (500, 1500):
        bucket = unique_name("vb")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        drop_indices(bucket)
        ids = _versioned_bucket_with_documents(es, s3, bucket, n)
        gone = {key: versions[0] for key, versions in list(ids.items())[::10]}
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": k, "VersionId": v} for k, v in gone.items()]})
        pipeline = make_pipeline(es, s3, all_versions=True)
        pipeline.bucket_index(bucket)
        repair(pipeline, bucket, "nothing-here/", page_size=100, batch=50)  # warm up
        tracemalloc.start()
        try:
            summary = repair(pipeline, bucket, page_size=100, batch=50)
            _, peaks[n] = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert summary.failed == 0, summary.failures[:5]
        assert (summary.listed, summary.documents) == (2 * n - len(gone), 2 * n)
        assert summary.orphaned == summary.tombstoned == len(gone)
        assert summary.missing == summary.stale == summary.retryable == summary.indexed == 0
        key, version = next(iter(gone.items()))
        es.refresh(alias_name(bucket))
        hits = es.search({"query": {"term": {F.VERSION_ID: version}}}, alias_name(bucket))
        old = hits["hits"]["hits"][0]["_source"]
        assert (old[F.KEY], old[F.DELETED], old[F.IS_LATEST]) == (key, True, False)
    print("all-versions repair peaks (bytes):", peaks)
    # 3x the versions, the same working set: one LIST page, one scan page, one batch
    assert peaks[1500] < peaks[500] * 1.3 + 256 * 1024, peaks
