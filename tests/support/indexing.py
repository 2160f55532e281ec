"""A pipeline wired to the real stack, for tests that drive indexing directly."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from indexer.pipeline import BatchResult, Message, Pipeline
from t4index import fields as F
from t4index.errors import EngineUnavailableError, IndexMissingError
from t4index.names import alias_name, doc_id

_ids = itertools.count()


@dataclass(frozen=True)
class TextExtraction:
    text: str
    status: str = "ok"
    error: str | None = None
    truncated: bool = False
    extractor: str = "test-text"
    extractor_version: str = "test-1"
    metadata: dict[str, Any] = field(default_factory=dict)


def text_extract(s3: Any):
    """Read the whole object as UTF-8: enough to tell versions apart in pipeline tests."""

    def extract(state, head: bytes | None = None) -> TextExtraction:
        kwargs = {"Bucket": state.bucket, "Key": state.key}
        if state.version_id:
            kwargs["VersionId"] = state.version_id
        body = s3.get_object(**kwargs)["Body"].read()
        return TextExtraction(text=body.decode("utf-8", "replace"))

    return extract


def make_pipeline(es: Any, s3: Any, **kwargs: Any) -> Pipeline:
    return Pipeline(es, s3, text_extract(s3), extractor_version="test-1", **kwargs)


def run(pipeline: Pipeline, *payloads: dict | str) -> BatchResult:
    """Process ``payloads`` as one SQS batch, with plenty of time left."""
    messages = [Message(f"m{next(_ids)}", p if isinstance(p, str) else json.dumps(p))
                for p in payloads]
    return pipeline.process(messages, remaining_ms=lambda: 600_000)


def stored(es: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The key's document as the index holds it now (None when there is none)."""
    # 503: the index exists but its shard is still starting
    try:
        docs = es.mget(alias_name(bucket), [doc_id(bucket, key)])
    except (IndexMissingError, EngineUnavailableError):
        return None
    return docs[0].get("_source") if docs and docs[0].get("found") else None


def live_view(es: Any, bucket: str) -> dict[str, str]:
    """{key: text} of the documents that are not tombstones."""
    es.refresh(alias_name(bucket))
    resp = es.search({"size": 10_000, "_source": [F.KEY, F.TEXT],
                      "query": {"bool": {"must_not": [{"term": {F.DELETED: True}}]}}},
                     alias_name(bucket))
    return {h["_source"][F.KEY]: h["_source"].get(F.TEXT, "") for h in resp["hits"]["hits"]}
