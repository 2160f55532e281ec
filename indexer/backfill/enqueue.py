"""Enqueue mode: synthetic S3 events on the pipeline's queue, so the Lambda fleet does the work.

Each message has the shape of an S3 notification (``tests/events/s3_put.json``):
``ObjectCreated:Put`` records with the key URL-encoded as S3 does (``quote_plus``),
the listing's size and etag, and no sequencer (the pipeline reads each key's state
from S3 anyway, so a synthetic event can never make a document stale).
Messages go out with ``SendMessageBatch``, 10 at a time (SQS's limit).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from indexer.backfill.listing import Listed, chunked
from t4index.s3 import normalize_etag

CONFIGURATION_ID = "t4-backfill"
SQS_BATCH = 10


class EnqueueError(RuntimeError):
    """SQS refused some messages of a batch."""


def event_record(bucket: str, obj: Listed, event_time: str) -> dict[str, Any]:
    """One S3 notification record for ``obj``."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventTime": event_time,
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": CONFIGURATION_ID,
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(obj.key, safe=""), "size": obj.size,
                       "eTag": normalize_etag(obj.etag) or ""},
        },
    }


def event_body(bucket: str, objects: Sequence[Listed]) -> str:
    """The body of one SQS message announcing ``objects``."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"Records": [event_record(bucket, o, now) for o in objects]})


def resolve_queue(sqs: Any, queue: str) -> str:
    """A queue URL from a URL or a name."""
    if queue.startswith(("http://", "https://")):
        return queue
    return sqs.get_queue_url(QueueName=queue)["QueueUrl"]


def enqueue(sqs: Any, queue_url: str, bucket: str, objects: Sequence[Listed], *,
            records_per_message: int = 1) -> int:
    """Send events for ``objects``; the number of messages sent.

    Raises:
        EnqueueError: a batch entry still failed after one retry.
    """
    bodies = [event_body(bucket, group) for group in chunked(objects, records_per_message)]
    for batch in chunked(list(enumerate(bodies)), SQS_BATCH):
        entries = [{"Id": str(i), "MessageBody": body} for i, body in batch]
        for _attempt in range(2):
            failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
            if not failed:
                break
            ids = {f["Id"] for f in failed}
            entries = [e for e in entries if e["Id"] in ids]
        else:
            raise EnqueueError(f"SQS refused {len(entries)} messages for s3://{bucket}: "
                               f"{failed[0].get('Message', failed[0].get('Code'))}")
    return len(bodies)


