"""``bulk.write`` reports an engine that is down (or dies mid-stream) per item; never raises."""

from __future__ import annotations

import socket

from indexer import bulk
from t4index.engine import EngineConfig, connect


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_engine_gives_every_item_a_transient_result():
    es = connect(EngineConfig(url=f"http://127.0.0.1:{_closed_port()}", request_timeout=2),
                 max_retries=0)
    actions = [{"_op_type": "index", "_index": "t4-data-x", "_id": f"id-{i}",
                "_source": {"key": str(i)}} for i in range(3)]
    results = bulk.write(es, actions)
    assert sorted(results) == ["id-0", "id-1", "id-2"]
    assert all(r.transient and not r.ok and not r.conflict for r in results.values())
    assert all("bulk" in (r.error or "") for r in results.values())
    assert bulk.write_concrete(es, actions) == {}  # unanswered: reported as missing
