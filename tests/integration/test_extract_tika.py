"""Tika formats on the real Tika server, and its failures: encrypted, corrupt, timeout, down."""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from indexer.extract import (
    ExtractLimits,
    Extractor,
    TikaClient,
    TikaUnavailable,
    TransientExtractionError,
)
from indexer.source import FileSource
from tests.support import documents

pytestmark = pytest.mark.integration


@pytest.fixture
def extractor(tika_url: str) -> Extractor:
    return Extractor(TikaClient(tika_url))


@pytest.mark.parametrize(("key", "make", "words", "meta"), [
    ("report.pdf", documents.pdf, ["Hello zebra world page 1"],
     {"title": "Quarterly report", "authors": ["Ann Author"], "pages": 1}),
    ("letter.docx", documents.docx, ["Hello zebra in Word"],
     {"title": "Word title", "authors": ["Wendy Writer"], "pages": 3}),
    ("budget.xlsx", documents.xlsx, ["Budget", "Hello zebra in Excel", "4217"], {}),
    ("budget-1997.xls", documents.xls, ["Budget", "Hello zebra in old Excel", "4217"], {}),
    ("deck.pptx", documents.pptx, ["Hello zebra in PowerPoint"], {}),
    ("minutes.odt", documents.odt, ["Hello zebra in OpenDocument"], {}),
    ("memo.rtf", documents.rtf, ["Hello zebra in RTF"], {"title": "RTF title"}),
    ("page.html", documents.html, ["Hello zebra in HTML", "Heading"], {"title": "Page title"}),
    ("mail.eml", documents.eml, ["Hello zebra by e-mail", "attached okapi notes"],
     {"title": "Mail subject", "from": "ann@example.com", "embedded": 1}),
    ("book.epub", documents.epub, ["Hello zebra in an e-book"], {"title": "Book title"}),
    ("pixel.png", documents.png, [], {"width": 7, "height": 5}),
])
def test_each_tika_format(extractor: Extractor, key: str, make: Callable[[], bytes],
                          words: list[str], meta: dict) -> None:
    got = extractor.extract(FileSource.from_bytes(make(), key))
    assert (got.status, got.extractor, got.error) == ("ok", "tika", None), got.error
    for word in words:
        assert word in got.text
    assert "hidden" not in got.text  # HTML scripts are not text
    assert meta.items() <= got.metadata.items()
    assert got.content_type


def test_format_found_by_magic_bytes_without_extension(extractor: Extractor) -> None:
    got = extractor.extract(FileSource.from_bytes(documents.docx(), "uploads/8f3a"))
    assert got.status == "ok" and "Hello zebra in Word" in got.text
    assert got.content_type.startswith("application/vnd.openxmlformats")
    old = extractor.extract(FileSource.from_bytes(documents.xls(), "uploads/77c1"))  # OLE2
    assert old.status == "ok" and "Hello zebra in old Excel" in old.text
    assert old.content_type == "application/vnd.ms-excel"


def test_gzipped_html(extractor: Extractor) -> None:
    got = extractor.extract(FileSource.from_bytes(gzip.compress(documents.html()), "p.html.gz"))
    assert (got.status, got.extractor) == ("ok", "gzip+tika")
    assert "Hello zebra in HTML" in got.text


def test_encrypted_pdf(extractor: Extractor) -> None:
    got = extractor.extract(FileSource.from_bytes(documents.pdf(password="s3cret"), "lock.pdf"))
    assert (got.status, got.text) == ("encrypted", "")
    assert "EncryptedDocumentException" in got.error
    assert "\tat " not in got.error  # one line, no Java stack trace


def test_corrupt_pdf(extractor: Extractor) -> None:
    whole = documents.pdf()
    got = extractor.extract(FileSource.from_bytes(whole[: len(whole) // 3], "cut.pdf"))
    assert got.status == "corrupt" and got.extractor == "tika"
    assert got.error and len(got.error) <= 500


def test_tika_write_limit_is_max_chars(extractor: Extractor, tika_url: str) -> None:
    data = documents.pdf(pages=30, lines_per_page=40)
    got = Extractor(TikaClient(tika_url), ExtractLimits(max_chars=2000)).extract(
        FileSource.from_bytes(data, "long.pdf"))
    assert (got.status, got.truncated) == ("truncated", True)
    assert 0 < len(got.text) <= 2000
    assert "max_chars=2000" in got.error


def test_too_large_is_not_sent_to_tika(tika_url: str) -> None:
    got = Extractor(TikaClient(tika_url), ExtractLimits(max_bytes=1000)).extract(
        FileSource.from_bytes(documents.pdf(pages=5), "big.pdf"))
    assert (got.status, got.text) == ("too_large", "")
    assert "max_bytes=1000" in got.error


def test_a_file_that_makes_tika_time_out(tika_url: str) -> None:
    """The real server on a large PDF, with a client timeout far below its parse time."""
    big = documents.pdf(pages=300, lines_per_page=60)
    started = time.monotonic()
    got = Extractor(TikaClient(tika_url), ExtractLimits(tika_timeout=0.05)).extract(
        FileSource.from_bytes(big, "huge.pdf"))
    assert (got.status, got.text) == ("timeout", "")
    assert "tika_timeout=0.05" in got.error
    assert time.monotonic() - started < 5


# --- servers that misbehave: one that never answers, one that resets, none at all ---------


def _serve(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()
    held: list[socket.socket] = []

    def loop() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            handle(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


@pytest.fixture
def stalling_tika() -> Iterator[str]:
    """Accepts the request, reads it, never answers."""
    def handle(conn: socket.socket) -> None:
        conn.settimeout(2)
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
    yield from _serve(handle)


@pytest.fixture
def resetting_tika() -> Iterator[str]:
    """Accepts the connection and resets it, as Tika does when its worker restarts."""
    def handle(conn: socket.socket) -> None:
        conn.recv(1024)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    yield from _serve(handle)


def test_a_tika_that_answers_nothing_is_a_retry_not_a_timeout(stalling_tika: str) -> None:
    # hung, paused or overloaded: the timeout says nothing about the file
    with pytest.raises(TikaUnavailable, match="does not answer a tiny request"):
        Extractor(TikaClient(stalling_tika), ExtractLimits(tika_timeout=0.5)).extract(
            FileSource.from_bytes(documents.pdf(), "a.pdf"))


@pytest.fixture
def one_slow_file_tika() -> Iterator[str]:
    """Answers the small health parse at once, never answers the document's /rmeta parse."""
    def handle(conn: socket.socket) -> None:
        conn.settimeout(2)
        try:
            request = conn.recv(65536)
            if request.startswith(b"PUT /tika "):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                             b"Connection: close\r\n\r\nok")
                return
            while conn.recv(65536):
                pass
        except OSError:
            pass
    yield from _serve(handle)


def test_a_timeout_while_tika_answers_others_is_the_files_final_outcome(
        one_slow_file_tika: str) -> None:
    got = Extractor(TikaClient(one_slow_file_tika), ExtractLimits(tika_timeout=0.5)).extract(
        FileSource.from_bytes(documents.pdf(), "a.pdf"))
    assert (got.status, got.extractor) == ("timeout", "tika")
    assert "while Tika answered other requests" in (got.error or "")


def test_reset_connection_is_transient(resetting_tika: str) -> None:
    with pytest.raises(TikaUnavailable):
        Extractor(TikaClient(resetting_tika)).extract(
            FileSource.from_bytes(documents.pdf(), "a.pdf"))


def test_tika_down_is_transient() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientExtractionError, match="unreachable"):
        Extractor(TikaClient(f"http://127.0.0.1:{port}")).extract(
            FileSource.from_bytes(documents.pdf(), "a.pdf"))
    # the fast path does not need Tika
    got = Extractor(TikaClient(f"http://127.0.0.1:{port}")).extract(
        FileSource.from_bytes(b"plain words", "a.txt"))
    assert got.status == "ok"
