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


def _version_docs(es, bucket: str, key: str) -> dict[str, dict]:
    """The key's documents by version id (all-versions mode)."""
    es.refresh(alias_name(bucket))
    resp = es.search({"query": {"term": {F.KEY: key}}, "size": 100}, alias_name(bucket))
    return {h["_source"].get(F.VERSION_ID) or "null": h["_source"] for h in resp["hits"]["hits"]}


def _versioned_index(es, s3, bucket: str):
    """Several versions per key (and a delete marker), indexed in the all-versions mode."""
    ids: dict[str, list[str]] = {}
    for key in ("a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "f.txt", "g.txt"):
        for n in (1, 2):
            put = s3.put_object(Bucket=bucket, Key=key, Body=f"{key} v{n}".encode())
            ids.setdefault(key, []).append(put["VersionId"])
    ids["b.txt"].append(s3.delete_object(Bucket=bucket, Key="b.txt")["VersionId"])  # a marker
    pipeline = make_pipeline(es, s3, all_versions=True)
    result = pipeline.index_keys([(bucket, k) for k in ids])
    assert not result.failed and result.written == 15
    return pipeline, ids


def test_verify_all_versions_mode_proves_every_version_and_repair_fixes_it(
        es, s3, versioned_bucket, drop_indices):
    bucket = versioned_bucket
    drop_indices(bucket)
    pipeline, ids = _versioned_index(es, s3, bucket)
    clean = verify(pipeline, bucket)
    assert clean.drift == 0
    assert (clean.listed, clean.documents) == (15, 15)  # every version and marker is compared
    alias = alias_name(bucket)

    def item(key: str, n: int) -> str:
        return f"{key}?versionId={ids[key][n]}"

    def update(key: str, n: int, fields: dict) -> None:
        es.raw.update(index=alias, id=doc_id(bucket, key, ids[key][n]), body={"doc": fields},
                      **WRITE_PARAMS)

    # missing: an older version's document was lost; so was the delete marker's
    es.raw.delete(index=alias, id=doc_id(bucket, "a.txt", ids["a.txt"][0]))
    es.raw.delete(index=alias, id=doc_id(bucket, "b.txt", ids["b.txt"][2]))
    # stale: an older version extracted by an older extractor
    update("c.txt", 0, {F.EXTRACTOR_VERSION: "test-0"})
    # stale: an older version flagged as the current one
    update("f.txt", 0, {F.IS_LATEST: True})
    # orphaned: an older version deleted for good with no event, and a version S3 never had
    s3.delete_object(Bucket=bucket, Key="d.txt", VersionId=ids["d.txt"][0])
    ghost = {**_version_docs(es, bucket, "e.txt")[ids["e.txt"][0]], F.VERSION_ID: "ghost"}
    es.raw.index(index=alias, id=doc_id(bucket, "e.txt", "ghost"), body=ghost, **WRITE_PARAMS)
    # retryable: Tika was down when an older version was indexed
    update("g.txt", 0, {F.EXTRACTION_STATUS: "unavailable"})

    report = verify(pipeline, bucket)
    assert report.counts == {"missing": 2, "stale": 2, "orphaned": 2, "retryable": 1}
    assert {k: sorted(v) for k, v in report.samples.items()} == {
        "missing": [item("a.txt", 0), item("b.txt", 2)],
        "stale": [item("c.txt", 0), item("f.txt", 0)],
        "orphaned": sorted([item("d.txt", 0), "e.txt?versionId=ghost"]),
        "retryable": [item("g.txt", 0)]}
    # pages of 2: a key's versions and documents span pages, and are still compared whole
    small = verify(pipeline, bucket, page_size=2)
    assert (small.counts, small.listed, small.documents) == (
        report.counts, report.listed, report.documents)

    from indexer.backfill import repair

    fixed = repair(pipeline, bucket)
    assert (fixed.missing, fixed.stale, fixed.orphaned, fixed.retryable) == (2, 2, 2, 1)
    assert fixed.failed == 0 and fixed.indexed + fixed.tombstoned == 7
    assert _version_docs(es, bucket, "a.txt")[ids["a.txt"][0]][F.TEXT] == "a.txt v1"
    marker = _version_docs(es, bucket, "b.txt")[ids["b.txt"][2]]
    assert (marker[F.DELETED], marker[F.IS_LATEST]) == (True, True)
    assert _version_docs(es, bucket, "c.txt")[ids["c.txt"][0]][F.EXTRACTOR_VERSION] == "test-1"
    assert _version_docs(es, bucket, "f.txt")[ids["f.txt"][0]][F.IS_LATEST] is False
    for key, version in (("d.txt", ids["d.txt"][0]), ("e.txt", "ghost")):
        gone = _version_docs(es, bucket, key)[version]
        assert (gone[F.DELETED], gone[F.IS_LATEST]) == (True, False)  # kept as tombstones
    assert _version_docs(es, bucket, "g.txt")[ids["g.txt"][0]][F.EXTRACTION_STATUS] == "ok"
    again = verify(pipeline, bucket)
    assert again.drift == 0 and again.listed == 14


def test_verify_all_versions_mode_sees_a_marker_document_that_is_not_a_marker(
        es, s3, versioned_bucket, drop_indices):
    bucket = versioned_bucket
    drop_indices(bucket)
    pipeline, ids = _versioned_index(es, s3, bucket)
    # the marker's document shows a live object: the key looks present in search
    es.raw.update(index=alias_name(bucket), id=doc_id(bucket, "b.txt", ids["b.txt"][2]),
                  body={"doc": {F.DELETED: False}}, **WRITE_PARAMS)
    # the current version's document lost its flag: the key vanishes from search
    es.raw.update(index=alias_name(bucket), id=doc_id(bucket, "c.txt", ids["c.txt"][1]),
                  body={"doc": {F.IS_LATEST: False}}, **WRITE_PARAMS)
    report = verify(pipeline, bucket)
    assert report.counts == {"missing": 0, "stale": 2, "orphaned": 0, "retryable": 0}
    assert sorted(report.samples["stale"]) == [f"b.txt?versionId={ids['b.txt'][2]}",
                                                f"c.txt?versionId={ids['c.txt'][1]}"]
    from indexer.backfill import repair

    assert repair(pipeline, bucket).failed == 0
    assert verify(pipeline, bucket).drift == 0


def test_verify_cli_names_versions_in_the_all_versions_mode(es, s3, versioned_bucket,
                                                            drop_indices, stack_env,
                                                            monkeypatch, capsys):
    monkeypatch.setenv("T4_INDEX_VERSIONS", "all")
    bucket = versioned_bucket
    drop_indices(bucket)
    old = s3.put_object(Bucket=bucket, Key="a.txt", Body=b"alpha")["VersionId"]
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"beta")
    assert main(["backfill", f"s3://{bucket}", "--restart"]) == 0
    es.raw.delete(index=alias_name(bucket), id=doc_id(bucket, "a.txt", old))
    capsys.readouterr()
    assert main(["verify", f"s3://{bucket}"]) == 1
    out = capsys.readouterr().out
    assert "2 versions and delete markers, 1 documents" in out
    assert f"missing: 'a.txt?versionId={old}'" in out and "DRIFT in 1 versions" in out
    assert main(["repair", f"s3://{bucket}"]) == 0
    out = capsys.readouterr().out
    assert "2 versions and delete markers, 1 documents; missing 1," in out
    assert main(["verify", f"s3://{bucket}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["drift"] == 0 and report["listed"] == 2 and report["documents"] == 2
    assert report["all_versions"] is True


def test_verify_all_versions_mode_confirms_the_null_version_by_a_read(es, s3, bucket,
                                                                      drop_indices):
    drop_indices(bucket)
    # written before versioning was enabled: version id "null", which is not immutable
    s3.put_object(Bucket=bucket, Key="old.txt", Body=b"before versioning")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="old.txt", Body=b"after")
    pipeline = make_pipeline(es, s3, all_versions=True)
    assert not pipeline.index_keys([(bucket, "old.txt")]).failed
    assert verify(pipeline, bucket).drift == 0
    # the null version's document records other metadata, observed in its write's second:
    # the listing cannot prove it either way, a read of that version can
    null = _version_docs(es, bucket, "old.txt")["null"]
    es.raw.update(index=alias_name(bucket), id=doc_id(bucket, "old.txt", "null"),
                  body={"doc": {F.SOURCE_DIGEST: "0.0", F.OBSERVED_AT: null[F.LAST_MODIFIED]}},
                  **WRITE_PARAMS)
    report = verify(pipeline, bucket)
    assert report.counts["stale"] == 1 and report.samples["stale"] == ["old.txt?versionId=null"]
    assert report.confirmed == 1
    from indexer.backfill import repair

    assert repair(pipeline, bucket).stale == 1
    assert verify(pipeline, bucket).drift == 0


def test_retry_outcomes_names_a_key_once_whatever_its_versions_in_all_versions_mode(
        es, s3, versioned_bucket, drop_indices):
    """Each version is a document; a key whose two versions both wait for a retry was
    backfilled twice (two concurrent re-reads of the same key)."""
    from indexer.backfill.verify import retryable_objects

    bucket = versioned_bucket
    drop_indices(bucket)
    pipeline, ids = _versioned_index(es, s3, bucket)
    for version in ids["a.txt"]:
        es.raw.update(index=alias_name(bucket), id=doc_id(bucket, "a.txt", version),
                      body={"doc": {F.EXTRACTION_STATUS: "unavailable"}}, **WRITE_PARAMS)
    es.raw.update(index=alias_name(bucket), id=doc_id(bucket, "c.txt", ids["c.txt"][0]),
                  body={"doc": {F.EXTRACTION_STATUS: "unavailable"}}, **WRITE_PARAMS)
    assert [key for key, _ in retryable_objects(pipeline, bucket)] == ["a.txt", "c.txt"]
    # resuming after a key does not name it again
    assert [key for key, _ in retryable_objects(pipeline, bucket, start_after="a.txt")] == [
        "c.txt"]
