"""The synthetic corpus the search benchmarks query (``bench_search``, ``bench_load``).

``n`` documents of 60 words each over 20 folders, two keys in three ``.txt`` and one
``.md``, with user metadata ``name`` (five values) and ``n`` (0-99), written with the
engine family's own bulk helper and refreshed, so every one is searchable on return.
"""

from __future__ import annotations

from typing import Any

from t4index.document import build_document
from t4index.lifecycle import ensure_bucket_index, ensure_template
from t4index.names import alias_name, doc_id

WORDS = ["thor", "hammer", "storm", "ridge", "valley", "odin", "raven", "loki", "helmet",
         "cloak", "map", "river"]
NAMES = ["thor", "odin", "loki", "freya", "tyr"]


def fill(es: Any, bucket: str, n: int) -> None:
    """Index the corpus's ``n`` documents as ``bucket``'s (its index made if missing)."""
    ensure_template(es)
    ensure_bucket_index(es, bucket)

    def docs():
        for i in range(n):
            key = f"part-{i % 20:02d}/file-{i:05d}.{'txt' if i % 3 else 'md'}"
            text = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(60))
            yield {"_index": alias_name(bucket), "_id": doc_id(bucket, key),
                   "_source": build_document(bucket=bucket, key=key, size=len(text), text=text,
                                             user_meta={"name": NAMES[i % 5], "n": i % 100},
                                             extraction_status="ok")}

    for _ok, _item in es.streaming_bulk(docs(), chunk_size=1000, require_alias=True):
        pass
    es.refresh(alias_name(bucket))
