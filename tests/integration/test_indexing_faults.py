"""Elasticsearch or Tika going away mid-stream loses nothing: messages come back until indexed."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from indexer.pipeline import Message
from indexer.service import build_pipeline
from indexer.settings import Settings
from infra.local.worker import Worker, WorkerConfig
from t4index import fields as F
from tests.support.aws import make_queue, notify_queue, queue_depth, wait_for
from tests.support.documents import pdf
from tests.support.indexing import stored
from tests.support.private_stack import private_elasticsearch, private_settings, private_tika


@pytest.fixture(scope="module")
def private():
    # Under /var/tmp or /tmp, not the root's home: Elasticsearch runs unprivileged.
    home = Path(tempfile.mkdtemp(prefix="t4-private-", dir="/var/tmp"))
    settings = private_settings(home)
    es_service, creds = private_elasticsearch(settings)
    tika_service = private_tika(settings)
    es_service.start()
    tika_service.start()
    yield settings, es_service, tika_service, creds
    es_service.stop()
    tika_service.stop()
    shutil.rmtree(home, ignore_errors=True)


class _Handler:
    """The indexer's handler, recording every delivery: (key, receive count, failed)."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.deliveries: list[tuple[str, int, bool]] = []

    def __call__(self, event, context):
        messages = [Message(r["messageId"], r["body"]) for r in event["Records"]]
        result = self.pipeline.process(messages, context.get_remaining_time_in_millis)
        for record in event["Records"]:
            count = int(record["attributes"]["ApproximateReceiveCount"])
            failed = record["messageId"] in result.failed
            for key in _keys(record["body"]):
                self.deliveries.append((key, count, failed))
        return {"batchItemFailures": [{"itemIdentifier": m} for m in result.failed]}

    def failed_then_retried(self, key: str) -> bool:
        """A delivery of ``key`` failed and a later delivery of the same message came."""
        counts = [(count, failed) for k, count, failed in self.deliveries if k == key]
        return any(failed for _, failed in counts) and max(c for c, _ in counts) >= 2

    def failures(self, key: str) -> int:
        return sum(failed for k, _, failed in self.deliveries if k == key)


def _keys(body: str) -> list[str]:
    from indexer.events import EventParseError, parse_body

    try:
        return [event.key for event in parse_body(body)]
    except EventParseError:
        return []


class _Paused:
    """Tika hung rather than down: its process group stopped (SIGSTOP), then resumed."""

    def __init__(self, service) -> None:
        self.service = service

    def _signal(self, sig: int) -> None:
        import os

        from infra.local import procs

        pid = procs.running_pid(self.service.spec.pidfile)
        assert pid is not None, "Tika is not running"
        os.killpg(pid, sig)

    def stop(self) -> None:
        import signal

        self._signal(signal.SIGSTOP)

    def start(self) -> None:
        import signal

        self._signal(signal.SIGCONT)

    @property
    def spec(self):
        return self.service.spec


def _with_text(es, bucket: str, key: str):
    doc = stored(es, bucket, key)
    return doc if doc and doc.get(F.EXTRACTION_STATUS) == "ok" else None


def _pipeline(private, s3):
    """The pipeline of the private engine and Tika, with short timeouts."""
    _settings, es_service, tika_service, creds = private
    return build_pipeline(Settings(
        es_url=es_service.url, es_username=creds.get("username"),
        es_password=creds.get("password"),
        tika_url=tika_service.url, es_timeout=5, tika_timeout=3), s3=s3)


@pytest.mark.parametrize("victim", ["elasticsearch", "tika", "tika-paused"])
def test_a_service_stopped_then_restarted_loses_nothing(private, s3, sqs, bucket, unique_name,
                                                        victim):
    settings, es_service, tika_service, creds = private
    pipeline = _pipeline(private, s3)
    es = pipeline.es
    url, arn, dlq = make_queue(sqs, unique_name("fq"), visibility_timeout=2,
                               max_receive_count=100)
    notify_queue(s3, bucket, arn)
    handler = _Handler(pipeline)
    worker = Worker(sqs, handler, queue_urls=[url],
                    config=WorkerConfig(wait_seconds=1, function_timeout=60))
    service = {"elasticsearch": es_service, "tika": tika_service,
               "tika-paused": _Paused(tika_service)}[victim]
    victim = victim.replace("-", "_")  # a word in the files' text
    files = {f"docs/{victim}-{i}.pdf": pdf(f"report number {i} about {victim}")
             for i in range(3)}
    files[f"notes/{victim}.txt"] = f"plain notes on {victim}".encode()
    before = {f"early/{victim}.txt": f"indexed before the stop, {victim}".encode()}
    worker.start()
    try:
        # The stream is running: a first object goes through, then the service stops.
        for key, body in before.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        wait_for(lambda: all(stored(es, bucket, k) for k in before), timeout=60,
                 what="the first object indexed")
        service.stop()
        for key, body in files.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        # While the service is down every batch fails and returns to the queue.
        wait_for(lambda: sum(queue_depth(sqs, url)) >= 1, what="messages waiting")
        if victim != "elasticsearch":
            # Tika down or hung is not the files' fault: each PDF is findable meanwhile,
            # recording a retryable outcome, while its message keeps coming back.
            pdfs = [k for k in files if k.endswith(".pdf")]
            wait_for(lambda: all((stored(es, bucket, k) or {}).get(F.EXTRACTION_STATUS)
                                 == "unavailable" for k in pdfs), timeout=60,
                     what="the PDFs recorded as unavailable (retryable)")
        # The outage lasts a few more seconds (visibility timeout 2 s: more deliveries
        # fail). Its length, not a synchronisation: the checks below wait on state. (Resuming
        # a paused Tika right after a failed delivery instead left PDFs with a final
        # ``timeout`` in 3 runs of 3: reported in issue 18's report, not fixed here.)
        time.sleep(3)
        # Deliveries failed while the service was down: the stream was really interrupted.
        affected = [k for k in files if victim == "elasticsearch" or k.endswith(".pdf")]
        wait_for(lambda: all(handler.failures(k) >= 1 for k in affected), timeout=60,
                 what="each affected message failed while the service was down")
        service.start()
        for key in files:
            try:
                doc = wait_for(lambda key=key: _with_text(es, bucket, key), timeout=90,
                               what=f"{key} indexed with its text after the restart")
            except AssertionError as exc:
                found = {k: v for k, v in (stored(es, bucket, key) or {}).items()
                         if k != F.TEXT}
                deliveries = [d for d in handler.deliveries if d[0] == key]
                raise AssertionError(f"{exc}; stored: {found}; deliveries (key, receive "
                                     f"count, failed): {deliveries}") from None
            expected = "report number" if key.endswith(".pdf") else "plain notes"
            assert expected in doc[F.TEXT] and doc[F.EXTRACTION_STATUS] == "ok"
        wait_for(lambda: queue_depth(sqs, url) == (0, 0), what="the queue to drain")
    finally:
        worker.stop()
        if not procs_alive(service):
            service.start()
    assert queue_depth(sqs, dlq) == (0, 0), "nothing may end in the dead-letter queue"
    assert all(handler.failed_then_retried(key) for key in affected), handler.deliveries


def procs_alive(service) -> bool:
    from infra.local import procs

    return procs.running_pid(service.spec.pidfile) is not None


def _kill(service) -> None:
    """SIGKILL the service's process group: no shutdown, as when a machine dies."""
    import os
    import signal

    from infra.local import procs

    pid = procs.running_pid(service.spec.pidfile)
    assert pid is not None, f"{service.spec.name} is not running"
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not procs.pid_alive(pid), timeout=30, what=f"{service.spec.name} to die")


def test_engine_killed_between_the_read_and_the_bulk_write_acknowledges_nothing(
        private, s3, bucket):
    """The engine dies after the pipeline read the stored documents and S3, just before
    the bulk write: every message of the batch comes back, none counts as written, and
    their next delivery brings the index to S3's state."""
    from tests.support.events import load_event

    settings, es_service, tika_service, creds = private
    pipeline = _pipeline(private, s3)
    es = pipeline.es

    def batch(*events):
        messages = [Message(f"m{i}-{name}-{key}", json.dumps(load_event(
            name, bucket=bucket, key=key, version_id=None))) for i, (name, key) in
            enumerate(events)]
        return messages, pipeline.process(messages, remaining_ms=lambda: 600_000)

    for key in ("stays.txt", "changes.txt", "goes.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=f"first {key}".encode())
    _, first = batch(("s3_put", "stays.txt"), ("s3_put", "changes.txt"), ("s3_put", "goes.txt"))
    assert first.failed == {} and first.written == 3

    s3.put_object(Bucket=bucket, Key="changes.txt", Body=b"second words")
    s3.delete_object(Bucket=bucket, Key="goes.txt")
    s3.put_object(Bucket=bucket, Key="new.txt", Body=b"a new object")
    killed: list[bool] = []

    def kill_once() -> None:
        if not killed:
            killed.append(True)
            _kill(es_service)

    pipeline.before_write = kill_once
    try:
        events = [("s3_put", "changes.txt"), ("s3_delete", "goes.txt"), ("s3_put", "new.txt")]
        messages, result = batch(*events)
    finally:
        pipeline.before_write = None
        es_service.start()
    assert killed, "the batch never reached its bulk write"
    assert set(result.failed) == {m.message_id for m in messages}, result.failed
    assert result.written == 0 and result.tombstoned == 0
    assert all("bulk" in why for why in result.failed.values()), result.failed
    # Nothing was written: the index still shows the states before the batch.
    assert stored(es, bucket, "changes.txt")[F.TEXT] == "first changes.txt"
    assert stored(es, bucket, "goes.txt")[F.DELETED] is False
    assert stored(es, bucket, "new.txt") is None
    # The messages came back: their next delivery writes them.
    _, again = batch(*events)
    assert again.failed == {} and again.written == 3 and again.tombstoned == 1
    assert stored(es, bucket, "changes.txt")[F.TEXT] == "second words"
    assert stored(es, bucket, "goes.txt")[F.DELETED] is True
    assert stored(es, bucket, "new.txt")[F.TEXT] == "a new object"
    assert stored(es, bucket, "stays.txt")[F.TEXT] == "first stays.txt"
