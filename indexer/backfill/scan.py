"""A point-in-time scan: every hit of one index, page by page, in a stable order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def pit_scan(es: Any, index: str, body: dict[str, Any], *, page_size: int = 1000,
             keep_alive: str = "2m") -> Iterator[dict[str, Any]]:
    """Yield every hit of ``body`` (query, sort, source ...) over ``index``.

    The sort in ``body`` must end with a tiebreak (``_shard_doc`` here is fine: the
    point in time exists from the first page; the engine layer speaks each family's
    dialect). The point in time is closed at the end, or when the caller stops early.
    """
    pit = es.open_pit(index, keep_alive)
    after: list[Any] | None = None
    try:
        while True:
            page = {**body, "size": page_size, "track_total_hits": False,
                    "pit": {"id": pit, "keep_alive": keep_alive}}
            if after is not None:
                page["search_after"] = after
            resp = es.search(page)
            pit = resp.get("pit_id", pit)
            hits = resp["hits"]["hits"]
            yield from hits
            if len(hits) < page_size:
                return
            after = hits[-1]["sort"]
    finally:
        es.close_pit(pit)
