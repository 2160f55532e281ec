"""The whole pipeline on the local stack: S3 -> SQS -> worker -> handler -> index."""

from __future__ import annotations

import json

from infra.local.settings import StackSettings
from t4index import fields as F
from tests.support.aws import make_queue, notify_queue, queue_depth, wait_for
from tests.support.documents import pdf
from tests.support.indexing import stored


def _wire(s3, sqs, bucket):
    prefix = StackSettings.from_env().queue_prefix  # the stack's worker polls these
    url, arn, dlq = make_queue(sqs, f"{prefix}-{bucket}", visibility_timeout=5,
                               max_receive_count=3)
    notify_queue(s3, bucket, arn)
    return url, dlq


def test_objects_of_several_formats_are_indexed_and_deleted(es, s3, sqs, bucket, drop_indices):
    drop_indices(bucket)
    url, dlq = _wire(s3, sqs, bucket)
    files = {
        "notes/thor.md": (b"# Notes\nThor carries the hammer.", "text/markdown"),
        "tables/weather.csv": (b"site,temp\nridge,-4\nvalley,2\n", "text/csv"),
        "config/run.json": (json.dumps({"lead": "odin", "runs": 3}).encode(), "application/json"),
        "papers/mjolnir.pdf": (pdf("Mjolnir was forged by dwarves"), "application/pdf"),
    }
    for key, (body, content_type) in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                      Metadata={"helium": json.dumps({"user_meta": {"source": key}})})

    def all_indexed():
        docs = {key: stored(es, bucket, key) for key in files}
        return docs if all(docs.values()) else None

    docs = wait_for(all_indexed, timeout=60, what="four documents in the index")
    assert "hammer" in docs["notes/thor.md"][F.TEXT]
    assert "ridge" in docs["tables/weather.csv"][F.TEXT]
    assert "odin" in docs["config/run.json"][F.TEXT]
    assert "Mjolnir was forged by dwarves" in docs["papers/mjolnir.pdf"][F.TEXT]
    assert docs["papers/mjolnir.pdf"][F.EXTRACTOR] == "tika"
    assert all(d[F.EXTRACTION_STATUS] == "ok" for d in docs.values())
    assert docs["config/run.json"][F.USER_META] == {"source": "config/run.json"}

    s3.delete_object(Bucket=bucket, Key="notes/thor.md")
    wait_for(lambda: (stored(es, bucket, "notes/thor.md") or {}).get(F.DELETED),
             timeout=30, what="the tombstone")
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), what="the queue to drain")
    assert queue_depth(sqs, dlq) == (0, 0)
