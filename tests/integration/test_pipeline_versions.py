"""The all-versions mode: a document per version and delete marker, is_latest on the current."""

from __future__ import annotations

import random

from t4index import fields as F
from t4index.names import alias_name
from tests.support.events import load_event
from tests.support.indexing import make_pipeline, run


def _docs(es, bucket, key):
    es.refresh(alias_name(bucket))
    hits = es.search({"query": {"term": {F.KEY: key}}, "size": 100}, alias_name(bucket))
    return {h["_source"][F.VERSION_ID]: (h["_source"][F.IS_LATEST], h["_source"][F.DELETED])
            for h in hits["hits"]["hits"]}


def _truth(s3, bucket, key):
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    out = {v["VersionId"]: (v["IsLatest"], False) for v in listing.get("Versions", [])
           if v["Key"] == key}
    out.update({m["VersionId"]: (m["IsLatest"], True) for m in listing.get("DeleteMarkers", [])
                if m["Key"] == key})
    return out


def _assert_matches(docs, truth):
    """Each version and marker S3 lists has its document with the same flags; every other
    document is a tombstone (not latest, deleted)."""
    assert {v: docs.get(v) for v in truth} == truth
    assert all(flags == (False, True) for v, flags in docs.items() if v not in truth)


def test_every_version_and_marker_has_its_document(es, s3, versioned_bucket, drop_indices):
    bucket, key = versioned_bucket, "data/table.csv"
    drop_indices(bucket)
    pipeline = make_pipeline(es, s3, all_versions=True)
    event = load_event("s3_put", bucket=bucket, key=key)
    v1 = s3.put_object(Bucket=bucket, Key=key, Body=b"a,b\n1,2\n")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key=key, Body=b"a,b\n3,4\n")["VersionId"]
    assert run(pipeline, event).failed == {}
    assert _docs(es, bucket, key) == {v1: (False, False), v2: (True, False)}

    marker = s3.delete_object(Bucket=bucket, Key=key)["VersionId"]
    run(pipeline, load_event("s3_delete_marker", bucket=bucket, key=key, version_id=marker))
    assert _docs(es, bucket, key) == {v1: (False, False), v2: (False, False),
                                      marker: (True, True)}

    # Deleting the marker brings v2 back; the marker's document stays as a tombstone.
    s3.delete_object(Bucket=bucket, Key=key, VersionId=marker)
    run(pipeline, load_event("s3_delete", bucket=bucket, key=key, version_id=marker))
    assert _docs(es, bucket, key) == {v1: (False, False), v2: (True, False),
                                      marker: (False, True)}

    # Deleting the current version for good makes v1 current.
    s3.delete_object(Bucket=bucket, Key=key, VersionId=v2)
    run(pipeline, load_event("s3_delete", bucket=bucket, key=key, version_id=v2))
    docs = _docs(es, bucket, key)
    assert docs[v1] == (True, False) and docs[v2] == (False, True)
    _assert_matches(docs, _truth(s3, bucket, key))
    # Text of each version is its own.
    es.refresh(alias_name(bucket))
    hit = es.search({"query": {"term": {F.VERSION_ID: v1}}}, alias_name(bucket))
    assert "1,2" in hit["hits"]["hits"][0]["_source"][F.TEXT]


def test_versions_mode_under_shuffled_duplicated_events(es, s3, versioned_bucket, drop_indices):
    bucket = versioned_bucket
    drop_indices(bucket)
    rng = random.Random(7)
    pipeline = make_pipeline(es, s3, all_versions=True)
    keys = ["v/a.txt", "v/b.txt"]
    backlog = []
    for step in range(30):
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.55:
            vid = s3.put_object(Bucket=bucket, Key=key, Body=f"{key} {step}".encode())["VersionId"]
            backlog.append(load_event("s3_put", bucket=bucket, key=key, version_id=vid))
        elif roll < 0.8:
            vid = s3.delete_object(Bucket=bucket, Key=key).get("VersionId")
            backlog.append(load_event("s3_delete_marker", bucket=bucket, key=key, version_id=vid))
        else:
            truth = _truth(s3, bucket, key)
            if truth:
                vid = rng.choice(sorted(truth))
                s3.delete_object(Bucket=bucket, Key=key, VersionId=vid)
                backlog.append(load_event("s3_delete", bucket=bucket, key=key, version_id=vid))
        if rng.random() < 0.3:
            backlog += rng.sample(backlog, k=min(2, len(backlog)))  # duplicates
            rng.shuffle(backlog)
            assert run(pipeline, *backlog[:5]).failed == {}
            backlog = backlog[5:]
    rng.shuffle(backlog)
    for start in range(0, len(backlog), 10):
        assert run(pipeline, *backlog[start:start + 10]).failed == {}
    # Every key seen gets one final event, as S3 would have sent for its last change.
    assert run(pipeline, *[load_event("s3_put", bucket=bucket, key=k) for k in keys]).failed == {}
    for key in keys:
        _assert_matches(_docs(es, bucket, key), _truth(s3, bucket, key))


def test_backfill_in_the_all_versions_mode_indexes_every_version(es, s3, versioned_bucket,
                                                                  drop_indices):
    from indexer.backfill import backfill

    bucket = versioned_bucket
    drop_indices(bucket)
    key = "hist/log.txt"
    versions = [s3.put_object(Bucket=bucket, Key=key, Body=f"v{i}".encode())["VersionId"]
                for i in range(3)]
    pipeline = make_pipeline(es, s3, all_versions=True)
    first = backfill(pipeline, bucket)
    assert first.failed == 0
    docs = _docs(es, bucket, key)
    assert docs == {versions[0]: (False, False), versions[1]: (False, False),
                    versions[2]: (True, False)}
    again = backfill(pipeline, bucket)  # nothing new: no version is written again
    assert again.failed == 0 and _docs(es, bucket, key) == docs
    # a key whose current version is a delete marker is not in ListObjectsV2, but its
    # versions are still indexed (the listing is ListObjectVersions in this mode)
    old = s3.put_object(Bucket=bucket, Key="gone/x.txt", Body=b"was here")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="gone/x.txt")["VersionId"]
    assert backfill(pipeline, bucket).failed == 0
    assert _docs(es, bucket, "gone/x.txt") == {old: (False, False), marker: (True, True)}
