"""Extraction of objects on S3 (moto server) through :class:`S3ObjectSource`.

Covers the ranged Parquet footer, a Tika format streamed from S3, the seed's
objects written by ``t4.Bucket.put`` (format known only from ``helium``),
archived objects, objects that vanish or change mid-read, and objects larger
than the read bounds with their peak memory measured.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tracemalloc
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import t4
from indexer.extract import ExtractLimits, Extractor, TikaClient, TransientExtractionError
from indexer.source import ObjectGone, S3ObjectSource
from tests.support import documents

pytestmark = pytest.mark.integration
MB = 2**20


class CountingClient:
    """A boto3 S3 client that records the byte ranges of its GETs."""

    def __init__(self, client) -> None:
        self._client = client
        self.ranges: list[str | None] = []

    def get_object(self, **kwargs):
        self.ranges.append(kwargs.get("Range"))
        return self._client.get_object(**kwargs)

    def __getattr__(self, name: str):
        return getattr(self._client, name)


@pytest.fixture
def extractor(tika_url: str) -> Extractor:
    return Extractor(TikaClient(tika_url))


def _put_stream(s3, bucket: str, key: str, size: int, head: bytes = b"",
                fill: bytes = b"lorem ipsum dolor sit amet ") -> None:
    """Upload ``size`` bytes (``head`` then ``fill`` repeated) without holding them in memory."""
    class Repeat(io.RawIOBase):
        def __init__(self) -> None:
            self.pos = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buf) -> int:
            n = min(len(buf), size - self.pos)
            if n <= 0:
                return 0
            pattern = head if self.pos < len(head) else b""
            chunk = (pattern[self.pos:] + fill * (n // len(fill) + 2))[:n]
            buf[:n] = chunk
            self.pos += n
            return n

    s3.upload_fileobj(io.BufferedReader(Repeat(), 1 * MB), bucket, key)


def test_parquet_schema_by_ranged_footer_reads(s3, bucket: str) -> None:
    rows = 400_000
    df = pd.DataFrame({"station": np.arange(rows), "reading": np.random.default_rng(1)
                       .random(rows), "label": [f"r{i % 97}" for i in range(rows)]})
    buf = io.BytesIO()
    df.to_parquet(buf, compression=None)
    s3.put_object(Bucket=bucket, Key="data/readings.parquet", Body=buf.getvalue())
    size = len(buf.getvalue())
    assert size > 4 * MB
    client = CountingClient(s3)
    source = S3ObjectSource.head(client, bucket, "data/readings.parquet")
    got = Extractor(None).extract(source)
    assert (got.status, got.extractor) == ("ok", "parquet")
    assert got.metadata["columns"][:3] == ["station", "reading", "label"]
    assert got.metadata["num_rows"] == rows
    assert all(r and r.startswith("bytes=") for r in client.ranges)  # ranged GETs only
    fetched = sum(int(end) - int(start) + 1 for start, end in
                  (r.removeprefix("bytes=").split("-") for r in client.ranges))
    assert fetched < 200 * 1024 < size, (fetched, size)


def test_seed_objects_by_helium_format(s3, bucket: str) -> None:
    b = t4.Bucket(f"s3://{bucket}")
    b.put("df", pd.DataFrame({"alpha": [1, 2], "beta": ["x", "y"]}), meta={"owner": "ann"})
    b.put("arr", np.zeros((2, 3)))
    b.put("settings", {"mode": "fast", "retries": 3})
    b.put("greeting", "hello from t4")
    results = {key: Extractor(None).extract(S3ObjectSource.head(s3, bucket, key))
               for key in ("df", "arr", "settings", "greeting")}
    assert {k: r.extractor for k, r in results.items()} == {
        "df": "parquet", "arr": "numpy", "settings": "json", "greeting": "text"}
    assert results["df"].metadata["columns"][:2] == ["alpha", "beta"]
    assert results["arr"].metadata["shape"] == [2, 3]
    assert "mode: fast" in results["settings"].text
    assert results["greeting"].text == "hello from t4"


def test_pdf_from_s3_through_tika(s3, bucket: str, extractor: Extractor) -> None:
    s3.put_object(Bucket=bucket, Key="docs/report", Body=documents.pdf(),
                  ContentType="application/pdf")
    got = extractor.extract(S3ObjectSource.head(s3, bucket, "docs/report"))
    assert (got.status, got.extractor) == ("ok", "tika")
    assert "Hello zebra world" in got.text and got.metadata["pages"] == 1


def test_text_csv_and_notebook_from_s3(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="a b+c/ü.txt", Body="naïve text".encode("latin-1"))
    s3.put_object(Bucket=bucket, Key="t.csv", Body=b"x,y\n1,2\n")
    nb = {"nbformat": 4, "metadata": {}, "cells": [{"cell_type": "code", "source": "1 + 1",
                                                    "outputs": []}]}
    s3.put_object(Bucket=bucket, Key="n.ipynb", Body=json.dumps(nb).encode())
    got = {k: Extractor(None).extract(S3ObjectSource.head(s3, bucket, k))
           for k in ("a b+c/ü.txt", "t.csv", "n.ipynb")}
    assert got["a b+c/ü.txt"].status == "ok" and "text" in got["a b+c/ü.txt"].text
    assert got["t.csv"].metadata["columns"] == ["x", "y"]
    assert got["n.ipynb"].text == "1 + 1"


def test_archived_object_is_unreadable(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="cold.txt", Body=b"frozen", StorageClass="GLACIER")
    got = Extractor(None).extract(S3ObjectSource.head(s3, bucket, "cold.txt"))
    assert (got.status, got.text) == ("unreadable", "")
    assert got.error == "archived in storage class GLACIER and not restored (InvalidObjectState)"


def test_object_deleted_or_overwritten_after_head(s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"soon gone")
    source = S3ObjectSource.head(s3, bucket, "gone.txt")
    s3.delete_object(Bucket=bucket, Key="gone.txt")
    with pytest.raises(ObjectGone):
        Extractor(None).extract(source)
    s3.put_object(Bucket=bucket, Key="moving.txt", Body=b"first")
    source = S3ObjectSource.head(s3, bucket, "moving.txt")
    s3.put_object(Bucket=bucket, Key="moving.txt", Body=b"second!")
    with pytest.raises(TransientExtractionError, match="changed"):
        Extractor(None).extract(source)


def test_a_version_is_read_even_after_an_overwrite(s3, versioned_bucket: str) -> None:
    first = s3.put_object(Bucket=versioned_bucket, Key="v.txt", Body=b"version one")
    s3.put_object(Bucket=versioned_bucket, Key="v.txt", Body=b"version two")
    source = S3ObjectSource.head(s3, versioned_bucket, "v.txt", first["VersionId"])
    assert Extractor(None).extract(source).text == "version one"


# --- objects larger than the read bounds: peak memory ---------------------------------------


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def _peak_of(fn):
    tracemalloc.reset_peak()
    result = fn()
    return result, tracemalloc.get_traced_memory()[1]


def test_large_text_object_reads_only_its_prefix(s3, bucket: str, traced: None) -> None:
    _put_stream(s3, bucket, "huge.log", 96 * MB)
    client = CountingClient(s3)
    source = S3ObjectSource.head(client, bucket, "huge.log")
    got, peak = _peak_of(lambda: Extractor(None).extract(source))
    assert (got.status, got.truncated) == ("truncated", True)
    assert got.text.startswith("lorem ipsum") and len(got.text) == 500_000
    assert client.ranges == ["bytes=0-65535", f"bytes=0-{2 * MB - 1}"]
    assert peak < 12 * MB, f"peak {peak / MB:.1f} MB"  # measured: 6.4 MB


def test_tika_format_over_max_bytes_is_too_large_without_reading(s3, bucket: str,
                                                                  extractor: Extractor,
                                                                  traced: None) -> None:
    _put_stream(s3, bucket, "scan.pdf", 48 * MB, head=b"%PDF-1.4\n")
    client = CountingClient(s3)
    source = S3ObjectSource.head(client, bucket, "scan.pdf")
    limited = Extractor(extractor.tika, ExtractLimits(max_bytes=16 * MB))
    got, peak = _peak_of(lambda: limited.extract(source))
    assert (got.status, got.text, got.metadata["size"]) == ("too_large", "", 48 * MB)
    assert "max_bytes=16777216" in got.error
    assert client.ranges == ["bytes=0-65535"]  # only the head, for the magic bytes
    assert peak < 4 * MB


def test_tika_format_streams_through_a_temporary_file(s3, bucket: str, extractor: Extractor,
                                                     traced: None) -> None:
    # 40 MB that claims to be a PDF: streamed to disk and to Tika, never held in memory
    _put_stream(s3, bucket, "fake.pdf", 40 * MB, head=b"%PDF-1.4\n", fill=os.urandom(4096))
    source = S3ObjectSource.head(s3, bucket, "fake.pdf")
    got, peak = _peak_of(lambda: extractor.extract(source))
    assert (got.status, got.extractor) == ("corrupt", "tika")
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"  # measured: 2.1 MB


def test_a_small_object_costs_one_get(s3, bucket: str, extractor: Extractor) -> None:
    objects = {"small.txt": b"tiny text", "small.csv": b"a,b\n1,2\n", "small.pdf": documents.pdf(),
               "small.json": b'{"k": "v"}', "small.txt.gz": gzip.compress(b"zip")}
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    for key in objects:
        client = CountingClient(s3)
        got = extractor.extract(S3ObjectSource.head(client, bucket, key))
        assert got.status == "ok", (key, got.error)
        assert client.ranges == [f"bytes=0-{len(objects[key]) - 1}"], key
