"""Timestamps read from AWS's answers: botocore's reading, faster for the common form."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("value", [
    "2026-12-05T02:13:09.000Z", "2026-12-05T02:13:09Z", "2026-12-05T02:13:09.1Z",
    "2026-12-05T02:13:09.123456Z", "2026-12-05T02:13:09+02:00", "2026-12-05T02:13:09",
    "Thu, 05 Dec 2026 02:13:09 GMT", "Sat, 05 Dec 2026 04:36:05 GMT",
    "Mon, 29 Feb 2027 00:00:00 GMT", "Tue, 01 Jan 2030 24:00:00 GMT",
    "Sat, 5 Dec 2026 04:36:05 GMT", "Sat, 05 Dec 2026 04:36:05 +0100",
    "1733364789", 1733364789, "2026-02-30T00:00:00Z",
    "not a date",
])
def test_aws_timestamps_read_as_botocore_reads_them(value):
    """The S3 clients' timestamp reader gives botocore's datetime, or botocore's error."""
    from botocore.utils import parse_timestamp

    from t4index.dates import parse_aws_timestamp

    try:
        expected = parse_timestamp(value)
    except ValueError:
        with pytest.raises(ValueError):
            parse_aws_timestamp(value)
        return
    got = parse_aws_timestamp(value)
    assert got == expected and got.utcoffset() == expected.utcoffset()


def test_the_indexers_s3_clients_read_listings_with_it():
    """A 1,000-key LIST page spent ~40 ms in dateutil; the indexer's clients skip it."""
    from t4index.dates import parse_aws_timestamp
    from t4index.retry import aws_client

    s3 = aws_client("s3", region_name="us-east-1", aws_access_key_id="k",
                    aws_secret_access_key="s")
    # botocore's clients no longer take set_parser_defaults: this is the only way in
    assert s3._response_parser._timestamp_parser is parse_aws_timestamp


def test_the_clients_default_s3_client_reads_listings_with_it(monkeypatch):
    import t4
    from t4index.dates import parse_aws_timestamp

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = t4.Bucket("s3://bucket-a")
    assert bucket._client._response_parser._timestamp_parser is parse_aws_timestamp
