"""Search under load: concurrent searchers while the worker indexes flat out (issue 18).

On the local stack (``./dev bench bench_load``), for each route (``Bucket.search``
direct to the engine, and through the search API: SigV4, the local server, the
handler) and each number of searchers (``--searchers``, default 8 and 32), rounds of
three phases, in an order that rotates from round to round (``bench/rounds.py``):

- **idle**: the searchers alone, on an index nobody writes to;
- **loaded**: the same searchers while writers put new objects as fast as they can
  into a bucket whose events the stack's worker indexes (flat out: the queue never
  empties);
- **indexing alone**: the writers without searchers.

Prints search throughput, p50/p95/p99 latency and the error count of idle and loaded,
the per-round ratio loaded p95 / idle p95 (median and spread), and documents indexed
per second with searchers against without (median and spread).
Targets: zero errors; p95 under load at most 3x idle.

What shares the machine. Everything runs on the same 2 cores here, while in a
deployment the engine has its nodes, the searchers are other machines, and the
writers, S3, SQS and the indexer Lambda are AWS's. So that the figure measures
the engine searching while it indexes (the question of the issue), not CPU
starvation of the searchers' own process:

- the writers run in a process of their own (as threads of the searchers' process
  they took its interpreter lock from the searchers: client-side latency);
- the stand-ins for AWS and the indexer (the writers' process, the stack's moto
  server and worker processes) run at a lower priority (``--nice``, default 10; 0
  measures everything at the same priority) for the bench's duration: they still
  take every cycle the engine and the searchers leave, so the worker still indexes
  flat out and the engine does all of its indexing work at normal priority.
  Where Linux's autogroup scheduler is on (``kernel.sched_autogroup_enabled``, the
  default of most distributions and of these machines), the CPUs are shared among
  sessions first, and a thread's nice orders it only against its own session's
  threads: each stack service is a session of its own, so the threads' nice alone
  left moto and the worker an equal share with the engine. The priority is therefore
  also set on their sessions (``/proc/<pid>/autogroup``), and the writers' process
  starts a session of its own (else it would lower the searchers' too).

Usage: ./dev bench bench_load [--searchers 8 32] [--rounds 5] [--phase-s 8] [--docs 2000]
       [--nice 10]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

import t4  # noqa: E402
from bench.buckets import remove_bucket  # noqa: E402
from bench.corpus import WORDS  # noqa: E402
from bench.corpus import fill as fill_corpus  # noqa: E402
from bench.rounds import MIN_ROUNDS, paired, spread  # noqa: E402
from infra.local import services  # noqa: E402
from infra.local.endpoints import Endpoints  # noqa: E402
from infra.local.settings import StackSettings  # noqa: E402
from t4index.engine import connect  # noqa: E402
from t4index.lifecycle import delete_index, ensure_bucket_index  # noqa: E402
from t4index.names import alias_name  # noqa: E402

QUERIES = ["hammer storm", "ridge", "raven -loki", "valley river"]


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


class Phase:
    """What one phase measured: search latencies (ms), errors, documents indexed."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.indexed = 0
        self.seconds = 0.0

    def p(self, q: float) -> float:
        return _percentile(self.latencies, q)


def _search_loop(search: Callable[[str], object], stop: threading.Event, phase: Phase,
                 lock: threading.Lock, offset: int) -> None:
    n = offset
    while not stop.is_set():
        query = QUERIES[n % len(QUERIES)]
        n += 1
        started = time.perf_counter()
        try:
            search(query)
        except Exception as exc:  # noqa: BLE001 - counted and shown
            with lock:
                phase.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        with lock:
            phase.latencies.append((time.perf_counter() - started) * 1000)


def _put_loop(s3, bucket: str, prefix: str, stop: threading.Event, counter: list[int],
              lock: threading.Lock) -> None:
    while not stop.is_set():
        with lock:
            counter[0] += 1
            n = counter[0]
        s3.put_object(Bucket=bucket, Key=f"feed/{prefix}-{n:07d}.txt",
                      Body=" ".join(WORDS[(n + j) % len(WORDS)] for j in range(40)).encode())


def writers_process(endpoint: str, region: str, bucket: str, prefix: str, writers: int,
                    seconds: float, nice: int) -> None:
    """The writers: ``writers`` threads putting objects for ``seconds`` (a process of
    their own, at ``nice``: a session of its own, so that its autogroup's priority is
    lowered and not the searchers')."""
    with contextlib.suppress(OSError):
        os.setsid()
    os.nice(nice)
    set_session_nice(os.getpid(), nice)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                      aws_access_key_id="bench", aws_secret_access_key="bench",
                      config=Config(max_pool_connections=writers))
    stop, lock, counter = threading.Event(), threading.Lock(), [0]
    _run_for(seconds, stop, [threading.Thread(target=_put_loop, args=(s3, bucket, prefix, stop,
                                                                      counter, lock))
                             for _ in range(writers)])


def _run_for(seconds: float, stop: threading.Event, threads: list[threading.Thread]) -> None:
    """Start ``threads``, let them run ``seconds``, set ``stop`` and wait for them."""
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)


def set_session_nice(pid: int, nice: int) -> bool:
    """The nice of ``pid``'s autogroup (its session's share of the CPUs against other
    sessions); False where there is none (autogroup off, or not Linux)."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError:
        return False
    return True


def lower_priority(pids: list[int], nice: int) -> tuple[int, int]:
    """Every thread of ``pids`` and of their descendants at nice ``nice`` (Linux keeps a
    nice value per thread; threads started later inherit their creator's), and their
    sessions' autogroups too (see the module's notes). Returns how many threads and
    processes' sessions were changed."""
    changed = sessions = 0
    seen: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        sessions += set_session_nice(pid, nice)
        tasks = Path(f"/proc/{pid}/task")
        for task in tasks.glob("*") if tasks.exists() else []:
            with contextlib.suppress(OSError, ValueError):
                os.setpriority(os.PRIO_PROCESS, int(task.name), nice)
                changed += 1
            with contextlib.suppress(OSError, ValueError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return changed, sessions


def run_phase(kind: str, searchers: int, search: Callable[[str], object], ep, es,
              feed: str, seconds: float, writers: int, nice: int) -> Phase:
    """One phase: ``idle`` (searchers), ``loaded`` (searchers and writers), ``indexing``."""
    phase, lock, stop = Phase(), threading.Lock(), threading.Event()
    threads = []
    if kind in ("idle", "loaded"):
        threads += [threading.Thread(target=_search_loop, args=(search, stop, phase, lock, i))
                    for i in range(searchers)]
    feeder = None
    if kind in ("loaded", "indexing"):
        feeder = multiprocessing.get_context("spawn").Process(
            target=writers_process, args=(ep.aws_endpoint_url, ep.region, feed,
                                          uuid.uuid4().hex[:8], writers, seconds, nice))
    before = es.count(alias_name(feed)) if kind != "idle" else 0
    started = time.perf_counter()
    if feeder is not None:
        feeder.start()
    _run_for(seconds, stop, threads)
    if feeder is not None:
        feeder.join(timeout=120)
    phase.seconds = time.perf_counter() - started
    if kind != "idle":
        es.refresh(alias_name(feed))
        phase.indexed = es.count(alias_name(feed)) - before
    return phase


def _drain(sqs, queue: str, timeout: float = 300) -> None:
    """Wait until the worker has taken every event of the last phase."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        values = attrs["Attributes"]
        if int(values["ApproximateNumberOfMessages"]) + int(
                values["ApproximateNumberOfMessagesNotVisible"]) == 0:
            return
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searchers", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument("--phase-s", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--writers", type=int, default=8, help="threads putting objects")
    parser.add_argument("--docs", type=int, default=2000, help="documents searched")
    parser.add_argument("--routes", nargs="+", default=["direct", "api"])
    parser.add_argument("--nice", type=int, default=10,
                        help="priority of the writers, moto and the worker (0: the same as all)")
    args = parser.parse_args()
    ep = Endpoints.resolve()
    settings = StackSettings.from_env()
    ep.use_local_identity()
    es = connect(ep.engine_config())
    s3 = boto3.client("s3", endpoint_url=ep.aws_endpoint_url, region_name=ep.region,
                      aws_access_key_id="bench", aws_secret_access_key="bench")
    sqs = boto3.client("sqs", endpoint_url=ep.aws_endpoint_url, region_name=ep.region,
                       aws_access_key_id="bench", aws_secret_access_key="bench")
    run = uuid.uuid4().hex[:8]
    searched, feed = f"bench-load-{run}", f"bench-feed-{run}"
    fill_corpus(es, searched, args.docs)
    s3.create_bucket(Bucket=feed)
    ensure_bucket_index(es, feed)
    # The stack's worker polls queues named after its prefix: events reach it.
    queue = sqs.create_queue(QueueName=f"{settings.queue_prefix}-bench-load-{run}",
                             Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=feed, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    (access_key, caller), = services.search_api_callers(settings).items()
    api_session = boto3.Session(aws_access_key_id=access_key,
                                aws_secret_access_key=caller["secret"], region_name=ep.region)
    os.environ["T4_CONFIG_DIR"] = f"/tmp/t4-bench-config-{run}"
    targets_met = True
    stand_ins = [int(path.read_text().split()[0]) for path in
                 (settings.run_dir / "moto.pid", settings.run_dir / "worker.pid")
                 if path.exists()]
    if args.nice:
        threads, sessions = lower_priority(stand_ins, args.nice)
        print(f"moto and the worker ({threads} threads; the sessions of {sessions} processes) "
              f"and the writers at nice {args.nice}; the engine, the search API and the "
              f"searchers at 0")
    print(f"{args.docs} documents searched; {args.writers} writers; phases of "
          f"{args.phase_s:g} s; {args.rounds} rounds, order rotating")
    try:
        for route in args.routes:
            if route == "direct":
                os.environ.update({k: v for k, v in ep.es_env().items()
                                   if k.startswith("T4_ES_")})
                os.environ.pop("T4_SEARCH_API_URL", None)
                bucket = t4.Bucket(f"s3://{searched}")
            else:
                os.environ["T4_SEARCH_API_URL"] = settings.search_api_url
                bucket = t4.Bucket(f"s3://{searched}", session=api_session)
            search = bucket.search
            search(QUERIES[0])  # warm up
            for n in args.searchers:
                phases: dict[str, list[Phase]] = {"idle": [], "loaded": [], "indexing": []}
                kinds = list(phases)
                for r in range(args.rounds):
                    for kind in kinds[r % 3:] + kinds[:r % 3]:
                        phases[kind].append(run_phase(kind, n, search, ep, es, feed,
                                                      args.phase_s, args.writers, args.nice))
                        _drain(sqs, queue)  # every phase starts from an empty queue
                targets_met &= report(route, n, phases)
    finally:
        lower_priority(stand_ins, 0)
        sqs.delete_queue(QueueUrl=queue)
        for name in (searched, feed):
            for index in list(es.alias_targets(alias_name(name))):
                delete_index(es, index)
        print(f"removed the feed bucket's {remove_bucket(s3, feed):,} objects")
    print(f"\ntargets (zero errors, loaded p95 <= 3x idle): {'met' if targets_met else 'NOT met'}")
    return 0


def report(route: str, n: int, phases: dict[str, list[Phase]]) -> bool:
    print(f"\n== {route} route, {n} searchers ==")
    for kind in ("idle", "loaded"):
        latencies = [ms for phase in phases[kind] for ms in phase.latencies]
        errors = sum(len(phase.errors) for phase in phases[kind])
        rate = statistics.median(len(p.latencies) / p.seconds for p in phases[kind])
        print(f"  {kind:<7} {rate:7.0f} searches/s | p50 {_percentile(latencies, 0.5):6.1f} ms"
              f" | p95 {_percentile(latencies, 0.95):6.1f} ms | p99 "
              f"{_percentile(latencies, 0.99):6.1f} ms | errors {errors}")
        for phase in phases[kind]:
            for error in phase.errors[:2]:
                print(f"    error: {error}")
    p95 = spread([lo.p(0.95) / idle.p(0.95)
                  for lo, idle in zip(phases["loaded"], phases["idle"], strict=True)])
    rates = [p.indexed / p.seconds for p in phases["loaded"]]
    alone = [p.indexed / p.seconds for p in phases["indexing"]]
    indexing = paired(rates, alone)
    print(f"  p95 loaded / idle: {p95}")
    print(f"  indexing {statistics.median(rates):.0f} docs/s with searchers, "
          f"{statistics.median(alone):.0f} without: {indexing}")
    errors = sum(len(p.errors) for kind in ("idle", "loaded") for p in phases[kind])
    return errors == 0 and p95.median <= 3.0


if __name__ == "__main__":
    sys.exit(main())
