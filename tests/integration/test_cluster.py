"""A real three-node cluster: node loss and a rolling restart under a stream of changes.

The suite starts its own cluster of the stack's engine (``infra.local.cluster``, as
``T4_STACK_NODES=3 ./dev up`` does: Elasticsearch nodes ``es-1..3``, or OpenSearch nodes
``os-1..3`` with ``T4_STACK_ENGINE=opensearch``) on free loopback ports, so the shared
stack is never disturbed, and runs the local worker around the real pipeline, whose
client knows every node. While a stream of at least 1,000 puts, overwrites and deletes
flows through it:

- one data node is SIGKILLed and later started again; searches through both routes'
  logic (``search_page`` for the direct route, ``SearchService`` for the API) run the
  whole time over a bucket that does not change, and each either answers in full,
  says it is partial, or fails with an explicit error: never a short silent answer;
- separately, every node in turn is stopped and started again (a rolling restart).

Afterwards the index equals S3 for every key (``t4-backfill verify``: no drift), and
the dead-letter queue is empty: no acknowledged write was lost.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from indexer.pipeline import Message
from indexer.service import build_pipeline
from indexer.settings import Settings
from infra.local import cluster, procs, services
from infra.local.settings import StackSettings
from infra.local.worker import Worker, WorkerConfig
from t4index.errors import PartialResultsError
from t4index.lifecycle import ensure_bucket_index, search_page
from t4index.mapping import IndexLayout
from t4index.names import alias_name
from t4index.query import SearchQuery
from tests.support.aws import make_queue, notify_queue, queue_depth, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1500)]

NODES = 3
OPERATIONS = 1_000
STATIC = 300  # documents of the bucket the searchers read, which never changes


def _free_block(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports."""
    for _ in range(200):
        base = random.randint(30_000, 60_000 - count)
        free = True
        for port in range(base, base + count):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return base
    raise RuntimeError(f"no {count} consecutive free ports")


class Cluster:
    """The suite's own three nodes: start, stop, kill by name."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.specs = {spec.name: spec for spec in services.engine_specs(settings)}
        self.names = cluster.node_names(settings)
        self.auth = self.proxy = None
        if settings.engine == "elasticsearch":
            creds = settings.credentials()
            self.auth = (creds["username"], creds["password"])
        else:
            self.proxy = self._proxy(settings)

    @staticmethod
    def _proxy(settings: StackSettings):
        """OpenSearch: the SigV4 proxy in front of every node, as the stack runs it (the
        local OpenSearch has no security plugin), knowing the ambient AWS identity the
        client signs with. An OpenSearch Service client knows one endpoint, the domain's,
        which spreads requests over the nodes: here the proxy does."""
        from infra.local import engine_proxy

        known = settings.state_dir / "proxy-credentials.json"
        known.write_text(json.dumps({os.environ["AWS_ACCESS_KEY_ID"]: {
            "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
            "arn": "arn:aws:iam::000000000000:user/t4-cluster-test"}}))
        return engine_proxy.serve(0, cluster.node_urls(settings), known,
                                  region=settings.region)

    def spec(self, name: str):
        return self.specs[cluster.service_name(self.settings, name)]

    def start(self, *names: str) -> None:
        pids = [(self.spec(n), procs.start(self.spec(n))) for n in names]
        for spec, pid in pids:
            procs.wait_healthy(spec, pid)

    def stop(self, name: str) -> None:
        procs.stop(self.spec(name).pidfile)

    def kill(self, name: str) -> None:
        assert cluster.kill(self.spec(name).pidfile), f"{name} was not running"

    def client(self):
        """An engine client that knows every node (it fails over when one is lost), or
        on OpenSearch the proxy that does."""
        from t4index.engine import EngineConfig, connect

        if self.proxy is not None:
            return connect(EngineConfig(url=self.proxy.url, engine="opensearch",
                                        sigv4_region=self.settings.region,
                                        request_timeout=20),
                           retry_on_timeout=True, max_retries=5)
        first, *more = cluster.node_urls(self.settings)
        username, password = self.auth or (None, None)
        return connect(EngineConfig(url=first, more_urls=tuple(more), username=username,
                                    password=password, engine=self.settings.engine,
                                    request_timeout=20),
                       retry_on_timeout=True, max_retries=5)


@pytest.fixture(scope="module")
def three():
    home = Path(tempfile.mkdtemp(prefix="t4-cluster-", dir="/var/tmp"))
    base = StackSettings.from_env()
    settings = replace(base, home=home, es_port=_free_block(NODES),
                       es_transport_port=_free_block(NODES), es_nodes=NODES, es_heap="384m")
    for folder in (settings.home, settings.cache_dir, settings.state_dir, settings.log_dir,
                   settings.run_dir):
        folder.mkdir(parents=True, exist_ok=True)
    settings.home.chmod(0o755)
    nodes = Cluster(settings)
    try:
        nodes.start(*cluster.node_names(settings))
        _health(nodes.client(), wait_for_nodes=str(NODES), wait_for_status="green",
                timeout="120s")
        yield nodes
    finally:
        for name in reversed(cluster.node_names(settings)):
            procs.stop(nodes.spec(name).pidfile)
        if nodes.proxy is not None:
            nodes.proxy.shutdown()
            nodes.proxy.server_close()
        shutil.rmtree(home, ignore_errors=True)


def _health(es, **query: str) -> None:
    """Wait until the cluster's health is as ``query`` asks (``wait_for_status``,
    ``wait_for_nodes``, ``timeout``); an error when it is not by the timeout. On either
    family: opensearch-py would read ``timeout=`` as its own request timeout."""
    seconds = int(query["timeout"].removesuffix("s")) + 10
    if es.family == "opensearch":
        es.raw.cluster.health(params=query, request_timeout=seconds)
    else:
        es.raw.options(request_timeout=seconds).cluster.health(**query)


class Handler:
    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    def __call__(self, event, context):
        messages = [Message(r["messageId"], r["body"]) for r in event["Records"]]
        result = self.pipeline.process(messages, context.get_remaining_time_in_millis)
        return {"batchItemFailures": [{"itemIdentifier": m} for m in result.failed]}


class Stream:
    """Puts, overwrites and deletes over a set of keys, from a thread, until stopped or done."""

    def __init__(self, s3, bucket: str, total: int, keys: int = 250) -> None:
        self.s3, self.bucket, self.total = s3, bucket, total
        self.keys = [f"k/{i:04d}.txt" for i in range(keys)]
        self.done = 0
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rng = random.Random(7)
        try:
            for n in range(self.total):
                key = rng.choice(self.keys)
                if rng.random() < 0.25:
                    self.s3.delete_object(Bucket=self.bucket, Key=key)
                else:
                    self.s3.put_object(Bucket=self.bucket, Key=key,
                                       Body=f"version {n} of {key}".encode())
                self.done = n + 1
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)

    def reached(self, count: int) -> bool:
        assert not self.errors, self.errors
        return self.done >= count


class Searchers:
    """Both routes' search logic over a bucket that does not change, the whole time."""

    def __init__(self, es, bucket: str) -> None:
        from lambdas.search.access import Caller
        from lambdas.search.service import SearchService
        from lambdas.search.settings import Settings as ApiSettings

        self.es, self.bucket = es, bucket
        arn = "arn:aws:iam::111122223333:user/searcher"
        api_settings = ApiSettings.from_env({
            "T4_ES_URL": "http://unused", "T4_SEARCH_CURSOR_SECRET": "x" * 32,
            "T4_SEARCH_ACCESS": json.dumps({arn: ["*"]})})
        self.api = SearchService(api_settings, es)  # the API's logic, on the suite's nodes
        self.caller = Caller(arn, "111122223333", "AIDASEARCHER", "AKSEARCHER")
        self.outcomes: dict[str, int] = {}
        self.silent_short: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(route,), daemon=True)
                        for route in ("direct", "api")]

    def _note(self, what: str) -> None:
        self.outcomes[what] = self.outcomes.get(what, 0) + 1

    def _run(self, route: str) -> None:
        body = json.dumps({"buckets": [self.bucket], "page_size": 1, "allow_partial": True})
        while not self.stop.is_set():
            try:
                if route == "direct":
                    page = search_page(self.es, self.bucket, SearchQuery(page_size=1))
                    total, partial = page.total, page.partial
                else:
                    answer = self.api.search(self.caller, body)
                    total, partial = answer["total"], answer["partial"]
            except PartialResultsError:
                self._note(f"{route}: refused as partial")
                continue
            except Exception as exc:  # noqa: BLE001 - an explicit failure is an answer too
                self._note(f"{route}: error {type(exc).__name__}")
                time.sleep(0.1)
                continue
            if partial:
                self._note(f"{route}: flagged partial")
            elif total == STATIC:
                self._note(f"{route}: complete")
            else:
                self.silent_short.append(f"{route}: total {total} without a partial flag")
            time.sleep(0.02)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def _pipeline(three, s3):
    es = three.client()
    settings = Settings(es_url=cluster.node_urls(three.settings)[0], es_timeout=20,
                        layout=IndexLayout(shards=3, replicas="1"))
    return build_pipeline(settings, es=es, s3=s3)


def _run_stream(three, s3, sqs, unique_name, disturb) -> None:
    """A stream of OPERATIONS changes through the worker while ``disturb(stream)`` runs;
    then the index equals S3 and the dead-letter queue is empty."""
    from indexer.backfill.verify import verify

    bucket = unique_name("cl")
    s3.create_bucket(Bucket=bucket)
    pipeline = _pipeline(three, s3)
    url, arn, dlq = make_queue(sqs, unique_name("clq"), visibility_timeout=5,
                               max_receive_count=50)
    notify_queue(s3, bucket, arn)
    worker = Worker(sqs, Handler(pipeline), queue_urls=[url],
                    config=WorkerConfig(wait_seconds=1, function_timeout=60, concurrency=2))
    stream = Stream(s3, bucket, OPERATIONS)
    worker.start()
    try:
        stream.thread.start()
        disturb(stream)
        stream.thread.join(timeout=600)
        assert stream.reached(OPERATIONS)
        wait_for(lambda: queue_depth(sqs, url) == (0, 0), timeout=300, interval=1,
                 what="the queue to drain")
    finally:
        worker.stop()
    assert queue_depth(sqs, dlq) == (0, 0), "nothing may end in the dead-letter queue"
    _health(pipeline.es, wait_for_status="green", timeout="120s")
    report = verify(pipeline, bucket)
    assert report.listed > 0 and report.drift == 0, report.as_json()


def test_a_data_node_killed_and_restarted_loses_no_write_and_no_search_is_silently_short(
        three, s3, sqs, unique_name):
    es = three.client()
    static = unique_name("st")
    ensure_bucket_index(es, static, IndexLayout(shards=3, replicas="1"))
    from t4index.document import build_document
    from t4index.names import doc_id
    from tests.support.engine import bulk_index

    written, failed = bulk_index(es, ({"_index": alias_name(static),
                                       "_id": doc_id(static, f"s/{i}"),
                                       "_source": build_document(bucket=static, key=f"s/{i}",
                                                                 size=i)}
                                      for i in range(STATIC)), require_alias=True)
    assert (written, failed) == (STATIC, [])
    _health(es, wait_for_status="green", timeout="60s")

    def lose_a_node(stream: Stream) -> None:
        wait_for(lambda: stream.reached(OPERATIONS // 4), timeout=300, what="a quarter done")
        three.kill(three.names[1])
        wait_for(lambda: stream.reached(OPERATIONS // 2), timeout=300, what="half done")
        three.start(three.names[1])

    with Searchers(es, static) as searchers:
        _run_stream(three, s3, sqs, unique_name, lose_a_node)
    print(f"searches during the node loss: {searchers.outcomes}")
    assert searchers.silent_short == [], searchers.silent_short[:5]
    assert searchers.outcomes.get("direct: complete") and searchers.outcomes.get(
        "api: complete"), searchers.outcomes
    _health(es, wait_for_nodes=str(NODES), wait_for_status="green", timeout="120s")


def test_a_rolling_restart_of_every_node_loses_no_write(three, s3, sqs, unique_name):
    def roll(stream: Stream) -> None:
        es = three.client()
        # first contact now: detection asks node 1, which the roll stops
        assert es.family == three.settings.engine
        for i, name in enumerate(three.names):
            wait_for(lambda i=i: stream.reached(OPERATIONS * (i + 1) // 5), timeout=300,
                     what=f"the stream before restarting {name}")
            three.stop(name)
            _health(es, wait_for_status="yellow", timeout="120s")
            three.start(name)
            _health(es, wait_for_nodes=str(NODES), wait_for_status="green", timeout="180s")

    _run_stream(three, s3, sqs, unique_name, roll)
