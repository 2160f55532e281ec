"""The indexer Lambda: an SQS batch of S3 events -> one bulk write -> partial batch failures.

The pipeline (clients included) is built once per container, on the first
invocation; nothing happens at import. See ``indexer.pipeline`` for the logic.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from indexer.pipeline import Message, Pipeline

logger = Logger(service="t4-indexer")
metrics = Metrics(namespace="t4-search", service="t4-indexer")
_pipeline: Pipeline | None = None


def _get_pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        from indexer.service import build_pipeline
        from indexer.settings import Settings

        _pipeline = build_pipeline(Settings.from_env())
    return _pipeline


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Index the batch; list the messages that must come back in ``batchItemFailures``."""
    messages = [Message(r["messageId"], r["body"]) for r in event.get("Records", [])]
    result = _get_pipeline().process(messages, context.get_remaining_time_in_millis)
    for message_id, reason in result.failed.items():
        logger.warning("message returns to the queue", message_id=message_id, reason=reason)
    metrics.add_metric("DocumentsWritten", MetricUnit.Count, result.written)
    metrics.add_metric("DocumentsUnchanged", MetricUnit.Count, result.unchanged)
    metrics.add_metric("MessagesFailed", MetricUnit.Count, len(result.failed))
    if result.lag_seconds is not None:
        metrics.add_metric("EventToIndexLag", MetricUnit.Milliseconds,
                           round(result.lag_seconds * 1000))
    logger.info("batch indexed", messages=len(messages), written=result.written,
                unchanged=result.unchanged, tombstoned=result.tombstoned,
                failed=len(result.failed), lag_seconds=result.lag_seconds)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in result.failed]}
