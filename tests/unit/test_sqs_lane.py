"""The stack's moto answers SQS's busiest calls itself (infra/local/sqs_lane.py): every
answer must be moto's own, errors included."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local import moto_patches
from tests.support.moto import serving

RANDOM = re.compile(r'"(MessageId|ReceiptHandle|SentTimestamp|ApproximateFirstReceiveTimestamp|'
                    r'SequenceNumber)": "[^"]*"')


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, tuple[str, Any]]]:
    """The stack's server with the lane and without it, over the same moto backends."""
    moto_patches.apply()
    with serving(threads=4, sqs_lane=True) as on, serving(threads=4, sqs_lane=False) as off:
        yield {"lane": on, "moto": off}


def _client(url: str, region: str = "us-east-1") -> Any:
    return boto3.client("sqs", endpoint_url=url, region_name=region,
                        aws_access_key_id="k", aws_secret_access_key="s")


def _recorded(sqs: Any) -> list[tuple[str, int, list[str], str]]:
    """Every answer ``sqs`` gets from now on: (operation, status, header names, body with
    its random values blanked)."""
    seen: list[tuple[str, int, list[str], str]] = []

    def record(http_response: Any, model: Any, **_: Any) -> None:
        names = sorted(h.lower() for h in http_response.headers if h.lower() != "date")
        body = RANDOM.sub(r'"\1": "*"', http_response.content.decode())
        seen.append((model.name, http_response.status_code, names, _canonical(body)))

    sqs.meta.events.register("after-call.sqs.*", record)
    return seen


def _canonical(body: str) -> str:
    try:
        return json.dumps(json.loads(body), sort_keys=True)
    except ValueError:
        return body


def _story(sqs: Any, name: str) -> list[Any]:
    """Sends, receives and deletes on a standard and a FIFO queue, the usual calls and
    the wrong ones; what each call returned or raised."""
    out: list[Any] = []

    def run(call: Any, **kwargs: Any) -> Any:
        try:
            answer = call(**kwargs)
        except ClientError as exc:
            out.append(("error", exc.response["Error"]["Code"]))
            return None
        out.append(("ok", sorted(answer)))
        return answer

    queue = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="plain é")
    sqs.send_message(QueueUrl=queue, MessageBody="<xml> & \"quotes\"")
    sqs.send_message(QueueUrl=queue, MessageBody="typed", MessageAttributes={
        "s": {"DataType": "String", "StringValue": "x"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "n": {"DataType": "Number.int", "StringValue": "5"}})
    sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": str(i), "MessageBody": json.dumps({"Records": [{"i": i}]})} for i in range(10)])
    got = run(sqs.receive_message, QueueUrl=queue, MaxNumberOfMessages=10,
              AttributeNames=["All"], MessageAttributeNames=["All"])
    more = run(sqs.receive_message, QueueUrl=queue, MaxNumberOfMessages=2,
               MessageSystemAttributeNames=["SentTimestamp", "SenderId"])
    last = run(sqs.receive_message, QueueUrl=queue)  # one message, no attributes
    run(sqs.receive_message, QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    handles = [m["ReceiptHandle"] for a in (got, more, last) for m in a["Messages"]]
    run(sqs.delete_message_batch, QueueUrl=queue, Entries=[
        {"Id": f"e{i}", "ReceiptHandle": h} for i, h in enumerate(handles[:9])]
        + [{"Id": "bad", "ReceiptHandle": "not-a-handle"}])
    # wrong calls: moto's own errors
    run(sqs.delete_message_batch, QueueUrl=queue, Entries=[
        {"Id": "a", "ReceiptHandle": handles[9]}, {"Id": "b", "ReceiptHandle": handles[9]}])
    run(sqs.receive_message, QueueUrl=queue, MaxNumberOfMessages=11)
    run(sqs.receive_message, QueueUrl=queue, WaitTimeSeconds=21)
    run(sqs.receive_message, QueueUrl=queue, VisibilityTimeout=43_201)
    run(sqs.receive_message, QueueUrl=queue + "-missing")
    run(sqs.delete_message_batch, QueueUrl=queue + "-missing",
        Entries=[{"Id": "a", "ReceiptHandle": handles[9]}])
    run(sqs.delete_message_batch, QueueUrl=queue, Entries=[
        {"Id": "a", "ReceiptHandle": handles[9]}, {"Id": "b", "ReceiptHandle": handles[10]},
        {"Id": "c", "ReceiptHandle": handles[11]}])
    # a visibility timeout of 0 gives the message back at once; the queue's name as QueueUrl
    sqs.send_message(QueueUrl=queue, MessageBody="again")
    run(sqs.receive_message, QueueUrl=queue, VisibilityTimeout=0)
    run(sqs.receive_message, QueueUrl=name, AttributeNames=["ApproximateReceiveCount"])
    fifo = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=fifo, MessageBody=f"f{i}", MessageGroupId="g")
    run(sqs.receive_message, QueueUrl=fifo, MaxNumberOfMessages=10, AttributeNames=["All"])
    return out


def test_lane_answers_as_moto_does(servers) -> None:
    results = {}
    suffix = uuid.uuid4().hex[:6]
    for side, (url, server) in servers.items():
        sqs = _client(url)
        answers = _recorded(sqs)
        before = server.wsgi_app.answered if side == "lane" else 0
        results[side] = (_story(sqs, f"{side}-{suffix}"), answers)
        if side == "lane":
            # the calls it recognised: 7 receives, 2 batch deletes (the others went to moto)
            assert server.wsgi_app.answered - before == 9
    assert results["lane"][0] == results["moto"][0]
    lane, moto = results["lane"][1], results["moto"][1]
    assert [a[:3] for a in lane] == [a[:3] for a in moto]
    for mine, theirs in zip(lane, moto, strict=True):
        # queue URLs differ by the server's port and the side's name; nothing else may
        ours = mine[3].replace(servers["lane"][0], "URL").replace("lane-", "X-")
        assert ours == theirs[3].replace(servers["moto"][0], "URL").replace("moto-", "X-"), mine[0]


def test_lane_finds_the_queue_in_the_callers_region(servers) -> None:
    url, server = servers["lane"]
    west, east = _client(url, "eu-west-1"), _client(url)
    name = f"region-{uuid.uuid4().hex[:6]}"
    queue = west.create_queue(QueueName=name)["QueueUrl"]
    west.send_message(QueueUrl=queue, MessageBody="west")
    before = server.wsgi_app.answered
    with pytest.raises(ClientError, match="NonExistentQueue|QueueDoesNotExist"):
        east.receive_message(QueueUrl=queue)  # not in us-east-1: moto's own error
    got = west.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["west"]
    assert server.wsgi_app.answered - before == 1


def test_lane_leaves_other_calls_and_protocols_to_moto(servers) -> None:
    import urllib.request

    url, server = servers["lane"]
    sqs = _client(url)
    queue = sqs.create_queue(QueueName=f"other-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    before = server.wsgi_app.answered
    # the query protocol (form-encoded, XML answers), as older SDKs send it
    form = (f"Action=ReceiveMessage&Version=2012-11-05&QueueUrl={queue}"
            "&MaxNumberOfMessages=1").encode()
    request = urllib.request.Request(queue, data=form, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": "AWS4-HMAC-SHA256 Credential=k/20261205/us-east-1/sqs/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert b"<Body>hello</Body>" in answer.read()
    # JSON that is not an object, and a parameter the lane does not know
    for body in (b"[1, 2]", json.dumps({"QueueUrl": queue, "ReceiveRequestAttemptId": "x"}
                                       ).encode()):
        request = urllib.request.Request(url, data=body, headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AmazonSQS.ReceiveMessage"})
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=10).read()
    assert server.wsgi_app.answered == before


def _raw(url: str, target: str, body: bytes, region: str = "us-east-1") -> tuple[int, str]:
    """A hand-made JSON-protocol call (what no SDK would send): (status, error type or
    the answer's keys)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{target}",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=k/20261205/{region}/sqs/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, ",".join(sorted(json.loads(answer.read())))
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}").get("__type", "?")


def test_hostile_calls_get_motos_own_answers(servers) -> None:
    """Wrong types, missing fields, empty or oversized batches, odd queue URLs: the lane
    leaves every one to moto, so both servers answer alike."""
    answers: dict[str, list[tuple[int, str]]] = {}
    for side, (url, server) in servers.items():
        sqs = _client(url)
        queue = sqs.create_queue(QueueName=f"hostile-{side}-{uuid.uuid4().hex[:6]}")["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody="x")
        handle = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"][0][
            "ReceiptHandle"]
        before = server.wsgi_app.answered if side == "lane" else 0
        calls = [
            ("ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": "10"}),
            ("ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": True}),
            ("ReceiveMessage", {"QueueUrl": queue, "MaxNumberOfMessages": 0}),
            ("ReceiveMessage", {"QueueUrl": queue, "WaitTimeSeconds": -1}),
            ("ReceiveMessage", {"QueueUrl": queue, "AttributeNames": "All"}),
            ("ReceiveMessage", {"QueueUrl": 42}),
            ("ReceiveMessage", {"QueueUrl": ""}),
            ("ReceiveMessage", {}),
            ("DeleteMessageBatch", {"QueueUrl": queue, "Entries": []}),
            ("DeleteMessageBatch", {"QueueUrl": queue, "Entries": "x"}),
            ("DeleteMessageBatch", {"QueueUrl": queue, "Entries": [{"Id": "a"}]}),
            ("DeleteMessageBatch", {"QueueUrl": queue, "Entries": [
                {"Id": str(i), "ReceiptHandle": f"{handle}{i}"} for i in range(11)]}),
            ("DeleteMessageBatch", {"QueueUrl": queue, "Entries": [
                {"Id": "a", "ReceiptHandle": handle, "Extra": 1}]}),
        ]
        answers[side] = [_raw(url, target, json.dumps(params).encode())
                         for target, params in calls]
        answers[side].append(_raw(url, "ReceiveMessage", b"{not json"))
        answers[side].append(_raw(url, "ReceiveMessage", b"\xff\xfe{}"))
        answers[side].append(_raw(url, "ReceiveMessage", b"[" * 100_000 + b"]" * 100_000))
        for region in ("xx-nowhere-9", ""):  # a region moto cannot place
            answers[side].append(_raw(url, "ReceiveMessage", json.dumps(
                {"QueueUrl": queue}).encode(), region))
        if side == "lane":
            assert server.wsgi_app.answered == before, "the lane answered a hostile call"
    assert answers["lane"] == answers["moto"]


def test_pollers_through_the_lane_get_each_message_once(servers) -> None:
    """Four pollers receiving and batch-deleting through the lane while a sender sends:
    every message delivered exactly once, none left behind."""
    url, server = servers["lane"]
    sqs = _client(url)
    queue = sqs.create_queue(QueueName=f"race-{uuid.uuid4().hex[:6]}",
                             Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    total, seen, errors = 600, [], []
    lock, sent = threading.Lock(), threading.Event()

    def send() -> None:
        for start in range(0, total, 10):
            sqs.send_message_batch(QueueUrl=queue, Entries=[
                {"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)])
        sent.set()

    def poll() -> None:
        client = _client(url)
        try:
            while True:
                got = client.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                             WaitTimeSeconds=0).get("Messages", [])
                if not got:
                    if sent.is_set():
                        return
                    continue
                with lock:
                    seen.extend(m["Body"] for m in got)
                answer = client.delete_message_batch(QueueUrl=queue, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(got)])
                assert not answer.get("Failed"), answer["Failed"]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    before = server.wsgi_app.answered
    threads = [threading.Thread(target=send)] + [threading.Thread(target=poll)
                                                 for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(seen) == total, f"{len(seen) - len(set(seen))} delivered twice"
    assert set(seen) == {f"m{i}" for i in range(total)}
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert server.wsgi_app.answered - before >= 2 * total // 10
