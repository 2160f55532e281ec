"""Backfill on the real stack: thousands of mixed objects, a free re-run, a resumed run.

S3 calls are counted with a botocore hook on the client the pipeline uses
(real calls against moto server, no mocks).
"""

from __future__ import annotations

import gzip
import io
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config

from indexer import freshness
from indexer.backfill import Checkpoint, backfill
from indexer.backfill.progress import Progress
from indexer.service import build_pipeline
from indexer.settings import Settings
from t4index import fields as F
from t4index.names import alias_name
from tests.support.indexing import stored


def _client() -> Any:
    return boto3.client("s3", config=Config(max_pool_connections=64))


def _count_calls(s3: Any) -> Counter:
    calls: Counter = Counter()

    def hook(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    s3.meta.events.register("before-call.s3.*", hook)
    return calls


def _reads(calls: Counter) -> int:
    """Requests that read one object (the pipeline probes with a ranged GET, HEAD as fallback)."""
    return calls["HeadObject"] + calls["GetObject"]


def _pdf(text: str) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    page = canvas.Canvas(buf)
    page.drawString(72, 720, text)
    page.save()
    return buf.getvalue()


def _mixed(i: int) -> tuple[str, bytes, str]:
    kind = i % 6
    if kind == 0:
        return f"notes/n{i:05d}.txt", f"note {i} about fjord{i}".encode(), "text/plain"
    if kind == 1:
        return f"docs/d{i:05d}.md", f"# Doc {i}\nglacier{i}".encode(), "text/markdown"
    if kind == 2:
        return f"tables/t{i:05d}.csv", f"site,value\nridge{i},{i}\n".encode(), "text/csv"
    if kind == 3:
        return (f"config/c{i:05d}.json", json.dumps({"run": i, "lead": f"odin{i}"}).encode(),
                "application/json")
    if kind == 4:
        return (f"logs/l{i:05d}.log.gz", gzip.compress(f"log line {i} valkyrie".encode()),
                "application/gzip")
    return f"blobs/b{i:05d}.bin", bytes(range(256)) * 4, "application/octet-stream"


def _put_all(s3: Any, bucket: str, objects: list[tuple[str, bytes, str]]) -> None:
    def put(item: tuple[str, bytes, str]) -> None:
        key, body, content_type = item
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, objects))


def _pipeline(es: Any, s3: Any, tika_url: str) -> Any:
    return build_pipeline(Settings(es_url=None, tika_url=tika_url, threads=8), es=es, s3=s3)


def _count(es: Any, bucket: str) -> int:
    es.refresh(alias_name(bucket))
    return es.search({"size": 0, "track_total_hits": True,
                      "query": {"bool": {"must_not": [{"term": {F.DELETED: True}}]}}},
                     alias_name(bucket))["hits"]["total"]["value"]


def test_thousands_of_mixed_objects_then_a_rerun_without_any_get_or_head(
        es, bucket, tika_url, drop_indices):
    drop_indices(bucket)
    s3 = _client()
    objects = [_mixed(i) for i in range(2400)]
    objects += [(f"papers/p{i}.pdf", _pdf(f"Mjolnir paper {i}"), "application/pdf")
                for i in range(12)]
    _put_all(s3, bucket, objects)
    calls = _count_calls(s3)
    pipeline = _pipeline(es, s3, tika_url)

    first = backfill(pipeline, bucket, chunk_size=500, parallel=4)
    assert first.failed == 0, first.failures[:5]
    assert (first.objects, first.indexed, first.unchanged) == (len(objects), len(objects), 0)
    assert _count(es, bucket) == len(objects)
    assert _reads(calls) >= len(objects)
    assert "fjord6" in stored(es, bucket, "notes/n00006.txt")[F.TEXT]
    assert "ridge8" in stored(es, bucket, "tables/t00008.csv")[F.TEXT]
    assert "valkyrie" in stored(es, bucket, "logs/l00004.log.gz")[F.TEXT]
    assert "Mjolnir paper 3" in stored(es, bucket, "papers/p3.pdf")[F.TEXT]

    # Documents made seconds after their objects' writes are confirmed (and stamped) once
    # by a read; from then on a re-run costs the LIST only (see indexer.freshness).
    time.sleep(freshness.SETTLE_SECONDS)
    backfill(pipeline, bucket, chunk_size=500)
    calls.clear()
    second = backfill(pipeline, bucket, chunk_size=500)
    assert (second.indexed, second.unchanged, second.failed) == (0, len(objects), 0)
    assert calls["GetObject"] == 0 and calls["HeadObject"] == 0
    assert calls["ListObjectsV2"] == 3  # 2,412 keys, 1,000 per page

    calls.clear()
    forced = backfill(pipeline, bucket, "docs/", force=True)
    assert forced.indexed == 400 and forced.unchanged == 0
    assert 400 <= _reads(calls) <= 2 * 400


def test_a_run_killed_midway_resumes_and_redoes_at_most_one_chunk(
        es, bucket, tika_url, drop_indices, tmp_path):
    drop_indices(bucket)
    s3 = _client()
    total, chunk = 1000, 100
    _put_all(s3, bucket, [(f"k/{i:05d}.txt", f"body {i}".encode(), "text/plain")
                          for i in range(total)])
    # documents made well after the writes settle at once (indexer.freshness): the resumed
    # run proves the interrupted chunk's written keys current from the listing alone
    time.sleep(freshness.SETTLE_SECONDS)
    calls = _count_calls(s3)
    pipeline = _pipeline(es, s3, tika_url)
    checkpoint = Checkpoint(tmp_path / "cp.json", f"s3://{bucket}")

    class Killed(Exception):
        pass

    def kill(progress: Progress) -> None:
        if progress.objects >= 450:  # in the middle of the fifth chunk
            raise Killed

    with pytest.raises(Killed):
        backfill(pipeline, bucket, chunk_size=chunk, parallel=4, page_size=chunk,
                 checkpoint=checkpoint, progress=kill)
    saved = checkpoint.load()
    assert saved == "k/00399.txt"  # four chunks complete
    first_reads, first_lists = _reads(calls), calls["ListObjectsV2"]
    assert 450 <= first_reads <= 500  # small text objects: one read each

    calls.clear()
    resumed = backfill(pipeline, bucket, chunk_size=chunk, parallel=4, page_size=chunk,
                       checkpoint=checkpoint)
    assert resumed.resumed_from == "k/00399.txt"
    assert resumed.objects == total - 400  # the interrupted chunk and the rest, nothing before
    assert resumed.failed == 0
    # LIST: the first run read pages 1-5 (and up to 2 ahead: the listing is prefetched);
    # the resumed run pages 5-10
    assert first_lists <= 7 and calls["ListObjectsV2"] <= 7
    # the interrupted chunk's written keys are compared, not read again
    assert _reads(calls) + first_reads <= total + chunk
    assert _reads(calls) == total - first_reads
    assert _count(es, bucket) == total
    assert checkpoint.load() is None  # done: the next run starts over (and skips everything)
