"""The document of a key follows S3's current state, whatever events say and in whatever order."""

from __future__ import annotations

import json

import pytest

from t4index import fields as F
from tests.support.aws import make_queue, notify_queue
from tests.support.events import load_event
from tests.support.indexing import live_view, make_pipeline, run, stored


@pytest.fixture
def pipeline(es, s3):
    return make_pipeline(es, s3)


def _drain(sqs, url):
    bodies = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1).get("Messages", [])
        if not msgs:
            return bodies
        bodies += [m["Body"] for m in msgs]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])


def test_put_overwrite_delete_through_moto_notifications(es, s3, sqs, bucket, unique_name,
                                                         pipeline, drop_indices):
    drop_indices(bucket)
    url, arn, _ = make_queue(sqs, unique_name("q"))
    notify_queue(s3, bucket, arn)
    key = "a b+c/ü report.final.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"first words", Metadata={
        "helium": json.dumps({"user_meta": {"name": "thor"}}), "origin": "lab"})
    result = run(pipeline, *_drain(sqs, url))
    assert result.failed == {} and result.written == 1
    doc = stored(es, bucket, key)
    assert doc[F.KEY] == key and doc[F.TEXT] == "first words"
    assert doc[F.USER_META] == {"name": "thor"} and doc[F.AMZ_META] == {"origin": "lab"}
    assert doc[F.SIZE] == len(b"first words") and doc[F.DELETED] is False

    s3.put_object(Bucket=bucket, Key=key, Body=b"second words")
    run(pipeline, *_drain(sqs, url))
    assert stored(es, bucket, key)[F.TEXT] == "second words"

    s3.delete_object(Bucket=bucket, Key=key)
    result = run(pipeline, *_drain(sqs, url))
    assert result.tombstoned == 1
    assert stored(es, bucket, key)[F.DELETED] is True
    assert live_view(es, bucket) == {}


def test_repeated_event_changes_nothing(es, s3, bucket, pipeline, drop_indices):
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"x")
    event = load_event("s3_put", bucket=bucket, key="k.txt", version_id=None)
    assert run(pipeline, event).written == 1
    again = run(pipeline, event, event)
    assert (again.written, again.unchanged, again.failed) == (0, 1, {})


def test_stale_create_never_resurrects_a_deleted_object(es, s3, bucket, pipeline, drop_indices):
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone.txt")
    # The delete's event arrives first, the create's late.
    run(pipeline, load_event("s3_delete", bucket=bucket, key="gone.txt", version_id=None))
    run(pipeline, load_event("s3_put", bucket=bucket, key="gone.txt", version_id=None))
    assert stored(es, bucket, "gone.txt")[F.DELETED] is True


def test_stale_delete_never_removes_a_recreated_object(es, s3, bucket, pipeline, drop_indices):
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="back.txt", Body=b"v1")
    s3.delete_object(Bucket=bucket, Key="back.txt")
    s3.put_object(Bucket=bucket, Key="back.txt", Body=b"v2")
    run(pipeline, load_event("s3_put", bucket=bucket, key="back.txt", version_id=None))
    run(pipeline, load_event("s3_delete", bucket=bucket, key="back.txt", version_id=None))
    assert stored(es, bucket, "back.txt")[F.TEXT] == "v2"


@pytest.mark.parametrize("name", ["s3_copy", "s3_multipart", "sns_s3_put",
                                  "eventbridge_object_created"])
def test_created_payloads_of_every_shape_index_the_object(es, s3, bucket, pipeline, name,
                                                          drop_indices):
    drop_indices(bucket)
    key = "deep/prefix/with space/ü+%.txt"
    if name == "s3_multipart":
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1,
                              Body=b"multipart body")
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": [
                                         {"ETag": part["ETag"], "PartNumber": 1}]})
    elif name == "s3_copy":
        s3.put_object(Bucket=bucket, Key="source.txt", Body=b"copied body")
        s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": "source.txt"})
    else:
        s3.put_object(Bucket=bucket, Key=key, Body=b"plain body")
    result = run(pipeline, load_event(name, bucket=bucket, key=key, version_id=None))
    assert result.failed == {}
    doc = stored(es, bucket, key)
    assert doc[F.KEY] == key and doc[F.TEXT].endswith("body")


def test_versioned_bucket_follows_the_current_version(es, s3, versioned_bucket, pipeline,
                                                      drop_indices):
    bucket = versioned_bucket
    drop_indices(bucket)
    key = "data/v.txt"
    v1 = s3.put_object(Bucket=bucket, Key=key, Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key=key, Body=b"two")["VersionId"]
    run(pipeline, load_event("s3_put", bucket=bucket, key=key, version_id=v2))
    assert stored(es, bucket, key)[F.VERSION_ID] == v2

    # Deleting the current version reveals the previous one (moto sends no event: replay AWS's).
    s3.delete_object(Bucket=bucket, Key=key, VersionId=v2)
    run(pipeline, load_event("s3_delete", bucket=bucket, key=key, version_id=v2))
    doc = stored(es, bucket, key)
    assert (doc[F.VERSION_ID], doc[F.TEXT], doc[F.DELETED]) == (v1, "one", False)

    # A delete marker hides the key ...
    marker = s3.delete_object(Bucket=bucket, Key=key)["VersionId"]
    run(pipeline, load_event("s3_delete_marker", bucket=bucket, key=key, version_id=marker))
    assert stored(es, bucket, key)[F.DELETED] is True

    # ... and deleting the delete marker restores it.
    s3.delete_object(Bucket=bucket, Key=key, VersionId=marker)
    run(pipeline, load_event("s3_delete", bucket=bucket, key=key, version_id=marker))
    doc = stored(es, bucket, key)
    assert (doc[F.VERSION_ID], doc[F.DELETED]) == (v1, False)


def test_lifecycle_expiration_and_eventbridge_delete(es, s3, versioned_bucket, pipeline,
                                                     drop_indices):
    bucket = versioned_bucket
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="old.log", Body=b"old")
    s3.put_object(Bucket=bucket, Key="older.log", Body=b"older")
    run(pipeline, load_event("s3_put", bucket=bucket, key="old.log"),
        load_event("s3_put", bucket=bucket, key="older.log"))
    m1 = s3.delete_object(Bucket=bucket, Key="old.log")["VersionId"]
    m2 = s3.delete_object(Bucket=bucket, Key="older.log")["VersionId"]
    result = run(pipeline,
                 load_event("s3_lifecycle_expiration_marker", bucket=bucket, key="old.log",
                            version_id=m1),
                 load_event("eventbridge_object_deleted", bucket=bucket, key="older.log",
                            version_id=m2))
    assert result.tombstoned == 2
    assert live_view(es, bucket) == {}


def test_unparseable_message_fails_alone(es, s3, bucket, pipeline, drop_indices):
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="fine.txt", Body=b"fine")
    result = run(pipeline, "this is not json",
                 load_event("s3_put", bucket=bucket, key="fine.txt", version_id=None))
    assert len(result.failed) == 1 and "unparseable" in next(iter(result.failed.values()))
    assert stored(es, bucket, "fine.txt")[F.TEXT] == "fine"


def test_index_keys_brings_listed_keys_to_their_state(es, s3, bucket, pipeline, drop_indices):
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"alpha")
    result = pipeline.index_keys([(bucket, "a.txt"), (bucket, "never-existed.txt")])
    assert (result.written, result.tombstoned, result.failed) == (2, 1, {})
    assert live_view(es, bucket) == {"a.txt": "alpha"}


def test_the_lag_from_event_to_index_is_measured(es, s3, bucket, pipeline, drop_indices):
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="lag.txt", Body=b"x")
    result = run(pipeline, load_event("s3_put", bucket=bucket, key="lag.txt", version_id=None))
    # the recorded event is from 2024: the lag is its age, in seconds
    assert result.written == 1 and result.lag_seconds > 3600


def test_an_archived_object_is_indexed_as_unreadable_and_not_retried(es, s3, bucket, pipeline,
                                                                     drop_indices):
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="cold/archive.csv", Body=b"a,b\n1,2\n",
                  StorageClass="GLACIER", Metadata={"helium": '{"user_meta": {"tier": "cold"}}'})
    result = run(pipeline, load_event("s3_put", bucket=bucket, key="cold/archive.csv",
                                      version_id=None))
    assert result.failed == {} and result.written == 1
    doc = stored(es, bucket, "cold/archive.csv")
    assert doc[F.EXTRACTION_STATUS] == "unreadable" and "GLACIER" in doc[F.EXTRACTION_ERROR]
    assert doc[F.USER_META] == {"tier": "cold"} and F.TEXT not in doc
    again = run(pipeline, load_event("s3_put", bucket=bucket, key="cold/archive.csv",
                                     version_id=None))
    assert (again.written, again.unchanged) == (0, 1)  # not retried, not rewritten
