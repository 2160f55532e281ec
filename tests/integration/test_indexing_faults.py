"""Elasticsearch or Tika going away mid-stream loses nothing: messages come back until indexed."""

from __future__ import annotations

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


def _handler(pipeline):
    def handler(event, context):
        messages = [Message(r["messageId"], r["body"]) for r in event["Records"]]
        result = pipeline.process(messages, context.get_remaining_time_in_millis)
        return {"batchItemFailures": [{"itemIdentifier": m} for m in result.failed]}

    return handler


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


@pytest.mark.parametrize("victim", ["elasticsearch", "tika", "tika-paused"])
def test_a_service_stopped_then_restarted_loses_nothing(private, s3, sqs, bucket, unique_name,
                                                        victim):
    settings, es_service, tika_service, creds = private
    pipeline = build_pipeline(Settings(
        es_url=es_service.url, es_username=creds.get("username"),
        es_password=creds.get("password"),
        tika_url=tika_service.url, es_timeout=5, tika_timeout=3), s3=s3)
    es = pipeline.es
    url, arn, dlq = make_queue(sqs, unique_name("fq"), visibility_timeout=2,
                               max_receive_count=100)
    notify_queue(s3, bucket, arn)
    worker = Worker(sqs, _handler(pipeline), queue_urls=[url],
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
        time.sleep(3)  # a few failed deliveries (visibility timeout 2 s)
        service.start()
        for key in files:
            doc = wait_for(lambda key=key: _with_text(es, bucket, key), timeout=90,
                           what=f"{key} indexed with its text after the restart")
            expected = "report number" if key.endswith(".pdf") else "plain notes"
            assert expected in doc[F.TEXT] and doc[F.EXTRACTION_STATUS] == "ok"
        wait_for(lambda: queue_depth(sqs, url) == (0, 0), what="the queue to drain")
    finally:
        worker.stop()
        if not procs_alive(service):
            service.start()
    assert queue_depth(sqs, dlq) == (0, 0), "nothing may end in the dead-letter queue"


def procs_alive(service) -> bool:
    from infra.local import procs

    return procs.running_pid(service.spec.pidfile) is not None
