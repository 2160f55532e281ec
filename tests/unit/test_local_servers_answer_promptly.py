"""The local stack's HTTP servers (the SigV4 proxy in front of OpenSearch and the search
API) answer a kept-alive connection without the 40 ms stall of Nagle's algorithm meeting
the client's delayed ACK: they write headers and body apart, and the benchmarks measured
the stall as a 4-8x slower "direct route" on OpenSearch in some runs and not in others."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from infra.local.engine_proxy import EngineProxy
from infra.local.search_api import SearchApiServer

STALL_MS = 40  # Linux's minimum delayed-ACK time


def _proxy() -> EngineProxy:
    return EngineProxy(("127.0.0.1", 0), "http://127.0.0.1:9", {}, "us-east-1")


def _search_api() -> SearchApiServer:
    return SearchApiServer(("127.0.0.1", 0), {}, "us-east-1")


@pytest.fixture(params=[_proxy, _search_api], ids=["engine-proxy", "search-api"])
def server(request) -> Iterator[tuple[str, int]]:
    make: Callable = request.param
    srv = make()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv.server_address[:2]
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_kept_alive_connection_is_answered_without_a_delayed_ack_stall(server) -> None:
    conn = http.client.HTTPConnection(*server, timeout=10)
    samples, statuses = [], set()
    for _ in range(30):
        started = time.perf_counter()
        conn.request("POST", "/search", body=b'{"query": "x"}',
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status)
    conn.close()
    assert statuses == {403}  # unsigned: refused by the server itself, no engine needed
    assert statistics.median(samples) < STALL_MS / 2, sorted(samples)
