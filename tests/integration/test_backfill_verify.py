"""``verify`` and ``repair`` on the real stack: the index tells the truth about S3."""

from __future__ import annotations

import json
import time

from indexer import freshness
from indexer.backfill.cli import main
from indexer.backfill.verify import verify
from t4index import fields as F
from t4index.lifecycle import WRITE_PARAMS
from t4index.names import alias_name, doc_id
from tests.support.indexing import make_pipeline, stored


def _put(s3, bucket: str, key: str, body: bytes, meta: dict | None = None,
         content_type: str = "text/plain") -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                  Metadata={"helium": json.dumps({"user_meta": meta or {}})})


def _indexed_bucket(es, s3, bucket: str, n: int = 12):
    keys = [f"k/{i:03d}.txt" for i in range(n)]
    for key in keys:
        _put(s3, bucket, key, f"body of {key}".encode(), {"status": "draft"})
    time.sleep(freshness.SETTLE_SECONDS)  # documents made now are settled
    pipeline = make_pipeline(es, s3)
    result = pipeline.index_keys([(bucket, k) for k in keys])
    assert not result.failed and result.written == n
    return pipeline, keys


def test_verify_reports_exactly_the_injected_drift_and_repair_fixes_it(es, s3, bucket,
                                                                       drop_indices):
    drop_indices(bucket)
    pipeline, keys = _indexed_bucket(es, s3, bucket)
    assert verify(pipeline, bucket).drift == 0

    # missing: the document was lost from the index
    es.raw.delete(index=alias_name(bucket), id=doc_id(bucket, keys[0]))
    # stale: same bytes, new metadata, no event (the listing alone cannot see it)
    _put(s3, bucket, keys[1], f"body of {keys[1]}".encode(), {"status": "final"})
    # orphaned: the object was deleted, no event
    s3.delete_object(Bucket=bucket, Key=keys[2])
    # retryable: Tika was down when it was indexed
    es.raw.update(index=alias_name(bucket), id=doc_id(bucket, keys[3]),
                  body={"doc": {F.EXTRACTION_STATUS: "unavailable"}}, **WRITE_PARAMS)

    report = verify(pipeline, bucket)
    assert report.counts == {"missing": 1, "stale": 1, "orphaned": 1, "retryable": 1}
    assert report.samples == {"missing": [keys[0]], "stale": [keys[1]],
                              "orphaned": [keys[2]], "retryable": [keys[3]]}
    assert report.listed == len(keys) - 1 and report.documents == len(keys) - 1

    from indexer.backfill import repair

    fixed = repair(pipeline, bucket)
    assert (fixed.missing, fixed.stale, fixed.orphaned, fixed.retryable) == (1, 1, 1, 1)
    assert (fixed.indexed, fixed.tombstoned, fixed.failed) == (3, 1, 0)
    assert stored(es, bucket, keys[1])[F.USER_META] == {"status": "final"}
    assert stored(es, bucket, keys[2])[F.DELETED] is True
    assert verify(pipeline, bucket).drift == 0


def test_verify_confirms_unsettled_documents_by_head(es, s3, bucket, drop_indices):
    drop_indices(bucket)
    pipeline = make_pipeline(es, s3)
    _put(s3, bucket, "same.txt", b"same", {"status": "draft"})
    pipeline.index_keys([(bucket, "same.txt")])
    first = s3.head_object(Bucket=bucket, Key="same.txt")["LastModified"]
    # (most often) within the same second: same bytes, other metadata, and no event arrives
    _put(s3, bucket, "same.txt", b"same", {"status": "final"})
    second = s3.head_object(Bucket=bucket, Key="same.txt")["LastModified"]
    report = verify(pipeline, bucket)
    assert report.counts["stale"] == 1
    # in the same second only a read can tell; across a second boundary the listing does
    assert report.confirmed == (1 if first == second else 0)
    # a backfill (no --force) finds it too: the listing cannot prove it, the read can
    from indexer.backfill import backfill

    summary = backfill(pipeline, bucket)
    assert summary.indexed == 1
    assert stored(es, bucket, "same.txt")[F.USER_META] == {"status": "final"}
    assert verify(pipeline, bucket).drift == 0


def test_verify_cli_prints_counts_samples_and_exits_1_on_drift(es, s3, bucket, drop_indices,
                                                                stack_env, capsys):
    drop_indices(bucket)
    assert main(["backfill", f"s3://{bucket}", "--restart"]) == 0  # empty bucket: an index
    _put(s3, bucket, "a.txt", b"alpha")
    assert main(["verify", f"s3://{bucket}"]) == 1
    out = capsys.readouterr().out
    assert "missing 1, stale 0, orphaned 0, retryable 0: DRIFT in 1 keys" in out
    assert "missing: 'a.txt'" in out and f"t4-backfill repair s3://{bucket}" in out
    assert main(["repair", f"s3://{bucket}"]) == 0
    capsys.readouterr()
    assert main(["verify", f"s3://{bucket}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["drift"] == 0 and report["listed"] == 1 and report["documents"] == 1


def test_backfill_retry_outcomes_reextracts_only_retryable_documents(es, s3, bucket,
                                                                     drop_indices, stack_env,
                                                                     capsys):
    drop_indices(bucket)
    for key in ("a.txt", "b.txt"):
        _put(s3, bucket, key, f"words of {key}".encode())
    assert main(["backfill", f"s3://{bucket}", "--restart"]) == 0
    es.raw.update(index=alias_name(bucket), id=doc_id(bucket, "b.txt"),
                  body={"doc": {F.EXTRACTION_STATUS: "unavailable", F.TEXT: ""}}, refresh=True,
                  **WRITE_PARAMS)
    capsys.readouterr()
    assert main(["backfill", f"s3://{bucket}", "--retry-outcomes", "--restart"]) == 0
    out = capsys.readouterr().out
    assert "1 objects, indexed 1" in out
    assert stored(es, bucket, "b.txt")[F.EXTRACTION_STATUS] == "ok"
    assert "words of b.txt" in stored(es, bucket, "b.txt")[F.TEXT]
