"""The local indexer worker: plays AWS Lambda's SQS event source mapping faithfully.

For each queue whose name starts with the prefix (dead-letter queues excluded) it
receives batches, calls the handler with a Lambda-shaped SQS event and a context
whose remaining time runs down like Lambda's, then deletes only the messages the
handler did not list in ``batchItemFailures``. Failed messages reappear after the
queue's visibility timeout; the queue's redrive policy (``maxReceiveCount``) moves
a message that keeps failing to its dead-letter queue. A handler that raises, runs
past its timeout or answers malformed ``batchItemFailures`` fails the whole batch,
as on Lambda.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infra.local.worker_group import WorkerGroup, parent_gone

log = logging.getLogger("t4.worker")

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The part of Lambda's context object handlers use."""

    def __init__(self, function_name: str, timeout_s: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class WorkerConfig:
    """The event source mapping's settings, as in ``pipeline.yaml``.

    ``batch_size``: messages per invocation (``BatchSize``, 1-10,000).
    ``batching_window``: seconds spent filling a batch (``MaximumBatchingWindowInSeconds``);
    0 means one receive of at most 10. Lambda requires at least 1 above 10 messages.
    """

    batch_size: int = 10
    batching_window: float = 0.0
    wait_seconds: int = 1
    function_timeout: float = 60.0
    function_name: str = "t4-indexer"
    concurrency: int = 2  # pollers per queue, like the event source's maximum concurrency
    max_idle_wait: float = 1.0  # seconds between long polls of an idle queue, at most

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 10_000:
            raise ValueError(f"batch size {self.batch_size} is outside 1-10,000")
        if not 0 <= self.batching_window <= 300:
            raise ValueError(f"batching window {self.batching_window} s is outside 0-300")
        if self.batch_size > 10 and self.batching_window < 1:
            raise ValueError(f"a batch size of {self.batch_size} (above 10) needs a batching "
                             "window of at least 1 s, as on Lambda")


@dataclass
class BatchOutcome:
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda hands an SQS-triggered function for ``messages``."""
    records = []
    for msg in messages:
        records.append({
            "messageId": msg["MessageId"],
            "receiptHandle": msg["ReceiptHandle"],
            "body": msg["Body"],
            "attributes": msg.get("Attributes", {}),
            "messageAttributes": msg.get("MessageAttributes", {}),
            "md5OfBody": msg.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })
    return {"Records": records}


def failed_ids(response: Any, batch_ids: set[str]) -> set[str]:
    """The message ids to keep from a handler's answer; all of them when the answer is malformed."""
    if response is None:
        return set()
    if not isinstance(response, dict):
        return set(batch_ids)
    items = response.get("batchItemFailures", [])
    if not isinstance(items, list):
        return set(batch_ids)
    out: set[str] = set()
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if ident not in batch_ids:
            return set(batch_ids)  # Lambda fails the whole batch on an unknown identifier
        out.add(ident)
    return out


def receive_batch(sqs: Any, queue_url: str, config: WorkerConfig) -> list[dict[str, Any]]:
    """Up to ``config.batch_size`` messages, as Lambda's poller gathers them.

    The first receive long-polls ``wait_seconds``; nothing then means an idle queue
    (``[]``). With a batching window, receives go on, 10 at a time, until the batch is
    full or the window has passed since the first message arrived.
    """
    messages: list[dict[str, Any]] = []
    deadline = None
    wait = config.wait_seconds
    while len(messages) < config.batch_size:
        resp = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=min(10, config.batch_size - len(messages)),
            WaitTimeSeconds=wait, AttributeNames=["All"], MessageAttributeNames=["All"])
        got = resp.get("Messages", [])
        messages += got
        if not messages or config.batching_window <= 0:
            break
        if deadline is None:
            deadline = time.monotonic() + config.batching_window
        left = deadline - time.monotonic()
        if left <= 0:
            break
        wait = 0 if got else min(20, int(left))  # an empty receive: wait for more, in bounds
        if not got and wait == 0:
            break
    return messages


def process_batch(sqs: Any, queue_url: str, queue_arn: str, handler: Handler,
                  config: WorkerConfig, region: str) -> BatchOutcome | None:
    """Receive one batch from ``queue_url``, run the handler, delete what succeeded."""
    messages = receive_batch(sqs, queue_url, config)
    if not messages:
        return None
    ids = {m["MessageId"] for m in messages}
    context = LambdaContext(config.function_name, config.function_timeout)
    started = time.monotonic()
    try:
        answer = handler(sqs_event(messages, queue_arn, region), context)
        keep = failed_ids(answer, ids)
    except Exception:  # noqa: BLE001 - Lambda's contract: an exception fails the batch
        log.exception("handler raised; the whole batch of %d returns to the queue", len(ids))
        keep = set(ids)
    if time.monotonic() - started > config.function_timeout:
        log.error("handler ran past its %.0f s timeout; the whole batch returns",
                  config.function_timeout)
        keep = set(ids)
    done = [m for m in messages if m["MessageId"] not in keep]
    for start in range(0, len(done), 10):
        chunk = done[start:start + 10]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
    outcome = BatchOutcome(deleted=[m["MessageId"] for m in done], failed=sorted(keep))
    log.info("queue=%s batch=%d deleted=%d failed=%d", queue_url.rsplit("/", 1)[-1],
             len(messages), len(outcome.deleted), len(outcome.failed))
    return outcome


class Worker:
    """Polls every matching queue on its own thread until ``stop()``."""

    def __init__(self, sqs: Any, handler: Handler, *, queue_prefix: str | None = None,
                 queue_urls: list[str] | None = None, config: WorkerConfig | None = None,
                 heartbeat: Path | None = None, region: str = "us-east-1") -> None:
        if not queue_prefix and not queue_urls:
            raise ValueError("give queue_prefix or queue_urls")
        self.sqs, self.handler, self.config = sqs, handler, config or WorkerConfig()
        self.queue_prefix, self.static_urls = queue_prefix, list(queue_urls or [])
        self.heartbeat, self.region = heartbeat, region
        self._stop = threading.Event()
        self._threads: dict[tuple[str, int], threading.Thread] = {}

    def _discover(self) -> list[str]:
        urls = list(self.static_urls)
        if self.queue_prefix:
            paginator = self.sqs.get_paginator("list_queues")
            for page in paginator.paginate(QueueNamePrefix=self.queue_prefix):
                urls += [u for u in page.get("QueueUrls", []) if not u.endswith("-dlq")]
        return urls

    def _poll(self, url: str, extra: bool = False) -> None:
        """Poll ``url`` until stopped; an idle queue is polled less often (pollers beyond the
        first even less), so many idle queues do not load the server."""
        idle = 0.0
        try:
            arn = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        except Exception:  # noqa: BLE001
            log.warning("queue %s vanished before polling", url)
            return
        while not self._stop.is_set():
            try:
                outcome = process_batch(self.sqs, url, arn, self.handler, self.config,
                                        self.region)
                if outcome is None:
                    idle = min(max(idle * 2, 0.25), self.config.max_idle_wait * (3 if extra else 1))
                    self._stop.wait(idle)
                else:
                    idle = 0.0
            except self.sqs.exceptions.QueueDoesNotExist:
                log.info("queue %s was deleted; no longer polled", url)
                return
            except Exception:  # noqa: BLE001 - keep polling through transient SQS errors
                log.exception("polling %s failed", url)
                time.sleep(1)

    def run(self) -> None:
        """Poll until ``stop()``; discover new queues every two seconds."""
        while not self._stop.is_set():
            try:
                for url in self._discover():
                    for n in range(self.config.concurrency):
                        thread = self._threads.get((url, n))
                        if thread is None or not thread.is_alive():
                            thread = threading.Thread(
                                target=self._poll, args=(url, n > 0), daemon=True,
                                name=f"poll-{url.rsplit('/', 1)[-1]}-{n}")
                            self._threads[(url, n)] = thread
                            thread.start()
                if self.heartbeat:
                    self.heartbeat.write_text(str(os.getpid()))
            except Exception:  # noqa: BLE001
                log.exception("queue discovery failed")
            self._stop.wait(2.0)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, daemon=True, name="worker")
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads.values():
            thread.join(timeout=self.config.wait_seconds + 5)


def load_handler(spec: str) -> Handler:
    """``module:function`` -> the function."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name or "handler")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue-prefix", default="t4-events",
                        help="poll every queue named so (dead-letter queues excepted); "
                             "'' for none")
    parser.add_argument("--queue-url", action="append", default=[],
                        help="also poll this queue (repeatable)")
    parser.add_argument("--handler", default="lambdas.indexer.app:handler")
    parser.add_argument("--heartbeat", type=Path)
    parser.add_argument("--batch-size", type=int, default=10,
                        help="messages per invocation (BatchSize)")
    parser.add_argument("--batching-window", type=float, default=0.0,
                        help="seconds to fill a batch (MaximumBatchingWindowInSeconds)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=2,
                        help="pollers per queue in each process")
    parser.add_argument("--processes", type=int, default=1,
                        help="worker processes (each concurrent Lambda invocation has its own "
                             "environment); processes x concurrency batches run at once")
    parser.add_argument("--start-file", type=Path,
                        help="poll only once this file exists (every process loads its "
                             "handler and logs 'worker ready' first): a benchmark starts "
                             "the clock with every process ready")
    parser.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.processes < 1 or args.concurrency < 1:
        parser.error("--processes and --concurrency must be at least 1")
    if not args.queue_prefix and not args.queue_url:
        parser.error("give --queue-prefix or --queue-url")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The other processes start first, so that all of them are ready at about the same time.
    group = WorkerGroup(argv, args.processes - 1) if args.processes > 1 else None
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    if group:
        group.start()
    worker = None
    # Lambda runs a function's module code in its INIT phase, before the first event,
    # and says so in this variable (the indexer builds its pipeline then).
    os.environ.setdefault("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    try:
        session = boto3.Session()
        worker = Worker(session.client("sqs"), load_handler(args.handler),
                        queue_prefix=args.queue_prefix or None, queue_urls=args.queue_url,
                        heartbeat=args.heartbeat,
                        config=WorkerConfig(batch_size=args.batch_size,
                                            batching_window=args.batching_window,
                                            function_timeout=args.timeout,
                                            concurrency=args.concurrency),
                        region=session.region_name or "us-east-1")
        if args.start_file:
            log.info("worker ready; polling once %s exists", args.start_file)
            while not args.start_file.exists():
                if stopping.wait(0.01) or parent_gone(args.parent_pid):
                    return
        log.info("worker polling %s with %s (%d process(es) x %d poller(s) per queue)",
                 args.queue_url or f"queues named {args.queue_prefix}*", args.handler,
                 args.processes, args.concurrency)
        worker.start()
        while not stopping.wait(1.0):
            if parent_gone(args.parent_pid):
                log.warning("parent worker %d is gone; stopping", args.parent_pid)
                break
            if group:
                group.check()
    except KeyboardInterrupt:
        pass
    finally:
        if group:
            group.stop()
        if worker:
            worker.stop()


if __name__ == "__main__":
    main()
