"""Benchmark of the backfill against the minimal work any indexer must do (docs/benchmarks.md).

On the same N small text objects (default 4,000; ``--objects``), ``--rounds`` rounds
(default 5) in which the baseline and the backfill alternate which runs first:

- baseline: a raw concurrent boto3 pool GETs every object, then ``helpers.bulk``
  writes the final documents (``build_document`` with the text) into a scratch
  bucket's index; and ``helpers.bulk`` alone;
- backfill, first run: LIST, one ``mget`` per chunk, HEAD + extraction (GET) per
  object through ``Pipeline.index_keys``, conditional bulk writes;
- backfill, unchanged re-run: LIST and one ``mget`` per chunk, no GET or HEAD.

Prints the median objects/s of each and the ratios, each the median of the per-round
ratios with its spread (``bench/rounds.py``): backfill / baseline, and re-run / first
run (target: >= 10x). On the local stack moto serves a few hundred requests per
second, so every path that touches each object is bound by moto.

Usage: .venv/bin/python bench/bench_backfill.py [--objects N] [--threads T] [--parallel P]
Points at the local stack (or T4_ES_URL / AWS_ENDPOINT_URL); makes and removes
its own buckets and indices. Typical run (4,000 objects x 5 rounds): 6-8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.buckets import remove_bucket  # noqa: E402
from bench.rounds import MIN_ROUNDS, interleave, paired  # noqa: E402
from indexer.backfill import backfill  # noqa: E402
from indexer.service import build_pipeline  # noqa: E402
from indexer.settings import Settings  # noqa: E402
from infra.local.endpoints import Endpoints  # noqa: E402
from t4index.document import build_document  # noqa: E402
from t4index.engine import Engine, connect  # noqa: E402
from t4index.lifecycle import WRITE_PARAMS, bucket_indices, ensure_bucket_index, ensure_template  # noqa: E402,E501
from t4index.names import alias_name, doc_id  # noqa: E402
from t4index.retry import aws_client, s3_client_config  # noqa: E402


def clients(endpoints: Endpoints, pool: int) -> tuple[Engine, object]:
    endpoints.use_local_identity()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    es = connect(endpoints.engine_config(request_timeout=60))
    # the client t4-backfill makes (its one retry layer, its timestamp reader)
    s3 = aws_client("s3", endpoint_url=endpoints.aws_endpoint_url,
                    region_name=endpoints.region,
                    config=s3_client_config(max_pool_connections=pool))
    return es, s3


def populate(s3, bucket: str, n: int, threads: int) -> None:
    s3.create_bucket(Bucket=bucket)

    def put(i: int) -> None:
        s3.put_object(Bucket=bucket, Key=f"data/{i // 1000:03d}/obj-{i:06d}.txt",
                      Body=f"object {i} of the benchmark, some words to index".encode(),
                      ContentType="text/plain")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, range(n)))


def baseline(es, s3, bucket: str, scratch: str, threads: int) -> tuple[float, float, int]:
    """(seconds for GETs + bulk, seconds for bulk alone, documents) of the minimal work."""
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    started = time.monotonic()

    def get(key: str) -> dict:
        resp = s3.get_object(Bucket=bucket, Key=key)
        body = resp["Body"].read()
        return build_document(bucket=scratch, key=key, size=len(body), etag=resp["ETag"],
                              last_modified=resp["LastModified"],
                              content_type=resp.get("ContentType"), text=body.decode())

    with ThreadPoolExecutor(threads) as pool:
        docs = list(pool.map(get, keys))
    fetched = time.monotonic()
    ensure_bucket_index(es, scratch)
    bulk_started = time.monotonic()
    for _ok, _item in es.streaming_bulk(  # the engine family's own bulk helper
            ({"_index": alias_name(scratch), "_id": doc_id(scratch, d["key"]), "_source": d}
             for d in docs), chunk_size=500, **WRITE_PARAMS):
        pass
    done = time.monotonic()
    return (fetched - started) + (done - bulk_started), done - bulk_started, len(docs)


def drop(es, bucket: str) -> None:
    for index in bucket_indices(es, bucket):
        es.delete_index(index)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=4_000)
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS,
                        help=f"interleaved rounds (>= {MIN_ROUNDS})")
    parser.add_argument("--threads", type=int, default=8, help="pipeline HEAD/extract threads")
    parser.add_argument("--parallel", type=int, default=4, help="index_keys calls per chunk")
    parser.add_argument("--pool", type=int, default=32, help="baseline GET threads")
    args = parser.parse_args()
    endpoints = Endpoints.resolve()
    es, s3 = clients(endpoints, max(64, args.pool, args.threads * args.parallel * 2))
    run = uuid.uuid4().hex[:8]
    bucket, scratch = f"t4-bench-backfill-{run}", f"t4-bench-baseline-{run}"
    ensure_template(es)
    try:
        t0 = time.monotonic()
        populate(s3, bucket, args.objects, args.pool)
        print(f"setup: {args.objects:,} objects put in {time.monotonic() - t0:.1f} s",
              flush=True)

        settings = Settings(es_url=None, tika_url=endpoints.tika_url, threads=args.threads)
        rates: dict[str, list[float]] = {"bulk": [], "again": []}
        counted: list[int] = []
        calls: dict[str, int] = {}  # S3 requests of the unchanged re-run, by operation
        s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.update(
            {model.name: calls.get(model.name, 0) + 1}))

        def minimal(_round: int) -> float:
            drop(es, scratch)
            base_s, bulk_s, n = baseline(es, s3, bucket, scratch, args.pool)
            counted.append(n)
            rates["bulk"].append(n / bulk_s)
            return n / base_s

        def ours(_round: int) -> float:
            drop(es, bucket)  # a first run each round: nothing indexed yet
            pipeline = build_pipeline(settings, es=es, s3=s3)  # no cached index name
            started = time.monotonic()
            first = backfill(pipeline, bucket, parallel=args.parallel)
            first_s = time.monotonic() - started
            calls.clear()
            started = time.monotonic()
            again = backfill(pipeline, bucket, parallel=args.parallel)
            again_s = time.monotonic() - started
            print(f"re-run S3 requests: {dict(sorted(calls.items()))}", flush=True)
            assert first.failed == 0, first.failures[:3]
            assert first.indexed == args.objects and again.unchanged == args.objects, (
                first, again)
            rates["again"].append(args.objects / again_s)
            return args.objects / first_s

        measured = interleave(args.rounds, {"baseline": minimal, "backfill": ours})
        n = counted[0]
        assert set(counted) == {args.objects} == {n}
        print(f"\n{n:,} objects, {args.rounds} interleaved rounds; pipeline threads "
              f"{args.threads} x parallel {args.parallel}; baseline pool {args.pool}")
        medians = {"baseline (GET pool + helpers.bulk)": measured["baseline"],
                   "helpers.bulk alone": rates["bulk"],
                   "backfill, first run": measured["backfill"],
                   "backfill, unchanged re-run": rates["again"]}
        for label, values in medians.items():
            print(f"  {label:<36} {statistics.median(values):10,.0f} objects/s (median)")
        vs_base = paired(measured["backfill"], measured["baseline"])
        vs_bulk = paired(measured["backfill"], rates["bulk"])
        print(f"  backfill / baseline                  {vs_base}")
        print(f"  backfill / helpers.bulk alone        {vs_bulk}")
        rerun = paired(rates["again"], measured["backfill"])
        print(f"  unchanged re-run / first run         {rerun} (target >= 10x: "
              f"{'met' if rerun.meets(10) else 'NOT met'})")
        return 0
    finally:
        drop(es, bucket)
        drop(es, scratch)
        with contextlib.suppress(s3.exceptions.NoSuchBucket):  # not created: nothing to remove
            remove_bucket(s3, bucket)


if __name__ == "__main__":
    sys.exit(main())
