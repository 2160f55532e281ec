"""OCR through the real Tika server and tesseract: scanned images and image-only PDFs
are found by the words they show, text PDFs are never OCR'd, budgets give ``ocr_budget``.

Tesseract is a system package (``./dev`` installs it as root with apt-get). Where it is
missing these tests skip with the reason, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import t4
from indexer.extract import (
    EXTRACTOR_VERSION,
    ExtractLimits,
    Extractor,
    OcrSwitch,
    TikaClient,
    TikaUnavailable,
)
from indexer.pipeline import Pipeline
from indexer.service import make_extract
from indexer.source import FileSource
from infra.local.settings import StackSettings
from t4index import fields as F
from t4index.names import alias_name
from tests.support import documents
from tests.support.aws import make_queue, notify_queue, queue_depth, wait_for
from tests.support.indexing import stored

pytestmark = pytest.mark.integration

SCANS = {
    "scans/sign.png": documents.scanned_png("Quokka harbour"),
    "scans/letter.pdf": documents.scanned_pdf("Wombat burrow", pages=2),
    "papers/typed.pdf": documents.pdf("Platypus typed report", pages=2),
}


@pytest.fixture(scope="module")
def ocr_tika(tika_url: str) -> TikaClient:
    """A client of the stack's Tika, which must be able to OCR (tesseract on its PATH)."""
    tika = TikaClient(tika_url)
    if not tika.ocr_types():
        why = (f"the Tika server at {tika_url} lists no tesseract parser: install "
               "tesseract-ocr where Tika runs (./dev does, as root) and restart it")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    return tika


def _extract(tika: TikaClient, body: bytes, key: str, **limits: Any):
    extractor = Extractor(tika, ExtractLimits(**limits), ocr=OcrSwitch("auto", tika.ocr_types))
    return extractor.extract(FileSource.from_bytes(body, key))


def _search(routes, bucket: str, **kwargs: Any) -> dict[str, set[str]]:
    return {route: {hit.key for hit in t4.Bucket(f"s3://{bucket}", session=routes(route))
                    .search(limit=100, **kwargs)} for route in ("direct", "api")}


def test_scans_are_found_by_their_words_after_the_worker_indexes_them(
        ocr_tika, es, s3, sqs, bucket, drop_indices, routes):
    drop_indices(bucket)
    prefix = StackSettings.from_env().queue_prefix  # the stack's worker polls these
    url, arn, dlq = make_queue(sqs, f"{prefix}-{bucket}", visibility_timeout=30,
                               max_receive_count=3)
    notify_queue(s3, bucket, arn)
    for key, body in SCANS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    def all_indexed():
        docs = {key: stored(es, bucket, key) for key in SCANS}
        return docs if all(d and d.get(F.EXTRACTION_STATUS) == "ok" for d in docs.values()) \
            else None

    docs = wait_for(all_indexed, timeout=120, what="the scans OCR'd and indexed")
    assert docs["scans/sign.png"][F.EXTRACTOR] == "tika+ocr"
    assert docs["scans/letter.pdf"][F.EXTRACTOR] == "tika+ocr"
    assert docs["scans/letter.pdf"][F.EXTRACTOR_VERSION] == EXTRACTOR_VERSION
    assert docs["papers/typed.pdf"][F.EXTRACTOR] == "tika"  # a text layer: no OCR parse
    es.refresh(alias_name(bucket))
    for query, expected in (("quokka", {"scans/sign.png"}), ("wombat", {"scans/letter.pdf"}),
                            ("burrow", {"scans/letter.pdf"}),
                            ("platypus", {"papers/typed.pdf"})):
        assert _search(routes, bucket, query=query) == {"direct": expected, "api": expected}, \
            query
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), what="the queue to drain")
    assert queue_depth(sqs, dlq) == (0, 0)


@pytest.fixture(scope="module")
def over_budget(es, s3, ocr_tika) -> str:
    """A bucket indexed with a page budget of 0: every scan is over it."""
    bucket = f"t4-ocrbudget-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    for key, body in SCANS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    extractor = Extractor(ocr_tika, ExtractLimits(ocr_max_pages=0),
                          ocr=OcrSwitch("auto", ocr_tika.ocr_types))
    pipeline = Pipeline(es, s3, make_extract(s3, extractor), extractor_version=EXTRACTOR_VERSION)
    result = pipeline.index_keys([(bucket, key) for key in SCANS])
    assert result.failed == {}
    es.refresh(alias_name(bucket))
    return bucket


def test_a_page_budget_of_zero_gives_ocr_budget_and_keeps_scans_findable_by_name(
        over_budget, es, routes):
    scans = {"scans/sign.png", "scans/letter.pdf"}
    assert _search(routes, over_budget, status="ocr_budget") == {"direct": scans, "api": scans}
    assert _search(routes, over_budget, query="quokka") == {"direct": set(), "api": set()}
    assert _search(routes, over_budget, query="sign") == {"direct": {"scans/sign.png"},
                                                          "api": {"scans/sign.png"}}
    doc = stored(es, over_budget, "scans/letter.pdf")
    assert doc[F.EXTRACTION_ERROR] == "OCR budget: 2 pages to OCR is over ocr_max_pages=0"
    for route in ("direct", "api"):
        hit, = t4.Bucket(f"s3://{over_budget}", session=routes(route)).search(
            query="letter", limit=10)
        assert (hit.status, hit.status_reason) == ("ocr_budget", doc[F.EXTRACTION_ERROR])
    assert stored(es, over_budget, "papers/typed.pdf")[F.EXTRACTION_STATUS] == "ok"


def test_a_time_budget_stops_tesseract_and_the_object_keeps_what_it_has(ocr_tika):
    started = time.monotonic()
    got = _extract(ocr_tika, documents.dense_page_png(), "scans/dense.png", ocr_timeout=1)
    assert (got.status, got.extractor) == ("ocr_budget", "tika"), got.error
    assert "ocr_timeout=1 s" in got.error
    assert got.metadata["width"] == 2400  # what the first parse found is kept
    assert time.monotonic() - started < 30


def test_ocr_cut_short_by_the_invocations_deadline_is_retried_not_a_budget(ocr_tika):
    extractor = Extractor(ocr_tika, ocr=OcrSwitch("auto", ocr_tika.ocr_types))
    with pytest.raises(TikaUnavailable, match="deadline"):
        extractor.extract(FileSource.from_bytes(documents.dense_page_png(), "dense.png"),
                          time_budget=2.5)


def test_an_image_too_large_for_ocr_is_not_sent_to_tesseract(ocr_tika):
    body = documents.scanned_png("Quokka harbour")
    got = _extract(ocr_tika, body, "scans/sign.png", ocr_max_bytes=len(body) - 1)
    assert got.status == "ocr_budget" and "ocr_max_bytes" in got.error and got.text == ""


class _CountingTika(TikaClient):
    """The real Tika client, recording whether each parse asked for OCR."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.parses: list[bool] = []

    def rmeta(self, *args: Any, **kwargs: Any):
        self.parses.append(kwargs.get("ocr") is not None)
        return super().rmeta(*args, **kwargs)


def test_text_pdfs_are_parsed_once_without_ocr_and_scans_twice(ocr_tika, tika_url):
    tika = _CountingTika(tika_url)
    extractor = Extractor(tika, ocr=OcrSwitch("auto", tika.ocr_types))
    typed = extractor.extract(FileSource.from_bytes(SCANS["papers/typed.pdf"], "typed.pdf"))
    assert (typed.extractor, tika.parses) == ("tika", [False])
    assert "Platypus typed report" in typed.text
    scan = extractor.extract(FileSource.from_bytes(SCANS["scans/letter.pdf"], "letter.pdf"))
    assert (scan.extractor, tika.parses) == ("tika+ocr", [False, False, True])
    assert "Wombat burrow 2" in scan.text and scan.metadata["pages"] == 2


def test_ocr_off_indexes_scans_without_their_words(ocr_tika):
    extractor = Extractor(ocr_tika, ocr=OcrSwitch("off", ocr_tika.ocr_types))
    got = extractor.extract(FileSource.from_bytes(SCANS["scans/sign.png"], "sign.png"))
    assert (got.status, got.extractor, got.text) == ("ok", "tika", "")


class _OcrElsewhere(TikaClient):
    """The stack's Tika for the first parse; the OCR parse, and the health checks after
    it, go to ``ocr_url`` (a port nothing listens on, or a server that never answers)."""

    def __init__(self, url: str, ocr_url: str) -> None:
        super().__init__(url)
        self.elsewhere = TikaClient(ocr_url)
        self.ocr_started = False

    def rmeta(self, *args: Any, **kwargs: Any):
        if kwargs.get("ocr") is None:
            return super().rmeta(*args, **kwargs)
        self.ocr_started = True
        return self.elsewhere.rmeta(*args, **kwargs)

    def healthy(self, timeout: float = 5.0) -> bool:
        return (self.elsewhere if self.ocr_started else super()).healthy(timeout=1.0)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and reads them, never answers: a hung Tika."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_tika_unreachable_or_hung_during_ocr_is_retryable_not_a_budget(
        ocr_tika, tika_url, silent_server):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for elsewhere, limits, needle in (
            (dead, ExtractLimits(), "unreachable"),
            (silent_server, ExtractLimits(ocr_timeout=1), "does not answer a tiny request")):
        tika = _OcrElsewhere(tika_url, elsewhere)
        extractor = Extractor(tika, limits, ocr=OcrSwitch("auto", ocr_tika.ocr_types))
        with pytest.raises(TikaUnavailable, match=needle):
            extractor.extract(FileSource.from_bytes(SCANS["scans/sign.png"], "sign.png"))
        assert tika.ocr_started
