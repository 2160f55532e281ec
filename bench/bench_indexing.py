"""Benchmark of the indexing pipeline (issue 5, docs/benchmarks.md). Prints ratios from one run.

1. End to end, on the same N small text objects already in S3 (each run on its own
   copy of the bucket, so nothing is indexed yet): synthetic S3 events on an SQS
   queue (moto server), the stack's Lambda-faithful worker (``--processes`` processes
   with ``--concurrency`` pollers each, as ``./dev up`` runs it) around the real
   handler ``lambdas.indexer.app:handler``, until every document is searchable. Runs:

   - the deployment's defaults (``pipeline.yaml``: BatchSize 100, T4_THREADS 16; a 1 s
     batching window here); every event queued before the clock starts (docs/benchmarks.md:
     objects in S3, events queued, until searchable; the worker's processes load their
     handler (Lambda's INIT phase) and wait for a start file, and the clock starts at the
     first receive, so no process's start-up is timed);
   - BatchSize 10 with the default T4_THREADS, as the local stack's worker runs;
   - BatchSize 10 with the events sent while the worker runs (the sends counted);
   - the handler on the same batches without SQS, in this one process (what the
     pipeline itself costs, and what one process's interpreter lock allows);

   against the minimal work any indexer must do (a raw 16-thread boto3 pool GETting
   the objects, then the engine family's own bulk helper of the final documents, until
   searchable) and that bulk alone (``--engine`` or T4_STACK_ENGINE picks the engine).
   The baseline and the first two runs of ours alternate over ``--rounds`` rounds (the
   machine is shared and its speed drifts); every ratio is the median of the per-round
   ratios with its spread (``bench/rounds.py``); the other two runs are single,
   informational runs. Every route ends the same way:
   its writes done, one refresh, the count checked (a refresh forced every few
   milliseconds while documents arrive would make Elasticsearch merge tiny segments).
2. Extraction of the same text files: our fast path against Tika (plain HTTP PUTs),
   interleaved over the same rounds.
3. Peak memory (VmHWM of a fresh process) while indexing one large object
   (``--big-mb``, default 1024): target under 150 MB RSS.

Usage: ./dev bench bench_indexing [--objects N] [--big-mb MB] [--processes P]
       [--concurrency C] [--batch-size B] [--threads T]
Targets: end-to-end >= 0.7 of the minimal-work baseline; big object < 150 MB RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import urllib3  # noqa: E402

from bench.buckets import remove_bucket  # noqa: E402
from bench.rounds import MIN_ROUNDS, interleave, paired  # noqa: E402
from indexer.extract import EXTRACTOR_VERSION, Extractor, TikaClient  # noqa: E402
from indexer.service import build_pipeline  # noqa: E402
from indexer.settings import Settings  # noqa: E402
from indexer.source import FileSource  # noqa: E402
from infra.local.endpoints import Endpoints  # noqa: E402
from infra.local.settings import ENGINES  # noqa: E402
from t4index.document import build_document  # noqa: E402
from t4index.engine import connect  # noqa: E402
from t4index.errors import IndexMissingError  # noqa: E402
from t4index.lifecycle import (  # noqa: E402
    bucket_indices,
    delete_index,
    ensure_bucket_index,
    ensure_template,
)
from t4index.names import alias_name, doc_id  # noqa: E402

WORDS = ["thor", "hammer", "storm", "ridge", "valley", "odin", "raven", "loki", "helmet",
         "cloak", "map", "river", "stone", "north", "south", "east", "west", "frost", "fire"]


def _body(i: int) -> bytes:
    words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(120)]
    return (f"object {i}\n" + " ".join(words) + "\n").encode()


def _clients(ep: Endpoints):
    session = boto3.Session(region_name=ep.region, aws_access_key_id="bench",
                            aws_secret_access_key="bench")
    from botocore.config import Config

    cfg = Config(max_pool_connections=32)
    return (session.client("s3", endpoint_url=ep.aws_endpoint_url, config=cfg),
            session.client("sqs", endpoint_url=ep.aws_endpoint_url, config=cfg))


def _es(ep: Endpoints):
    return connect(ep.engine_config())


def _raw_bulk(es, docs) -> None:
    """The engine family's own ``helpers.streaming_bulk`` (elasticsearch-py or opensearch-py)."""
    for _ok, _item in es.streaming_bulk(docs, chunk_size=500, require_alias=True):
        pass


def _wait_searchable(es, bucket: str, n: int) -> None:
    """Return once ``n`` documents of ``bucket`` are searchable; every route polls alike."""
    while _count(es, bucket) < n:
        time.sleep(0.05)


def _count(es, bucket: str) -> int:
    """Searchable documents of ``bucket`` (0 before its index exists)."""
    try:
        es.refresh(alias_name(bucket))
        return es.count(alias_name(bucket))
    except IndexMissingError:
        return 0


def _fill(s3, bucket: str, n: int) -> list[str]:
    s3.create_bucket(Bucket=bucket)
    keys = [f"docs/part-{i // 100:03d}/object-{i:05d}.txt" for i in range(n)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda ik: s3.put_object(Bucket=bucket, Key=ik[1], Body=_body(ik[0]),
                                               ContentType="text/plain"), enumerate(keys)))
    return keys


@contextlib.contextmanager
def _fresh_copy(s3, bucket: str, keys: list[str], prefix: str) -> Iterator[str]:
    """The same objects under a new bucket, so that nothing of them is indexed yet;
    removed afterwards (moto keeps every object in its memory: a bench that left its
    copies made the stand-in heavier from round to round)."""
    target = f"{prefix}-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=target)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.copy_object(Bucket=target, Key=k,
                                               CopySource={"Bucket": bucket, "Key": k}), keys))
    try:
        yield target
    finally:
        remove_bucket(s3, target)


def _pipeline(ep, es, s3, threads: int = Settings.threads):
    return build_pipeline(Settings(es_url=ep.es_url, es_username=ep.es_username,
                                   es_password=ep.es_password, tika_url=ep.tika_url,
                                   threads=threads),
                          es=es, s3=s3)


def _drop(es, bucket: str) -> None:
    for index in bucket_indices(es, bucket):
        delete_index(es, index)


def _events(bucket: str, keys: list[str]) -> list[str]:
    """One S3 record per message, as S3 sends them."""
    out = []
    for key in keys:
        record = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                  "eventTime": "2024-01-01T00:00:00.000Z",
                  "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key)}}}
        out.append(json.dumps({"Records": [record]}))
    return out


def _send(sqs, queue: str, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=queue, Entries=[
            {"Id": str(j), "MessageBody": body} for j, body in enumerate(bodies[start:start + 10])])


def _depth(sqs, queue: str) -> tuple[int, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return (int(attrs["ApproximateNumberOfMessages"]),
            int(attrs["ApproximateNumberOfMessagesNotVisible"]))


def _start_worker(ep, queue: str, start_file: Path, *, processes: int,
                  concurrency: int, batch_size: int, window: float,
                  threads: int) -> subprocess.Popen:
    """The stack's worker (``python -m infra.local.worker``) around the real Lambda handler;
    its processes poll once ``start_file`` exists."""
    # the stack's local identity (in es_env) where its engine verifies SigV4 (OpenSearch
    # behind its proxy): the worker signs its engine requests with these credentials
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           **ep.es_env(), "T4_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "infra.local.worker", "--queue-prefix", "", "--queue-url", queue,
            "--processes", str(processes), "--concurrency", str(concurrency),
            "--batch-size", str(batch_size), "--batching-window", str(window),
            "--start-file", str(start_file)]
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


class _WorkerLog:
    """Reads the worker's log (every process writes to it) on a thread of its own:
    ``ready`` once every process has loaded its handler, ``done`` once ``target``
    messages are deleted (finished batches), at no cost to the servers under test."""

    def __init__(self, worker: subprocess.Popen, processes: int, target: int) -> None:
        self.ready, self.done = threading.Event(), threading.Event()
        self._worker, self._processes, self._target = worker, processes, target
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        ready = deleted = problems = 0
        assert self._worker.stdout is not None
        for line in self._worker.stdout:
            found = DELETED.search(line)
            if found:
                deleted += int(found.group(1))
                if deleted >= self._target:
                    self.done.set()
            elif READY.search(line):
                ready += 1
                if ready >= self._processes:
                    self.ready.set()
            elif PROBLEM.search(line):
                problems += 1
                if problems <= 10:
                    print(f"  worker: {line.rstrip()[:300]}", file=sys.stderr, flush=True)
        if problems > 10:
            print(f"  worker: {problems - 10} more warnings", file=sys.stderr, flush=True)

    def wait(self, event: threading.Event) -> None:
        """Return once ``event`` is set; exit if the worker died first."""
        while not event.wait(0.05):
            if self._worker.poll() is not None:
                raise SystemExit(f"the worker exited with {self._worker.returncode}")


DELETED = re.compile(r" batch=\d+ deleted=(\d+) ")
READY = re.compile(r" worker ready; polling once ")
PROBLEM = re.compile(r" (WARNING|ERROR|CRITICAL) |^Traceback|returns to the queue")


def end_to_end(ep, s3, sqs, bucket, keys, *, processes: int, concurrency: int,
               queued_first: bool, batch_size: int = 10, window: float = 0.0,
               threads: int = Settings.threads) -> float:
    """Documents per second from events on SQS to searchable documents.

    The stack's worker runs as it does in the stack: ``processes`` worker processes with
    ``concurrency`` pollers each, around ``lambdas.indexer.app:handler`` (Lambda runs each
    concurrent invocation in its own environment).

    ``queued_first``: every event is on the queue before the worker starts (docs/benchmarks.md:
    objects in S3, events queued, until searchable), as after a burst of uploads; the
    clock starts when the first batch is received. Either way every process has run its
    INIT phase before any polls (``--start-file``): the first process to be ready used to
    index alone while the other was still importing, its start-up inside the timed window.
    Otherwise the worker is started and idle first, and a feeder sends the events while
    it runs, as fast as it can: the clock includes the sends (S3's work in production,
    moto's CPU here).
    """
    es = _es(ep)
    queue = sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}",
                             Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
    bodies = _events(bucket, keys)
    ensure_bucket_index(es, bucket)  # as for the minimal work: the index exists already
    folder = Path(tempfile.mkdtemp(prefix="t4-bench-"))
    options = dict(processes=processes, concurrency=concurrency, batch_size=batch_size,
                   window=window, threads=threads)
    worker = None
    try:
        if queued_first:
            _send(sqs, queue, bodies)
        worker = _start_worker(ep, queue, folder / "start", **options)
        log = _WorkerLog(worker, processes, len(keys))
        log.wait(log.ready)  # every process has run its INIT phase: start-up is not timed
        (folder / "start").touch()
        if queued_first:
            while _depth(sqs, queue)[1] == 0:  # nothing in flight yet
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited with {worker.returncode}")
                time.sleep(0.01)
            started = time.monotonic()
        else:
            time.sleep(0.5)  # every process polling its queue
            started = time.monotonic()
            _send(sqs, queue, bodies)
        # A deleted message is a handled one: wait for all, then refresh once (a refresh
        # every few milliseconds while documents arrive would make Elasticsearch merge
        # tiny segments, a cost no route pays in production).
        log.wait(log.done)
        _wait_searchable(es, bucket, len(keys))
        elapsed = time.monotonic() - started
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
    sqs.delete_queue(QueueUrl=queue)
    _drop(es, bucket)
    return len(keys) / elapsed


def handler_only(ep, s3, bucket, keys, concurrency) -> float:
    """The handler's work on the same events in batches of 10, ``concurrency`` at a time,
    without SQS: what the pipeline costs beyond the queue."""
    from concurrent.futures import ThreadPoolExecutor as Pool

    from indexer.pipeline import Message

    es = _es(ep)
    pipeline = _pipeline(ep, es, s3)

    bodies = _events(bucket, keys)

    def batch(start: int) -> None:
        messages = [Message(str(j), body) for j, body in enumerate(bodies[start:start + 10])]
        assert not pipeline.process(messages, lambda: 600_000).failed

    ensure_bucket_index(es, bucket)
    started = time.monotonic()
    with Pool(concurrency) as pool:
        list(pool.map(batch, range(0, len(keys), 10)))
    _wait_searchable(es, bucket, len(keys))
    rate = len(keys) / (time.monotonic() - started)
    _drop(es, bucket)
    return rate


def _docs_for(bucket, keys, bodies):
    for key, body in zip(keys, bodies, strict=True):
        yield {"_index": alias_name(bucket), "_id": doc_id(bucket, key),
               "_source": build_document(bucket=bucket, key=key, size=len(body),
                                         text=body.decode(), extraction_status="ok",
                                         extractor="text", extractor_version=EXTRACTOR_VERSION)}


def minimal_work(ep, s3, src_bucket, keys) -> tuple[float, float, list[bytes]]:
    es = _es(ep)
    target = f"bench-min-{uuid.uuid4().hex[:8]}"
    ensure_bucket_index(es, target)
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        bodies = list(pool.map(
            lambda k: s3.get_object(Bucket=src_bucket, Key=k)["Body"].read(), keys))
    _raw_bulk(es, _docs_for(target, keys, bodies))
    _wait_searchable(es, target, len(keys))
    minimal = len(keys) / (time.monotonic() - started)
    _drop(es, target)

    target = f"bench-bulk-{uuid.uuid4().hex[:8]}"
    ensure_bucket_index(es, target)
    docs = list(_docs_for(target, keys, bodies))
    started = time.monotonic()
    _raw_bulk(es, docs)
    _wait_searchable(es, target, len(keys))
    bulk_only = len(keys) / (time.monotonic() - started)
    _drop(es, target)
    return minimal, bulk_only, bodies


def extraction_rounds(ep, bodies: list[bytes], rounds: int) -> dict[str, list[float]]:
    """Files/s of our fast path and of plain PUTs to Tika, interleaved round by round."""
    sample = bodies[:300]
    extractor = Extractor(TikaClient(ep.tika_url))
    pool = urllib3.PoolManager()

    def fast(_round: int) -> float:
        started = time.monotonic()
        for i, body in enumerate(sample):
            extractor.extract(FileSource.from_bytes(body, f"f{i}.txt",
                                                    content_type="text/plain"))
        return len(sample) / (time.monotonic() - started)

    def tika(_round: int) -> float:
        started = time.monotonic()
        for body in sample:
            pool.request("PUT", f"{ep.tika_url}/tika", body=body,
                         headers={"Accept": "text/plain", "Content-Type": "text/plain"})
        return len(sample) / (time.monotonic() - started)

    return interleave(rounds, {"fast": fast, "tika": tika})


BIG_CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from indexer.service import build_pipeline
from indexer.settings import Settings
from infra.local.endpoints import Endpoints
ep = Endpoints.resolve()
import boto3
s3 = boto3.client("s3", endpoint_url=ep.aws_endpoint_url, region_name=ep.region,
                  aws_access_key_id="bench", aws_secret_access_key="bench")
p = build_pipeline(Settings.from_env(ep.es_env()), s3=s3)  # the engine's auth, SigV4 included
before = int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1])
started = time.monotonic()
r = p.index_keys([({bucket!r}, {key!r})])
hwm = int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1])
print(json.dumps({{"failed": r.failed, "written": r.written, "before_kb": before,
                  "peak_kb": hwm, "seconds": time.monotonic() - started}}))
"""


def big_object(ep, s3, bucket: str, megabytes: int) -> dict:
    key = "big/huge-log.txt"
    chunk = (b"thor hammer storm " * 4096)[:65536]

    class Stream:
        def __init__(self, total):
            self.left = total

        def read(self, n=-1):
            n = min(self.left, 1 << 20 if n is None or n < 0 else n)
            self.left -= n
            return (chunk * (n // len(chunk) + 1))[:n]

    from boto3.s3.transfer import TransferConfig

    s3.upload_fileobj(Stream(megabytes << 20), bucket, key,
                      Config=TransferConfig(multipart_chunksize=64 << 20, max_concurrency=4))
    code = BIG_CHILD.format(root=str(Path(__file__).resolve().parents[1]), bucket=bucket,
                            key=key)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "AWS_ENDPOINT_URL": ep.aws_endpoint_url or ""})
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--big-mb", type=int, default=1024, help="0 skips the big object")
    parser.add_argument("--processes", type=int, default=2,
                        help="worker processes, as the stack runs them")
    parser.add_argument("--concurrency", type=int, default=2, help="pollers per worker process")
    parser.add_argument("--batch-size", type=int, default=100,
                        help="BatchSize of the main run (pipeline.yaml's default; window 1 s)")
    parser.add_argument("--threads", type=int, default=16,
                        help="T4_THREADS of the main run (pipeline.yaml's default)")
    parser.add_argument("--engine", choices=ENGINES, default=None,
                        help="the stack's engine (default: T4_STACK_ENGINE, else elasticsearch)")
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS,
                        help=f"interleaved rounds of ours and the baseline (>= {MIN_ROUNDS})")
    args = parser.parse_args()
    if args.engine:
        os.environ["T4_STACK_ENGINE"] = args.engine
    ep = Endpoints.resolve()
    ep.use_local_identity()
    s3, sqs = _clients(ep)
    es = _es(ep)
    ensure_template(es)
    bucket = f"bench-idx-{uuid.uuid4().hex[:8]}"
    print(f"putting {args.objects} objects into s3://{bucket} ...", flush=True)
    keys = _fill(s3, bucket, args.objects)
    worker = dict(processes=args.processes, concurrency=args.concurrency)
    bulk_alone: list[float] = []
    bodies: list[bytes] = []

    def minimal(_round: int) -> float:
        rate, bulk_only, got = minimal_work(ep, s3, bucket, keys)
        bulk_alone.append(bulk_only)
        bodies[:] = got
        return rate

    def ours(_round: int) -> float:  # pipeline.yaml's defaults, on a fresh copy each round
        with _fresh_copy(s3, bucket, keys, "bench-e2e") as copy:
            return end_to_end(ep, s3, sqs, copy, keys, queued_first=True,
                              batch_size=args.batch_size,
                              window=1.0 if args.batch_size > 10 else 0.0,
                              threads=args.threads, **worker)

    def tens(_round: int) -> float:  # the local stack's worker settings
        with _fresh_copy(s3, bucket, keys, "bench-ten") as copy:
            return end_to_end(ep, s3, sqs, copy, keys, queued_first=True, **worker)

    rounds = interleave(args.rounds, {"minimal": minimal, "ours": ours, "tens": tens})
    # Informational, one run each: the sends counted, and the handler without SQS.
    with _fresh_copy(s3, bucket, keys, "bench-fed") as copy:
        fed = end_to_end(ep, s3, sqs, copy, keys, queued_first=False, **worker)
    at_once = args.processes * args.concurrency
    with _fresh_copy(s3, bucket, keys, "bench-direct") as copy:
        direct = handler_only(ep, s3, copy, keys, at_once)
    median_minimal = statistics.median(rounds["minimal"])
    print(f"\nengine: {es.server}")
    print(f"\nend to end ({args.objects} objects, {args.rounds} interleaved rounds; the "
          f"worker: {args.processes} processes x {args.concurrency} pollers):")
    rows = [(f"ours, BatchSize {args.batch_size} and T4_THREADS {args.threads} "
             "(pipeline.yaml's defaults)", statistics.median(rounds["ours"])),
            (f"ours, BatchSize 10 and T4_THREADS {Settings.threads} (the local stack's worker)",
             statistics.median(rounds["tens"])),
            ("ours, BatchSize 10, events sent while the worker runs (one run)", fed),
            (f"the handler alone, no queue: {at_once} batches of 10 at once, one process "
             "(one run)", direct),
            ("minimal work: 16-thread GET pool + helpers.bulk", median_minimal),
            ("helpers.bulk alone", statistics.median(bulk_alone))]
    for label, rate in rows:
        print(f"  {label:<80} {rate:8.0f} docs/s")
    main_ratio = paired(rounds["ours"], rounds["minimal"])
    print(f"  ratio ours (BatchSize {args.batch_size}) / minimal work: {main_ratio}   "
          f"(target >= 0.7: {'met' if main_ratio.meets(0.7) else 'NOT met'})")
    tens_ratio = paired(rounds["tens"], rounds["minimal"])
    print(f"  ratio ours (BatchSize 10) / minimal work: {tens_ratio}")
    print(f"  ratio ours with the sends / minimal work (one run): {fed / median_minimal:.2f}")
    print(f"  ratio the handler alone / minimal work (one run): {direct / median_minimal:.2f}")
    print(f"  ratio ours (BatchSize {args.batch_size}) / bulk alone: "
          f"{paired(rounds['ours'], bulk_alone)}")
    speeds = extraction_rounds(ep, bodies, args.rounds)
    print("\nextraction of the same text files (sequential):")
    print(f"  fast path: {statistics.median(speeds['fast']):8.0f} files/s   Tika PUT /tika: "
          f"{statistics.median(speeds['tika']):8.0f} files/s   "
          f"ratio {paired(speeds['fast'], speeds['tika'])}")
    if args.big_mb:
        big = big_object(ep, s3, bucket, args.big_mb)
        print(f"\nindexing one {args.big_mb} MB object: peak RSS {big['peak_kb'] / 1024:.0f} MB "
              f"(process baseline {big['before_kb'] / 1024:.0f} MB), {big['seconds']:.1f} s, "
              f"written={big['written']} failed={big['failed']}   (target < 150 MB)")
    _drop(es, bucket)
    remove_bucket(s3, bucket)


if __name__ == "__main__":
    main()
