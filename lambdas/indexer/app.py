"""The indexer Lambda: an SQS batch of S3 events -> one bulk write -> partial batch failures.

The pipeline (clients included, the engine detected, the language model loaded) is
built once per container, in Lambda's INIT phase: at import, when Lambda's
``AWS_LAMBDA_INITIALIZATION_TYPE`` says the module runs in a function (the local
worker sets it too, as Lambda would). INIT runs before the first event, with the
boosted CPU Lambda gives it, and does not count against an invocation's timeout.
If it fails (the engine unreachable, a setting wrong), the error is logged and the
first invocation builds again and raises it, so every failed batch says why.
Elsewhere (tests, tools) nothing happens at import: the first invocation builds it.
See ``indexer.pipeline`` for the logic.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from indexer.backoff import delay_failed
from indexer.pipeline import Message, Pipeline

logger = Logger(service="t4-indexer")
metrics = Metrics(namespace="t4-search", service="t4-indexer")
_runtime: tuple[Pipeline, Any, Any] | None = None  # pipeline, settings, SQS client


def _get_runtime() -> tuple[Pipeline, Any, Any]:
    global _runtime
    if _runtime is None:
        import boto3

        from indexer.service import build_pipeline
        from indexer.settings import Settings

        settings = Settings.from_env()
        _runtime = (build_pipeline(settings), settings, boto3.client("sqs"))
    return _runtime


def _init_phase() -> None:
    """Build the runtime now, inside Lambda's INIT phase (not for SnapStart, whose
    snapshot would keep stale connections); a failure is left to the first invocation."""
    global _runtime
    kind = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE")
    if not kind or kind == "snap-start":
        return
    try:
        pipeline, _settings, _sqs = _get_runtime()
        logger.info("indexer ready at INIT", engine=str(pipeline.es.server))  # first contact
    except Exception:  # noqa: BLE001 - the first invocation raises it again, per batch
        logger.exception("building the indexer at INIT failed; the first invocation retries")
        _runtime = None


_init_phase()


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Index the batch; list the messages that must come back in ``batchItemFailures``."""
    pipeline, settings, sqs = _get_runtime()
    records = event.get("Records", [])
    messages = [Message(r["messageId"], r["body"]) for r in records]
    result = pipeline.process(messages, context.get_remaining_time_in_millis)
    for message_id, reason in result.failed.items():
        logger.warning("message returns to the queue", message_id=message_id, reason=reason)
    delay_failed(sqs, records, result.failed, base_s=settings.retry_base_s,
                 max_s=settings.retry_max_s)
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
