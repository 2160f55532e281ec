"""The S3 contract the client and the indexer share (``t4index.s3``, ``t4index.retry``).

One error table gives both sides the same meaning for the same S3 answer; one
retry layer makes exactly ``max_attempts`` requests per read; no package reaches
into another's private modules.
"""

from __future__ import annotations

import ast
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

import t4
from indexer import source
from t4._errors import translate
from t4index.retry import RetryPolicy
from t4index.s3 import (
    S3Outcome,
    classify_error,
    is_bucket_name,
    last_extension,
    normalize_etag,
    normalize_extension,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("t4", "t4index", "indexer", "lambdas", "infra")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_another_packages_private_modules(package: str) -> None:
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        for name in _imports(path):
            top, *rest = name.split(".")
            if top in PACKAGES and top != package and any(p.startswith("_") for p in rest):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def _error(code: str, status: int, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize(("code", "status", "outcome", "client_error", "indexer_error"), [
    ("NoSuchKey", 404, S3Outcome.MISSING, t4.NotFoundError, source.ObjectGone),
    ("404", 404, S3Outcome.MISSING, t4.NotFoundError, source.ObjectGone),
    ("NoSuchVersion", 400, S3Outcome.MISSING, t4.NotFoundError, source.ObjectGone),
    ("AccessDenied", 403, S3Outcome.DENIED, t4.AccessDeniedError, source.ObjectUnreadable),
    ("403", 403, S3Outcome.DENIED, t4.AccessDeniedError, source.ObjectUnreadable),
    ("SlowDown", 503, S3Outcome.RETRYABLE, t4.S3Error, source.SourceUnavailable),
    ("InternalError", 500, S3Outcome.RETRYABLE, t4.S3Error, source.SourceUnavailable),
    ("PreconditionFailed", 412, S3Outcome.CHANGED, t4.S3Error, source.ObjectChanged),
    ("InvalidObjectState", 403, S3Outcome.REFUSED, t4.S3Error, source.ObjectUnreadable),
    ("KMS.DisabledException", 400, S3Outcome.REFUSED, t4.S3Error, source.ObjectUnreadable),
])
def test_one_table_gives_both_sides_the_same_meaning(code, status, outcome, client_error,
                                                     indexer_error) -> None:
    exc = _error(code, status)
    assert classify_error(exc).outcome is outcome
    assert type(translate(exc, "b", "k")) is client_error
    assert type(source.translate(exc, "s3://b/k")) is indexer_error


def test_connection_failures_are_retryable_and_local_errors_are_not_s3_errors() -> None:
    assert classify_error(EndpointConnectionError(endpoint_url="http://x")).outcome is (
        S3Outcome.RETRYABLE)
    assert classify_error(OSError("disk full")) is None


def test_normalisers() -> None:
    assert normalize_etag('"abc"') == normalize_etag("abc") == "abc"
    assert normalize_etag('""') is None and normalize_etag(None) is None
    assert last_extension("a/b.CSV") == "csv" and last_extension("x/.bashrc") == ""
    assert last_extension("d.tar.gz") == "gz" and last_extension("a.b/c") == ""
    assert normalize_extension(" .CSV ") == "csv"
    assert is_bucket_name("my.bucket-1") and is_bucket_name("Legacy_Bucket")
    assert not is_bucket_name("Legacy_Bucket", legacy=False)
    assert not is_bucket_name("a..b") and not is_bucket_name("ab") and not is_bucket_name(3)


class _Throttling(BaseHTTPRequestHandler):
    """An S3 endpoint that throttles every request and counts them."""

    count = 0
    lock = threading.Lock()

    def _answer(self) -> None:
        with self.lock:
            type(self).count += 1
        body = (b"<?xml version='1.0'?><Error><Code>SlowDown</Code>"
                b"<Message>Please reduce your request rate.</Message></Error>")
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def throttling_s3(monkeypatch):
    _Throttling.count = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield _Throttling
    server.shutdown()
    server.server_close()


def test_the_indexer_makes_exactly_the_retry_policys_attempts_per_ranged_get(throttling_s3):
    """Once 15 requests (botocore's adaptive 5 under RetryPolicy(3)); one layer makes 3."""
    from indexer.service import build_pipeline
    from indexer.settings import Settings

    pipeline = build_pipeline(Settings(es_url="http://127.0.0.1:9"), es=object())
    src = source.S3ObjectSource(pipeline.s3, "bucket", "key", size=100, etag="abc",
                                retry=RetryPolicy(max_attempts=3, sleep=lambda _: None))
    with pytest.raises(source.SourceUnavailable):
        src.read_range(0, 9)
    assert throttling_s3.count == 3


def test_the_client_makes_exactly_the_retry_policys_attempts(throttling_s3):
    bucket = t4.Bucket("s3://bucket", retry=RetryPolicy(max_attempts=2, sleep=lambda _: None))
    with pytest.raises(t4.S3Error):
        bucket.get_meta("key")
    assert throttling_s3.count == 2
