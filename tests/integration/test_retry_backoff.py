"""Failed messages come back later each time (moto's SQS over HTTP, as the handler calls it)."""

from __future__ import annotations

import time

from indexer.backoff import delay_failed, retry_delay
from tests.support.aws import make_queue


def test_retry_delay_doubles_up_to_its_cap():
    assert [retry_delay(n, 30, 900) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]
    assert retry_delay(0, 30, 900) == 30
    assert retry_delay(10**6, 30, 10**9) == 43_200  # SQS's 12-hour ceiling


def _receive(sqs, url: str) -> list[dict]:
    resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                               AttributeNames=["All"])
    return resp.get("Messages", [])


def _record(msg: dict, arn: str) -> dict:
    return {"messageId": msg["MessageId"], "receiptHandle": msg["ReceiptHandle"],
            "attributes": msg.get("Attributes", {}), "eventSourceARN": arn,
            "body": msg["Body"]}


def test_a_failed_message_returns_after_its_backoff_not_before(sqs, unique_name):
    url, arn, _dlq = make_queue(sqs, unique_name("bq"), visibility_timeout=1,
                                max_receive_count=10)
    sqs.send_message(QueueUrl=url, MessageBody="failing")
    sqs.send_message(QueueUrl=url, MessageBody="succeeding")
    first = {m["Body"]: m for m in _receive(sqs, url)}
    assert set(first) == {"failing", "succeeding"}
    failed = [first["failing"]["MessageId"]]
    # the second delivery of this message waits base * 2 = 4 s, past the queue's own 1 s
    for msg in first.values():
        msg.setdefault("Attributes", {})["ApproximateReceiveCount"] = "2"
    records = [_record(m, arn) for m in first.values()]
    assert delay_failed(sqs, records, failed, base_s=2, max_s=60) == 1
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["succeeding"]["ReceiptHandle"])
    time.sleep(2)  # the queue's visibility timeout (1 s) is long past
    assert _receive(sqs, url) == []
    deadline = time.monotonic() + 10
    back: list[dict] = []
    while not back and time.monotonic() < deadline:
        back = _receive(sqs, url)
        time.sleep(0.2)
    assert [m["Body"] for m in back] == ["failing"]


def test_a_queue_that_cannot_be_reached_is_logged_not_raised(sqs, unique_name, caplog):
    record = {"messageId": "m1", "receiptHandle": "nope", "attributes": {},
              "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:" + unique_name("none")}
    assert delay_failed(sqs, [record], ["m1"], base_s=5, max_s=60) == 0
    assert "could not delay message m1" in caplog.text
    assert delay_failed(sqs, [record], ["m1"], base_s=0, max_s=60) == 0  # off
