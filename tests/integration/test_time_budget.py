"""The Lambda's time budget never loses a batch: what finished is written, the rest returns.

The real handler logic (``Pipeline.process`` with Lambda's context) runs against the
real stack, with the real Tika behind a proxy that delays every parse: the batch
cannot finish in the time its context gives it.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from indexer.pipeline import Message
from indexer.service import build_pipeline
from indexer.settings import Settings
from infra.local.worker import LambdaContext
from t4index import fields as F
from tests.support.documents import pdf
from tests.support.events import load_event
from tests.support.indexing import stored

DELAY_S = 4.0


@pytest.fixture
def slow_tika(endpoints) -> Iterator[str]:
    """The real Tika behind a proxy that holds each parse for ``DELAY_S`` seconds."""
    target = endpoints.tika_url.rstrip("/")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/rmeta"):
                time.sleep(DELAY_S)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("host", "content-length", "connection")}
            request = urllib.request.Request(target + self.path, data=body, method="PUT",
                                             headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    status, data = answer.status, answer.read()
            except urllib.error.HTTPError as exc:
                status, data = exc.code, exc.read()
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (its deadline came)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_batch_out_of_time_writes_what_finished_and_returns_the_rest(
        es, s3, bucket, endpoints, slow_tika, drop_indices):
    drop_indices(bucket)
    texts = [f"notes/n{i}.txt" for i in range(6)]
    pdfs = [f"papers/p{i}.pdf" for i in range(6)]
    for key in texts:
        s3.put_object(Bucket=bucket, Key=key, Body=f"quick words {key}".encode(),
                      ContentType="text/plain")
    for i, key in enumerate(pdfs):
        s3.put_object(Bucket=bucket, Key=key, Body=pdf(f"slow paper number {i}"),
                      ContentType="application/pdf")
    settings = Settings(es_url=endpoints.es_url, es_username=endpoints.es_username,
                        es_password=endpoints.es_password, es_api_key=endpoints.es_api_key,
                        es_engine=endpoints.es_engine, es_sigv4_region=endpoints.es_sigv4_region,
                        tika_url=slow_tika, threads=2, safety_margin_ms=2_000,
                        tika_timeout=30)
    pipeline = build_pipeline(settings, s3=s3)
    pipeline.write_interval_s = 1.0
    messages = {key: Message(f"m-{n}", json.dumps(load_event("s3_put", bucket=bucket,
                                                               key=key)))
                for n, key in enumerate(texts + pdfs)}

    # 12 s: the text files and a few PDFs (4 s each, 2 at a time) fit, not all of them
    context = LambdaContext("t4-indexer", timeout_s=12)
    started = time.monotonic()
    result = pipeline.process(list(messages.values()), context.get_remaining_time_in_millis)
    elapsed = time.monotonic() - started
    assert elapsed < 12, f"the batch overran its Lambda time: {elapsed:.1f} s"

    failed = set(result.failed)
    done = [key for key, message in messages.items() if message.message_id not in failed]
    assert set(texts) <= set(done)
    assert 0 < len(failed) < len(pdfs), result.failed  # some PDFs finished, some did not
    for key in done:  # everything that finished is in the index, with its text
        doc = stored(es, bucket, key)
        assert doc is not None and doc[F.EXTRACTION_STATUS] == "ok", (key, doc)
    for key, message in messages.items():
        if message.message_id in failed:  # never recorded as the file's own timeout
            assert (stored(es, bucket, key) or {}).get(F.EXTRACTION_STATUS) != "timeout"

    # the returned messages come back: a second invocation with time enough finishes them
    again = [m for m in messages.values() if m.message_id in failed]
    second = pipeline.process(again, LambdaContext("t4-indexer", 120)
                              .get_remaining_time_in_millis)
    assert not second.failed, second.failed
    for i, key in enumerate(pdfs):
        doc = stored(es, bucket, key)
        assert doc[F.EXTRACTION_STATUS] == "ok" and f"slow paper number {i}" in doc[F.TEXT]
