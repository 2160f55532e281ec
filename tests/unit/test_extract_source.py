"""S3 errors while reading an object, translated once: gone, unreadable, or transient.

A real boto3 client with botocore's ``Stubber`` as its transport answers with
the error codes S3 sends (moto cannot produce SSE-C, KMS or 403 refusals).
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from indexer.extract import Extractor, TransientExtractionError
from indexer.source import (
    ObjectChanged,
    ObjectGone,
    ObjectUnreadable,
    S3ObjectSource,
    SourceUnavailable,
    helium_format,
)
from t4index.retry import RetryPolicy

NO_WAIT = RetryPolicy(max_attempts=2, sleep=lambda _: None)


def _client():
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="k",
                        aws_secret_access_key="s", endpoint_url="https://s3.example.invalid")


def _source(client, **kwargs) -> S3ObjectSource:
    return S3ObjectSource(client, "bkt", "dir/file.txt", size=100, etag='"e1"', retry=NO_WAIT,
                          **kwargs)


def _stub_error(stubber: Stubber, code: str, status: int, message: str = "",
                times: int = 1) -> None:
    for _ in range(times):
        stubber.add_client_error("get_object", service_error_code=code, service_message=message,
                                 http_status_code=status)


@pytest.mark.parametrize(("code", "status", "message", "reason"), [
    ("AccessDenied", 403, "Access Denied", "access denied (AccessDenied)"),
    ("InvalidObjectState", 403, "The operation is not valid for the object's storage class",
     "archived in storage class DEEP_ARCHIVE and not restored (InvalidObjectState)"),
    ("InvalidRequest", 400, "The object was stored using a form of Server Side Encryption. "
     "The correct parameters must be provided to retrieve the object.",
     "encrypted with a customer-provided key, SSE-C (InvalidRequest)"),
    ("KMS.DisabledException", 400, "arn:aws:kms:... is disabled.",
     "the object's KMS key cannot be used (KMS.DisabledException)"),
])
def test_permanent_refusals_are_unreadable_and_not_retried(code, status, message, reason):
    client = _client()
    with Stubber(client) as stubber:
        _stub_error(stubber, code, status, message)
        got = Extractor(None).extract(_source(client, storage_class="DEEP_ARCHIVE"))
        stubber.assert_no_pending_responses()  # one request: no retry
    assert (got.status, got.error, got.text) == ("unreadable", reason, "")


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("InternalError", 500),
                                              ("ServiceUnavailable", 503)])
def test_throttling_and_5xx_are_retried_then_transient(code, status):
    client = _client()
    with Stubber(client) as stubber:
        _stub_error(stubber, code, status, times=2)
        with pytest.raises(TransientExtractionError, match=code) as info:
            Extractor(None).extract(_source(client))
        stubber.assert_no_pending_responses()  # retried once (max_attempts=2)
    assert isinstance(info.value.__cause__, SourceUnavailable)


def test_a_retry_that_succeeds() -> None:
    client = _client()
    with Stubber(client) as stubber:
        _stub_error(stubber, "SlowDown", 503)
        stubber.add_response("get_object", {"Body": _body(b"after a retry"), "ContentLength": 13},
                             {"Bucket": "bkt", "Key": "dir/file.txt", "IfMatch": '"e1"',
                              "Range": "bytes=0-12"})
        src = S3ObjectSource(client, "bkt", "dir/file.txt", size=13, etag='"e1"', retry=NO_WAIT)
        assert src.read_range(0, 99) == b"after a retry"


def test_gone_and_changed() -> None:
    client = _client()
    with Stubber(client) as stubber:
        _stub_error(stubber, "NoSuchKey", 404)
        _stub_error(stubber, "NoSuchVersion", 404)
        _stub_error(stubber, "PreconditionFailed", 412)
        with pytest.raises(ObjectGone):
            Extractor(None).extract(_source(client))
        with pytest.raises(ObjectGone):
            _source(client).read_range(0, 10)
        with pytest.raises(TransientExtractionError) as info:
            Extractor(None).extract(_source(client))
    assert isinstance(info.value.__cause__, ObjectChanged)


def test_versioned_reads_name_the_version_and_unversioned_ones_pin_the_etag() -> None:
    client = _client()
    with Stubber(client) as stubber:
        stubber.add_response("get_object", {"Body": _body(b"abc")},
                             {"Bucket": "bkt", "Key": "k", "VersionId": "v1",
                              "Range": "bytes=0-2"})
        stubber.add_response("get_object", {"Body": _body(b"ab")},
                             {"Bucket": "bkt", "Key": "k", "IfMatch": '"e"', "Range": "bytes=1-2"})
        assert S3ObjectSource(client, "bkt", "k", "v1", size=3).read_range(0, 5) == b"abc"
        assert S3ObjectSource(client, "bkt", "k", size=3, etag='"e"').read_range(1, 2) == b"ab"
        assert S3ObjectSource(client, "bkt", "k", size=3).read_range(3, 9) == b""


def test_head_builds_the_source_with_its_helium_format() -> None:
    client = _client()
    with Stubber(client) as stubber:
        stubber.add_response("head_object", {
            "ContentLength": 42, "ContentType": "binary/octet-stream", "ETag": '"x"',
            "Metadata": {"helium": '{"user_meta": {}, "format": {"name": "parquet"}, '
                                   '"target": "parquet"}'}},
            {"Bucket": "bkt", "Key": "df"})
        stubber.add_client_error("head_object", service_error_code="403", http_status_code=403)
        src = S3ObjectSource.head(client, "bkt", "df")
        assert (src.size, src.helium_format, src.etag) == (42, "parquet", '"x"')
        with pytest.raises(ObjectUnreadable, match="access denied"):
            S3ObjectSource.head(client, "bkt", "other")


def test_helium_format() -> None:
    assert helium_format({"helium": '{"format": {"name": "json"}, "target": "json"}'}) == "json"
    assert helium_format({"helium": '{"target": "numpy"}'}) == "numpy"
    assert helium_format({"helium": '{"user_meta": {"a": 1}}'}) is None
    assert helium_format({"helium": "not json"}) is None
    assert helium_format({"helium": "[1]"}) is None
    assert helium_format({}) is None and helium_format(None) is None


def _body(data: bytes):
    import io

    from botocore.response import StreamingBody

    return StreamingBody(io.BytesIO(data), len(data))
