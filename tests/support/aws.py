"""Helpers that wire buckets to queues on moto server and wait for results."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from infra.aws.notifications import DEFAULT_EVENTS

T = TypeVar("T")


CREATED_QUEUES: list[tuple[Any, str]] = []
"""Queues tests made (``tests/conftest.py`` deletes them when the session ends)."""


def make_queue(sqs: Any, name: str, *, visibility_timeout: int = 30,
               max_receive_count: int | None = None) -> tuple[str, str, str | None]:
    """Create ``name`` (and ``name-dlq`` with a redrive policy when ``max_receive_count``).

    Returns (queue url, queue arn, dead-letter queue url or None).
    """
    attributes = {"VisibilityTimeout": str(visibility_timeout)}
    dlq_url = None
    if max_receive_count:
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = queue_arn(sqs, dlq_url)
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)})
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    CREATED_QUEUES.extend((sqs, u) for u in (url, dlq_url) if u)
    return url, queue_arn(sqs, url), dlq_url


def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


def notify_queue(s3: Any, bucket: str, arn: str, events: list[str] | None = None) -> None:
    """Send the bucket's events to the queue: those a deployment subscribes to
    (``infra.aws.notifications.DEFAULT_EVENTS``) unless ``events`` names others."""
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": list(events or DEFAULT_EVENTS)}]})


def queue_depth(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) message counts."""
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return (int(attrs["ApproximateNumberOfMessages"]),
            int(attrs["ApproximateNumberOfMessagesNotVisible"]))


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.2,
             what: str = "condition") -> T:
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
