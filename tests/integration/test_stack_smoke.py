"""The local stack's services are real and wired: Elasticsearch, Tika, moto server, the worker."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace

import pytest

from infra.local import stack
from infra.local.settings import StackSettings
from t4index.engine import connect
from t4index.errors import EngineAccessDeniedError
from tests.support.aws import make_queue, notify_queue, queue_depth, wait_for
from tests.support.documents import pdf
from tests.support.indexing import stored


def test_the_engine_is_healthy_and_detected_as_the_stacks(es, endpoints):
    health = es.raw.cluster.health()
    assert health["status"] in ("green", "yellow")
    # detected at first contact (Elasticsearch's integ-test zip has no GET /: the fallback)
    assert es.family == StackSettings.from_env().engine
    assert es.server.major in ((8, 9) if es.family == "elasticsearch" else (2, 3))


def test_authenticated_index_and_search_round_trip(es, unique_name):
    index = unique_name("idx")
    try:
        es.raw.index(index=index, id="1", body={"title": "thor rides again"}, refresh=True)
        hits = es.search({"query": {"match": {"title": "thor"}}}, index)["hits"]["hits"]
        assert [h["_id"] for h in hits] == ["1"]
    finally:
        es.delete_index(index)


def test_unauthenticated_request_is_refused(endpoints):
    """Anonymous and wrong credentials are refused, typed once by the engine layer."""
    for config in (replace(endpoints.engine_config(), username=None, password=None,
                           sigv4_region=None, engine=endpoints.es_engine),
                   replace(endpoints.engine_config(), username="t4admin",
                           password="not-the-password", sigv4_region=None,
                           engine=endpoints.es_engine)):
        with pytest.raises(EngineAccessDeniedError):
            connect(config).search({"size": 0}, "t4-*")


def test_tika_extracts_text_from_a_generated_pdf(tika_url):
    body = pdf("Mjolnir belongs to thor")
    request = urllib.request.Request(f"{tika_url}/tika", data=body, method="PUT", headers={
        "Accept": "text/plain", "Content-Type": "application/pdf",
        "X-Tika-OCRskipOcr": "true"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        text = resp.read().decode()
    assert "Mjolnir belongs to thor" in text


def test_put_produces_an_s3_notification_in_the_queue(s3, sqs, bucket, unique_name):
    # A name outside the worker's prefix: this test reads the queue itself.
    url, arn, _ = make_queue(sqs, unique_name("q"))
    notify_queue(s3, bucket, arn)
    s3.put_object(Bucket=bucket, Key="a b+c/ü.txt", Body=b"hello")

    def records():
        out = []
        for msg in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", []):
            out += json.loads(msg["Body"]).get("Records", [])
        return out

    got = wait_for(records, what="the ObjectCreated record")
    assert got[0]["eventName"].startswith("ObjectCreated:")
    assert got[0]["s3"]["bucket"]["name"] == bucket
    # moto encodes keys as S3 does: quote_plus.
    assert got[0]["s3"]["object"]["key"] == "a+b%2Bc%2F%C3%BC.txt"


def test_stack_worker_consumes_events_of_a_wired_bucket(s3, sqs, es, bucket, drop_indices):
    settings = StackSettings.from_env()
    status = {row.name: row for row in stack.status(settings)}
    assert status["worker"].healthy, "the stack's worker is not running: ./dev up"
    drop_indices(bucket)
    name = f"{settings.queue_prefix}-smoke-{bucket[-8:]}"
    url, arn, _ = make_queue(sqs, name, max_receive_count=3)
    notify_queue(s3, bucket, arn)
    s3.put_object(Bucket=bucket, Key="reaches/the/worker.txt", Body=b"x")
    wait_for(lambda: stored(es, bucket, "reaches/the/worker.txt"), timeout=30,
             what="the worker to index the object")
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), what="the queue to drain")


def test_tika_runs_tesseract_with_one_thread_per_page():
    """tesseract's OpenMP default made a page take 8-12 s on 2 cores, one thread 1 s."""
    settings = StackSettings.from_env()
    pid = int((settings.run_dir / "tika.pid").read_text().split()[0])
    from pathlib import Path

    raw = Path(f"/proc/{pid}/environ").read_bytes().decode()
    environ = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)
    assert environ.get("OMP_THREAD_LIMIT") == "1"
