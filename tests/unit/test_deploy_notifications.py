"""The notification merge: pure rules, no service."""

from __future__ import annotations

import pytest

from infra.aws.notifications import (
    DEFAULT_EVENTS,
    NotificationError,
    OverlappingNotification,
    Rule,
    enable_eventbridge,
    merge_configuration,
    remove_rule,
)

QUEUE = "arn:aws:sqs:us-east-1:123456789012:t4-search-events"
OTHER_QUEUE = "arn:aws:sqs:us-east-1:123456789012:someone-else"
TOPIC = "arn:aws:sns:us-east-1:123456789012:uploads"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:thumbnails"


def entry(arn_field: str, arn: str, events: list[str], prefix: str = "", suffix: str = "",
          rule_id: str = "theirs") -> dict:
    out = {"Id": rule_id, arn_field: arn, "Events": events}
    rules = [{"Name": n, "Value": v} for n, v in (("Prefix", prefix), ("Suffix", suffix)) if v]
    if rules:
        out["Filter"] = {"Key": {"FilterRules": rules}}
    return out


@pytest.mark.parametrize(("mine", "theirs", "overlap"), [
    # events: wildcard covers the specific type, different families never overlap
    (("s3:ObjectCreated:*", "", ""), ("s3:ObjectCreated:Put", "", ""), True),
    (("s3:ObjectCreated:Put", "", ""), ("s3:ObjectCreated:*", "", ""), True),
    (("s3:ObjectCreated:Put", "", ""), ("s3:ObjectCreated:Copy", "", ""), False),
    (("s3:ObjectRemoved:*", "", ""), ("s3:ObjectCreated:*", "", ""), False),
    (("s3:ObjectRemoved:*", "", ""), ("s3:LifecycleExpiration:Delete", "", ""), False),
    # prefixes: one starting the other overlaps; empty matches all
    (("s3:ObjectCreated:*", "data/", ""), ("s3:ObjectCreated:*", "data/raw/", ""), True),
    (("s3:ObjectCreated:*", "", ""), ("s3:ObjectCreated:*", "logs/", ""), True),
    (("s3:ObjectCreated:*", "data/", ""), ("s3:ObjectCreated:*", "logs/", ""), False),
    # suffixes: one ending the other overlaps
    (("s3:ObjectCreated:*", "", ".gz"), ("s3:ObjectCreated:*", "", ".csv.gz"), True),
    (("s3:ObjectCreated:*", "", ".csv"), ("s3:ObjectCreated:*", "", ".jpg"), False),
    (("s3:ObjectCreated:*", "data/", ""), ("s3:ObjectCreated:*", "", ".jpg"), True),
])
def test_overlap_rules(mine, theirs, overlap) -> None:
    a = Rule.for_target(QUEUE, events=[mine[0]], prefix=mine[1], suffix=mine[2])
    b = Rule.for_target(OTHER_QUEUE, events=[theirs[0]], prefix=theirs[1], suffix=theirs[2])
    assert a.overlaps(b) is overlap
    assert b.overlaps(a) is overlap


def test_merge_keeps_every_existing_rule_and_eventbridge() -> None:
    existing = {
        "ResponseMetadata": {"HTTPStatusCode": 200},
        "QueueConfigurations": [entry("QueueArn", OTHER_QUEUE, ["s3:ObjectCreated:*"], "raw/")],
        "TopicConfigurations": [entry("TopicArn", TOPIC, ["s3:ObjectRemoved:*"], "raw/",
                                      rule_id="t")],
        "LambdaFunctionConfigurations": [entry("LambdaFunctionArn", LAMBDA,
                                               ["s3:ObjectCreated:Put"], "", ".jpg", "l")],
        "EventBridgeConfiguration": {},
    }
    rule = Rule.for_target(QUEUE, prefix="data/", suffix=".csv")
    merged = merge_configuration("b", existing, rule)
    assert "ResponseMetadata" not in merged
    assert merged["EventBridgeConfiguration"] == {}
    assert merged["TopicConfigurations"] == existing["TopicConfigurations"]
    assert merged["LambdaFunctionConfigurations"] == existing["LambdaFunctionConfigurations"]
    assert merged["QueueConfigurations"] == [
        existing["QueueConfigurations"][0],
        {"Id": "t4-search-indexer", "QueueArn": QUEUE, "Events": list(DEFAULT_EVENTS),
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "data/"},
                                            {"Name": "suffix", "Value": ".csv"}]}}},
    ]
    assert existing["QueueConfigurations"][0]["Id"] == "theirs"  # input not mutated
    assert len(existing["QueueConfigurations"]) == 1


def test_merge_is_idempotent_and_updates_our_own_rule() -> None:
    first = merge_configuration("b", {}, Rule.for_target(QUEUE, prefix="a/"))
    again = merge_configuration("b", first, Rule.for_target(QUEUE, prefix="a/"))
    assert again == first
    # S3 answers with capitalised filter names: still the same rule
    as_read = {"QueueConfigurations": [entry("QueueArn", QUEUE, list(DEFAULT_EVENTS), "a/",
                                             rule_id="t4-search-indexer")]}
    assert merge_configuration("b", as_read, Rule.for_target(QUEUE, prefix="a/")) == as_read
    moved = merge_configuration("b", first, Rule.for_target(QUEUE, prefix="b/"))
    assert [e["Filter"]["Key"]["FilterRules"][0]["Value"]
            for e in moved["QueueConfigurations"]] == ["b/"]


def test_overlap_refuses_with_alternatives_for_a_queue_rule() -> None:
    existing = {"QueueConfigurations": [entry("QueueArn", OTHER_QUEUE, ["s3:ObjectCreated:*"])]}
    with pytest.raises(OverlappingNotification) as info:
        merge_configuration("my-bucket", existing, Rule.for_target(QUEUE))
    message = str(info.value)
    assert "'theirs'" in message and OTHER_QUEUE in message
    assert "s3:ObjectCreated:*" in message
    assert "--eventbridge" in message and "EventSource=eventbridge" in message
    assert "EventSource=sns" in message
    assert info.value.existing.target_arn == OTHER_QUEUE


def test_overlap_with_a_topic_rule_offers_subscribing_to_that_topic() -> None:
    existing = {"TopicConfigurations": [entry("TopicArn", TOPIC, ["s3:ObjectRemoved:Delete"])]}
    with pytest.raises(OverlappingNotification, match=f"ExistingTopicArn={TOPIC}"):
        merge_configuration("b", existing, Rule.for_target(QUEUE))


def test_eventbridge_and_removal_leave_other_rules_alone() -> None:
    theirs = entry("QueueArn", OTHER_QUEUE, ["s3:ObjectCreated:*"])
    config = {"QueueConfigurations": [theirs]}
    assert enable_eventbridge(config) == {"QueueConfigurations": [theirs],
                                          "EventBridgeConfiguration": {}}
    ours = merge_configuration("b", config, Rule.for_target(QUEUE, prefix="x/",
                                                             events=["s3:ObjectRemoved:*"]))
    assert remove_rule(ours, "t4-search-indexer") == config
    assert remove_rule({"QueueConfigurations": [entry("QueueArn", QUEUE, ["e"],
                                                       rule_id="t4-search-indexer")]},
                       "t4-search-indexer") == {}


@pytest.mark.parametrize("arn", ["", "arn:aws:s3:::bucket", "not-an-arn", "arn:aws:sqs"])
def test_target_must_be_a_queue_topic_or_function(arn: str) -> None:
    with pytest.raises(NotificationError, match="not an SQS queue"):
        Rule.for_target(arn)


@pytest.mark.parametrize(("given", "stored"), [
    ("data/", "data/"),
    ("raw data/", "raw+data/"),
    ("a+b/", "a%2Bb/"),
    ("ünï/", "%C3%BCn%C3%AF/"),
    ("x=1&y/", "x%3D1%26y/"),
])
def test_prefixes_and_suffixes_are_url_encoded_as_s3_matches_them(given: str,
                                                                  stored: str) -> None:
    """S3 matches a filter against the event's URL-encoded key: a raw `raw data/` never
    matched `raw data/x.csv`, whose event key is `raw+data/x.csv`."""
    rule = Rule.for_target(QUEUE, prefix=given, suffix=given.rstrip("/") + ".csv")
    filters = {f["Name"]: f["Value"] for f in rule.to_entry()["Filter"]["Key"]["FilterRules"]}
    assert filters == {"prefix": stored, "suffix": stored.rstrip("/") + ".csv"}
    # read back from S3, the same rule is recognised (a re-run changes nothing)
    as_read = {"QueueConfigurations": [entry("QueueArn", QUEUE, list(DEFAULT_EVENTS),
                                             stored, stored.rstrip("/") + ".csv",
                                             rule_id="t4-search-indexer")]}
    assert merge_configuration("b", as_read, rule) == as_read
