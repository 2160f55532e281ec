import json

import pytest

from indexer.events import EventParseError, parse_body, parse_payload, sequencer_newer
from tests.support.events import load_event

KEY = "a b+c/ü.txt"


@pytest.mark.parametrize("name,kind,event_name", [
    ("s3_put", "created", "ObjectCreated:Put"),
    ("s3_copy", "created", "ObjectCreated:Copy"),
    ("s3_multipart", "created", "ObjectCreated:CompleteMultipartUpload"),
    ("s3_delete", "removed", "ObjectRemoved:Delete"),
    ("s3_delete_marker", "delete_marker", "ObjectRemoved:DeleteMarkerCreated"),
    ("s3_lifecycle_expiration", "expired", "LifecycleExpiration:Delete"),
    ("s3_lifecycle_expiration_marker", "delete_marker", "LifecycleExpiration:DeleteMarkerCreated"),
    ("s3_tagging_put", "tagging", "ObjectTagging:Put"),
    ("s3_tagging_delete", "tagging", "ObjectTagging:Delete"),
    ("s3_restore_completed", "restore", "ObjectRestore:Completed"),
    ("s3_restore_delete", "restore", "ObjectRestore:Delete"),
    ("s3_lifecycle_transition", "transition", "LifecycleTransition"),
])
def test_s3_records_decode_kind_key_version_and_sequencer(name, kind, event_name):
    payload = load_event(name, bucket="my.bucket", key=KEY, version_id="v1")
    (event,) = parse_payload(payload)
    assert (event.bucket, event.key, event.kind, event.event_name) == (
        "my.bucket", KEY, kind, event_name)
    assert event.version_id == "v1"
    assert event.sequencer and event.event_time is not None


def test_key_is_unquoted_exactly_once():
    payload = load_event("s3_put", key="100%25 real+plus")
    (event,) = parse_payload(payload)
    assert event.key == "100%25 real+plus"


def test_sqs_body_sns_envelope_and_eventbridge():
    body = json.dumps(load_event("sns_s3_put", bucket="b", key=KEY, version_id="v9"))
    (event,) = parse_body(body)
    assert (event.bucket, event.key, event.version_id) == ("b", KEY, "v9")
    (created,) = parse_payload(load_event("eventbridge_object_created", bucket="b", key=KEY))
    assert created.kind == "created" and created.key == KEY and created.size == 1024
    (deleted,) = parse_payload(load_event("eventbridge_object_deleted", bucket="b", key=KEY,
                                          version_id="v2"))
    assert deleted.kind == "delete_marker" and deleted.version_id == "v2"


def test_test_event_is_ignored():
    assert parse_payload(load_event("s3_test_event", bucket="b")) == []


def test_unversioned_payload_has_no_version():
    (event,) = parse_payload(load_event("s3_put", bucket="b", key="k", version_id=None))
    assert event.version_id is None


@pytest.mark.parametrize("body", ["not json", "[1, 2]", json.dumps({"hello": "world"}),
                                  json.dumps({"Records": [{"eventName": "ObjectCreated:Put"}]})])
def test_malformed_bodies_raise_parse_errors(body):
    with pytest.raises(EventParseError):
        parse_body(body)


def test_sequencers_compare_as_padded_hex():
    assert sequencer_newer("0066433A6F2A1B3C44", "0066433A6F1D4C7E21")
    assert sequencer_newer("100", "0FF")
    assert not sequencer_newer("0FF", "100")
    assert sequencer_newer("A", "09")  # different lengths: left-padded
    assert not sequencer_newer(None, "1")


@pytest.mark.parametrize("name,kind", [
    ("eventbridge_tags_added", "tagging"),
    ("eventbridge_restore_completed", "restore"),
    ("eventbridge_storage_class_changed", "transition"),
])
def test_eventbridge_tagging_restore_and_storage_class_events_are_followed(name, kind):
    (event,) = parse_payload(load_event(name, bucket="b", key=KEY, version_id="v2"))
    assert (event.bucket, event.key, event.kind, event.version_id) == ("b", KEY, kind, "v2")


def test_acl_and_replication_events_are_not_followed():
    for name in ("ObjectAcl:Put", "Replication:OperationFailedReplication"):
        payload = load_event("s3_put", key=KEY)
        payload["Records"][0]["eventName"] = name
        assert parse_payload(payload) == []


def test_every_event_type_a_deployment_subscribes_to_is_followed():
    from infra.aws.notifications import DEFAULT_EVENTS

    for pattern in DEFAULT_EVENTS:
        payload = load_event("s3_put", key=KEY)
        payload["Records"][0]["eventName"] = pattern.removeprefix("s3:").replace("*", "Put")
        assert parse_payload(payload), pattern
