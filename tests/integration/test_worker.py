"""The local worker plays Lambda's SQS trigger: partial batch failures, redelivery, dead letters."""

from __future__ import annotations

import time

from infra.local.worker import (
    LambdaContext,
    Worker,
    WorkerConfig,
    process_batch,
    receive_batch,
)
from tests.support.aws import make_queue, queue_depth, wait_for


class RecordingHandler:
    """Fails ``fail-always`` every time and ``fail-once`` on its first delivery."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, str]] = []
        self.remaining: list[int] = []

    def __call__(self, event, context):
        self.remaining.append(context.get_remaining_time_in_millis())
        failures = []
        for record in event["Records"]:
            assert record["eventSource"] == "aws:sqs"
            count = record["attributes"]["ApproximateReceiveCount"]
            self.deliveries.append((record["body"], count))
            if record["body"] == "fail-always" or (record["body"] == "fail-once" and count == "1"):
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}


def test_worker_deletes_handled_keeps_failed_and_dead_letters_the_hopeless(sqs, unique_name):
    url, _, dlq_url = make_queue(sqs, unique_name("wq"), visibility_timeout=1,
                                 max_receive_count=2)
    for body in ("ok", "fail-once", "fail-always"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    handler = RecordingHandler()
    worker = Worker(sqs, handler, queue_urls=[url],
                    config=WorkerConfig(batch_size=10, wait_seconds=1, function_timeout=5))
    worker.start()
    try:
        def dead_letters():
            msgs = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
            return [m["Body"] for m in msgs]

        assert wait_for(dead_letters, timeout=40, what="a dead letter") == ["fail-always"]
        wait_for(lambda: queue_depth(sqs, url) == (0, 0), timeout=20, what="the queue to drain")
    finally:
        worker.stop()
    bodies = [body for body, _ in handler.deliveries]
    assert bodies.count("ok") == 1, "a handled message was delivered again"
    assert ("fail-once", "2") in handler.deliveries, "a failed message was not redelivered"
    assert bodies.count("fail-always") == 2, "maxReceiveCount=2 allows exactly two deliveries"
    assert all(0 < ms <= 5000 for ms in handler.remaining)


def test_a_raising_handler_fails_the_whole_batch(sqs, unique_name):
    url, arn, _ = make_queue(sqs, unique_name("wq"), visibility_timeout=1)
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    def boom(event, context):
        raise RuntimeError("handler crashed")

    config = WorkerConfig(batch_size=10, wait_seconds=1)
    failed: set[str] = set()
    while len(failed) < 2:  # a receive may return fewer messages than are there
        outcome = wait_for(lambda: process_batch(sqs, url, arn, boom, config, "us-east-1"),
                           what="a batch")
        assert outcome.deleted == []
        failed |= set(outcome.failed)
    time.sleep(1.2)
    assert sum(queue_depth(sqs, url)) == 2


def test_lambda_context_remaining_time_runs_down():
    context = LambdaContext("fn", timeout_s=2.0)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.1)
    assert 0 < context.get_remaining_time_in_millis() < first <= 2000


def _send(sqs, url, bodies):
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])])


def test_a_batching_window_gathers_batches_larger_than_ten(sqs, unique_name):
    url, _, _ = make_queue(sqs, unique_name("wq"), visibility_timeout=60)
    bodies = [f"m{i}" for i in range(25)]
    _send(sqs, url, bodies)
    config = WorkerConfig(batch_size=20, batching_window=1, wait_seconds=1)
    first = receive_batch(sqs, url, config)
    assert len(first) == 20, "a full queue fills the batch"
    started = time.monotonic()
    second = receive_batch(sqs, url, config)
    assert len(second) == 5, "the window closes on what there is"
    assert time.monotonic() - started < 5
    assert sorted(m["Body"] for m in first + second) == sorted(bodies)
    assert receive_batch(sqs, url, config) == [], "an idle queue answers one long poll"
    plain = WorkerConfig(batch_size=10)
    _send(sqs, url, bodies[:15])
    assert 1 <= len(receive_batch(sqs, url, plain)) <= 10, "without a window: one receive"


def test_worker_invokes_with_gathered_batches_and_deletes_them(sqs, unique_name):
    url, _, _ = make_queue(sqs, unique_name("wq"), visibility_timeout=30)
    bodies = [f"m{i}" for i in range(60)]
    _send(sqs, url, bodies)
    sizes: list[int] = []
    seen: list[str] = []

    def handler(event, context):
        sizes.append(len(event["Records"]))
        seen.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": []}

    worker = Worker(sqs, handler, queue_urls=[url],
                    config=WorkerConfig(batch_size=30, batching_window=1, concurrency=1))
    worker.start()
    try:
        wait_for(lambda: len(seen) >= 60, timeout=30, what="every message handled")
        wait_for(lambda: queue_depth(sqs, url) == (0, 0), timeout=20, what="the queue to drain")
    finally:
        worker.stop()
    assert sorted(seen) == sorted(bodies)
    assert max(sizes) > 10 and all(size <= 30 for size in sizes)


def test_the_indexer_is_built_in_lambdas_init_phase(monkeypatch, endpoints):
    """As the worker loads the handler (Lambda's INIT), the pipeline is built and the
    engine detected, so the first batch pays for neither."""
    import importlib

    for name, value in endpoints.es_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    from lambdas.indexer import app

    app = importlib.reload(app)
    try:
        assert app._runtime is not None
        pipeline = app._runtime[0]
        assert pipeline.es.family in ("elasticsearch", "opensearch")
    finally:
        monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE")
        importlib.reload(app)
