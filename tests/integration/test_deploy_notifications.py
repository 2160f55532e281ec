"""The notification merge against buckets on moto server that already have notifications.

Queue names avoid the ``t4-events`` prefix, so the local worker leaves them alone.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import pytest

from infra.aws.notifications import (
    OverlappingNotification,
    Rule,
    add_eventbridge,
    add_notification,
    main,
    remove_notification,
)
from tests.support.aws import make_queue, wait_for


def _receive_keys(sqs, url: str) -> list[str]:
    """The keys of the created events received (moto follows a PUT with an
    ``ObjectTagging:Put`` that the default rule subscribes to as well)."""
    keys = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", []):
        body = json.loads(message["Body"])
        keys += [unquote_plus(r["s3"]["object"]["key"]) for r in body.get("Records", [])
                 if r.get("eventName", "").startswith("ObjectCreated:")]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return keys


def _drain_keys(sqs, url: str, want: int) -> list[str]:
    got: list[str] = []

    def enough() -> bool:
        got.extend(_receive_keys(sqs, url))
        return len(got) >= want

    wait_for(enough, timeout=20, what=f"{want} S3 events on {url}")
    return got


@pytest.fixture
def theirs_and_ours(s3, sqs, sns, bucket, unique_name):
    """A bucket whose notifications already send ``raw/`` to a queue and deletes to a topic."""
    their_url, their_arn, _ = make_queue(sqs, unique_name("theirq"))
    our_url, our_arn, _ = make_queue(sqs, unique_name("ourq"))
    topic_arn = sns.create_topic(Name=unique_name("topic"))["TopicArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{
            "Id": "their-raw", "QueueArn": their_arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}}}],
        "TopicConfigurations": [{
            "Id": "their-deletes", "TopicArn": topic_arn, "Events": ["s3:ObjectRemoved:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}}}],
    })
    _receive_keys(sqs, their_url)  # the s3:TestEvent of the first configuration
    return {"bucket": bucket, "their_url": their_url, "their_arn": their_arn,
            "our_url": our_url, "our_arn": our_arn, "topic_arn": topic_arn}


def test_adding_keeps_existing_rules_and_both_queues_receive(s3, sqs, theirs_and_ours) -> None:
    t = theirs_and_ours
    change = add_notification(s3, t["bucket"], Rule.for_target(t["our_arn"], prefix="data/"))
    assert change.written and change.changed
    config = s3.get_bucket_notification_configuration(Bucket=t["bucket"])
    assert sorted(c["Id"] for c in config["QueueConfigurations"]) == [
        "t4-search-indexer", "their-raw"]
    assert [c["Id"] for c in config["TopicConfigurations"]] == ["their-deletes"]
    assert [c["TopicArn"] for c in config["TopicConfigurations"]] == [t["topic_arn"]]

    s3.put_object(Bucket=t["bucket"], Key="data/a b.csv", Body=b"x")
    s3.put_object(Bucket=t["bucket"], Key="raw/r.bin", Body=b"y")
    assert _drain_keys(sqs, t["our_url"], 1) == ["data/a b.csv"]
    assert _drain_keys(sqs, t["their_url"], 1) == ["raw/r.bin"]

    # a second run changes nothing
    assert not add_notification(s3, t["bucket"],
                                Rule.for_target(t["our_arn"], prefix="data/")).written


def test_overlap_is_refused_and_the_bucket_left_unchanged(s3, theirs_and_ours) -> None:
    t = theirs_and_ours
    before = s3.get_bucket_notification_configuration(Bucket=t["bucket"])
    with pytest.raises(OverlappingNotification) as info:
        add_notification(s3, t["bucket"], Rule.for_target(t["our_arn"]))  # every key
    assert info.value.existing.rule_id in {"their-raw", "their-deletes"}
    assert "--eventbridge" in str(info.value)
    after = s3.get_bucket_notification_configuration(Bucket=t["bucket"])
    before.pop("ResponseMetadata")
    after.pop("ResponseMetadata")
    assert after == before


def test_eventbridge_alternative_and_removal_keep_their_rules(s3, theirs_and_ours) -> None:
    t = theirs_and_ours
    change = add_eventbridge(s3, t["bucket"])
    assert change.written and change.after["EventBridgeConfiguration"] == {}
    assert change.after["QueueConfigurations"] == change.before["QueueConfigurations"]
    # (moto 5.2 keeps EventBridgeConfiguration but leaves it out of its GET answer)
    add_notification(s3, t["bucket"], Rule.for_target(t["our_arn"], prefix="data/"))
    remove_notification(s3, t["bucket"])
    config = s3.get_bucket_notification_configuration(Bucket=t["bucket"])
    assert [c["Id"] for c in config["QueueConfigurations"]] == ["their-raw"]
    assert [c["Id"] for c in config["TopicConfigurations"]] == ["their-deletes"]


def test_command_line_refuses_an_overlap_with_status_2(s3, theirs_and_ours, capsys) -> None:
    t = theirs_and_ours
    status = main(["add", "--bucket", t["bucket"], "--target-arn", t["our_arn"],
                   "--prefix", "raw/in/"])
    assert status == 2
    assert "their-raw" in capsys.readouterr().err
    assert main(["add", "--bucket", t["bucket"], "--target-arn", t["our_arn"],
                 "--prefix", "data/", "--dry-run"]) == 0
    assert "t4-search-indexer" in capsys.readouterr().out
    config = s3.get_bucket_notification_configuration(Bucket=t["bucket"])
    assert [c["Id"] for c in config["QueueConfigurations"]] == ["their-raw"]  # dry run


def test_one_failing_bucket_is_reported_and_the_others_still_done(s3, sqs, unique_name,
                                                                   capsys) -> None:
    """An AWS error on one bucket used to end the run with a traceback, leaving the
    buckets after it untouched."""
    _, arn, _ = make_queue(sqs, unique_name("multiq"))
    first, last = unique_name("nb1"), unique_name("nb3")
    missing = unique_name("nb2-missing")
    for name in (first, last):
        s3.create_bucket(Bucket=name)
    try:
        status = main(["add", "--bucket", first, "--bucket", missing, "--bucket", last,
                       "--target-arn", arn, "--prefix", "raw data/"])
        out, err = capsys.readouterr()
        assert status == 1
        errors = err.strip().splitlines()
        assert len(errors) == 1 and errors[0].startswith(f"error: bucket {missing!r}: ")
        assert "NoSuchBucket" in errors[0] and "Traceback" not in err
        assert out.splitlines() == [f"{first}: updated", f"{last}: updated"]
        for name in (first, last):
            (rule,) = s3.get_bucket_notification_configuration(Bucket=name)[
                "QueueConfigurations"]
            assert rule["Id"] == "t4-search-indexer" and rule["QueueArn"] == arn
            values = [f["Value"] for f in rule["Filter"]["Key"]["FilterRules"]]
            assert values == ["raw+data/"]
    finally:
        for name in (first, last):
            s3.delete_bucket(Bucket=name)


def test_an_overlap_on_one_bucket_does_not_stop_the_next(s3, sqs, theirs_and_ours,
                                                        unique_name, capsys) -> None:
    t = theirs_and_ours
    other = unique_name("nbo")
    s3.create_bucket(Bucket=other)
    try:
        status = main(["add", "--bucket", t["bucket"], "--bucket", other,
                       "--target-arn", t["our_arn"]])
        out, err = capsys.readouterr()
        assert status == 2
        assert err.startswith(f"error: bucket {t['bucket']!r}: ") and "their-raw" in err
        assert out.splitlines() == [f"{other}: updated"]
    finally:
        s3.delete_bucket(Bucket=other)
