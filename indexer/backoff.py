"""Backoff for messages that come back: each failed delivery waits longer than the last.

Without it a failed message reappears after the queue's visibility timeout, the
same wait every time (with the deployment's defaults, 35 minutes). The indexer
handler instead sets the visibility timeout of each message it reports as failed
to ``retry_delay(receive count)``: ``base``, then twice that, four times ... up to
``max``, so a short outage (Tika restarting) costs seconds and a long one does
not spin through the receive count before the dead-letter queue. The queue's
``maxReceiveCount`` still caps the tries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger("t4.indexer")

SQS_MAX_VISIBILITY_S = 43_200
"""SQS refuses a visibility timeout above 12 hours."""


def retry_delay(receive_count: int, base_s: int, max_s: int) -> int:
    """Seconds a message that failed on its ``receive_count``-th delivery waits to return.

    Returns:
        ``base_s * 2 ** (receive_count - 1)``, capped at ``max_s`` (and SQS's 12 hours).
    """
    exponent = min(max(receive_count - 1, 0), 30)
    return int(min(base_s * 2**exponent, max_s, SQS_MAX_VISIBILITY_S))


def _queue_url(sqs: Any, arn: str, cache: dict[str, str]) -> str:
    if arn not in cache:
        _, _, _, _, account, name = arn.split(":", 5)
        cache[arn] = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
            "QueueUrl"]
    return cache[arn]


def delay_failed(sqs: Any, records: Iterable[Mapping[str, Any]], failed: Iterable[str], *,
                 base_s: int, max_s: int, urls: dict[str, str] | None = None) -> int:
    """Set the visibility timeout of each failed SQS record to its backoff delay.

    ``records`` are the Lambda event's SQS records; ``failed`` the message ids the
    handler reports in ``batchItemFailures``. A failure here is logged, never
    raised: the message still returns, after the queue's own visibility timeout.

    Returns:
        How many messages got their delay.
    """
    if base_s <= 0:
        return 0
    wanted = set(failed)
    urls = {} if urls is None else urls
    done = 0
    for record in records:
        if record.get("messageId") not in wanted:
            continue
        count = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        delay = retry_delay(count, base_s, max_s)
        try:
            sqs.change_message_visibility(
                QueueUrl=_queue_url(sqs, record["eventSourceARN"], urls),
                ReceiptHandle=record["receiptHandle"], VisibilityTimeout=delay)
            done += 1
        except Exception as exc:  # noqa: BLE001 - the queue's own timeout still applies
            log.warning("could not delay message %s by %d s: %s", record.get("messageId"),
                        delay, exc)
    return done
