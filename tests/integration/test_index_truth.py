"""The index equals S3 after any sequence of writes through the worker (property-style).

Random sequences of puts, same-bytes-new-metadata puts, content-type changes,
overwrites and deletes on a few keys, most within the same wall-clock second, go
through the local stack's worker (S3 -> SQS -> handler). After each sequence the
index must show every key exactly as S3 does, metadata included, and ``verify``
must find no drift.
"""

from __future__ import annotations

import json
import random

from indexer.backfill.verify import verify
from indexer.service import build_pipeline
from indexer.settings import Settings
from infra.local.settings import StackSettings
from t4index import fields as F
from tests.support.aws import make_queue, notify_queue, queue_depth, wait_for
from tests.support.indexing import stored

KEYS = ["a.txt", "dir/b.txt", "c d+e.txt"]
ROUNDS = 6
STEPS = 8


def _state(s3, bucket: str, key: str) -> dict | None:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        return None
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    meta = json.loads(head["Metadata"].get("helium", "{}")).get("user_meta")
    return {"etag": head["ETag"].strip('"'), "type": head["ContentType"], "meta": meta,
            "text": body}


def _shows(doc: dict | None, want: dict | None) -> bool:
    if want is None:
        return doc is None or doc.get(F.DELETED) is True
    return (doc is not None and not doc.get(F.DELETED) and doc.get(F.ETAG) == want["etag"]
            and doc.get(F.CONTENT_TYPE) == want["type"] and doc.get(F.USER_META) == want["meta"]
            and doc.get(F.TEXT) == want["text"] and doc.get(F.EXTRACTION_STATUS) == "ok")


def test_random_write_sequences_leave_the_index_equal_to_s3(es, s3, sqs, bucket, endpoints,
                                                            drop_indices):
    drop_indices(bucket)
    prefix = StackSettings.from_env().queue_prefix  # the stack's worker polls these
    url, arn, dlq = make_queue(sqs, f"{prefix}-{bucket}", visibility_timeout=5,
                               max_receive_count=5)
    notify_queue(s3, bucket, arn)
    pipeline = build_pipeline(Settings(
        es_url=endpoints.es_url, es_username=endpoints.es_username,
        es_password=endpoints.es_password, es_api_key=endpoints.es_api_key,
        es_engine=endpoints.es_engine, es_sigv4_region=endpoints.es_sigv4_region,
        tika_url=endpoints.tika_url), s3=s3)
    rng = random.Random(20261204)
    bodies = {key: "first words" for key in KEYS}

    def put(key: str, body: str, meta: dict, ctype: str) -> None:
        bodies[key] = body
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType=ctype,
                      Metadata={"helium": json.dumps({"user_meta": meta})})

    for round_no in range(ROUNDS):
        ops = []
        for step in range(STEPS):
            key = rng.choice(KEYS)
            op = rng.choice(["put", "same-bytes-new-meta", "content-type", "overwrite",
                             "delete"])
            ops.append((op, key))
            meta = {"status": rng.choice(["draft", "final", "review"]), "n": step}
            if op == "delete":
                s3.delete_object(Bucket=bucket, Key=key)
            elif op == "same-bytes-new-meta":
                put(key, bodies[key], meta, "text/plain")
            elif op == "content-type":
                put(key, bodies[key], meta, rng.choice(["text/plain", "text/markdown"]))
            else:
                put(key, f"round {round_no} step {step} {op}", meta, "text/plain")
        want = {key: _state(s3, bucket, key) for key in KEYS}

        def converged(want=want) -> bool:
            return all(_shows(stored(es, bucket, key), want[key]) for key in KEYS)

        wait_for(converged, timeout=60, interval=0.5,
                 what=f"the index to show S3 after round {round_no}: {ops}")
        report = verify(pipeline, bucket)
        assert report.drift == 0, (ops, report.as_json())
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), timeout=60, what="the queue to drain")
    assert queue_depth(sqs, dlq) == (0, 0)
