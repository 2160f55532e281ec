"""Benchmark of Bucket.search latency (issue 6, docs/benchmarks.md). Prints ratios from one run.

The same queries, on the same index, interleaved round by round:

- ``Bucket.search`` through the direct route (t4.config(es_url=...));
- the same query body sent straight to the engine with its own client (elasticsearch-py
  or opensearch-py, `--engine` or the stack's T4_STACK_ENGINE)
  (the baseline: what any client must at least do);
- ``Bucket.search`` through the search API (SigV4-signed HTTP to the local server,
  the handler, Elasticsearch).

Prints median and p95 per route, and the ratio of each route's time to the baseline's:
the median of the per-round ratios with its spread (``bench/rounds.py``).
Target (issue 6): direct route at most 1.1x the baseline.

Usage: ./dev bench bench_search [--docs N] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402

import t4  # noqa: E402
from bench.corpus import fill as fill_corpus  # noqa: E402
from bench.rounds import interleave, spread  # noqa: E402
from infra.local import services  # noqa: E402
from infra.local.endpoints import Endpoints  # noqa: E402
from infra.local.settings import ENGINES, StackSettings  # noqa: E402
from t4index.engine import connect  # noqa: E402
from t4index.lifecycle import delete_index  # noqa: E402
from t4index.names import alias_name  # noqa: E402
from t4index.query import SearchQuery, build_search_body  # noqa: E402

QUERIES = [
    ("full text", "hammer storm", {}),
    ("metadata", None, {"meta": {"name": "thor"}}),
    ("combined", "ridge", {"meta": {"n": {"gte": 50}}, "extensions": ["txt"]}),
    ("prefix", None, {"prefix": "part-01/"}),
]


def connect_admin():
    return connect(Endpoints.resolve().engine_config())


def _baseline_body(text, kwargs) -> dict:
    q = SearchQuery(text=text, meta=kwargs.get("meta"), extensions=kwargs.get("extensions"),
                    key_prefix=kwargs.get("prefix"), highlight=True, page_size=10)
    return build_search_body(q)


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds (>= 5)")
    parser.add_argument("--engine", choices=ENGINES, default=None,
                        help="the stack's engine (default: T4_STACK_ENGINE, else elasticsearch)")
    args = parser.parse_args()
    if args.engine:
        os.environ["T4_STACK_ENGINE"] = args.engine
    ep = Endpoints.resolve()
    ep.use_local_identity()
    settings = StackSettings.from_env()
    es = connect_admin()
    bucket = f"bench-search-{uuid.uuid4().hex[:8]}"
    fill_corpus(es, bucket, args.docs)
    (access_key, caller), = services.search_api_callers(settings).items()
    api_session = boto3.Session(aws_access_key_id=access_key,
                                aws_secret_access_key=caller["secret"], region_name=ep.region)
    os.environ["T4_CONFIG_DIR"] = f"/tmp/t4-bench-config-{uuid.uuid4().hex[:6]}"
    routes = {"baseline": [], "direct": [], "api": []}
    b_direct = t4.Bucket(f"s3://{bucket}")
    b_api = t4.Bucket(f"s3://{bucket}", session=api_session)

    def direct(text, kwargs):
        os.environ.update({k: v for k, v in ep.es_env().items() if k.startswith("T4_ES_")})
        os.environ.pop("T4_SEARCH_API_URL", None)
        return b_direct.search(text, **kwargs) if text else b_direct.search(**kwargs)

    def api(text, kwargs):
        os.environ["T4_SEARCH_API_URL"] = settings.search_api_url
        return b_api.search(text, **kwargs) if text else b_api.search(**kwargs)

    # the baseline: the engine family's own client, the same body in its dialect
    raw = es.raw
    bodies = {name: es.native_body(_baseline_body(text, kwargs)) for name, text, kwargs in QUERIES}
    for name, text, kwargs in QUERIES:  # warm up every path once
        raw.search(index=alias_name(bucket), body=bodies[name])
        direct(text, kwargs)
        api(text, kwargs)
    calls = {
        "baseline": lambda name, text, kwargs: raw.search(index=alias_name(bucket),
                                                           body=bodies[name]),
        "direct": lambda name, text, kwargs: direct(text, kwargs),
        "api": lambda name, text, kwargs: api(text, kwargs),
    }

    def one_round(route: str):
        def run(_round: int) -> float:  # every query once; the round's total milliseconds
            total = 0.0
            for name, text, kwargs in QUERIES:
                ms = _timed(lambda n=name, t=text, k=kwargs: calls[route](n, t, k))
                routes[route].append(ms)
                total += ms
            return total
        return run

    per_round = interleave(args.rounds, {route: one_round(route) for route in calls})
    print(f"{es.server}: {args.docs} documents, {len(QUERIES)} queries x {args.rounds} rounds, "
          "interleaved")
    print(f"{'route':<44} {'median ms':>10} {'p95 ms':>9}   time / baseline, per round")
    client = "elasticsearch-py" if es.family == "elasticsearch" else "opensearch-py"
    labels = {"baseline": f"{client}, same body (baseline)",
              "direct": "Bucket.search, direct route",
              "api": "Bucket.search, search API (SigV4 + handler)"}
    slowdowns = {}
    for route, samples in routes.items():
        median, p95 = _stats(samples)
        # a ratio of times, ours over the baseline's (above 1: slower than the baseline)
        slowdowns[route] = spread([o / b for o, b in zip(per_round[route],
                                                         per_round["baseline"], strict=True)])
        print(f"{labels[route]:<44} {median:>10.1f} {p95:>9.1f}   {slowdowns[route]}")
    verdict = "met" if slowdowns["direct"].median <= 1.1 else "NOT met"
    print(f"target: direct route at most 1.1x the baseline's time (median): {verdict}")
    for index in list(es.alias_targets(alias_name(bucket))):
        delete_index(es, index)


if __name__ == "__main__":
    main()
