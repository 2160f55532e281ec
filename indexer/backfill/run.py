"""The backfill loop: source -> chunks -> compare with the index -> index (or enqueue) changes.

Chunks are processed one after the other, each with bounded concurrency inside
(``parallel`` calls of ``Pipeline.index_keys``, each with the pipeline's own
thread pool for HEAD and extraction), and the checkpoint is saved after each
chunk: an interrupted run redoes at most one chunk. Unchanged objects cost no
S3 request beyond the LIST: the comparison is one ``mget`` per chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from indexer.backfill.checkpoint import Checkpoint
from indexer.backfill.compare import changed as changed_objects
from indexer.backfill.listing import (
    Listed,
    chunked,
    list_objects,
    list_version_keys,
    prefetched,
)
from indexer.backfill.progress import Progress
from indexer.pipeline import BatchResult, Pipeline

MAX_REASONS = 1000
"""Failures kept with their reasons in the summary (the count is always exact)."""

Source = Iterator[tuple[Any, Listed]]
Sink = Callable[[list[Listed]], int]


@dataclass
class Summary:
    """What a run did. ``failures`` holds up to ``MAX_REASONS`` ``(key, reason)`` pairs."""

    objects: int = 0
    bytes: int = 0
    indexed: int = 0
    unchanged: int = 0
    tombstoned: int = 0
    failed: int = 0
    enqueued: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    resumed_from: Any = None

    def counts(self) -> dict[str, int]:
        return {"objects": self.objects, "bytes": self.bytes, "indexed": self.indexed,
                "unchanged": self.unchanged, "failed": self.failed, "enqueued": self.enqueued}


def _slices(items: list[Listed], parallel: int, minimum: int = 25) -> list[list[Listed]]:
    size = max(minimum, -(-len(items) // max(parallel, 1)))
    return list(chunked(items, size))


def _record(summary: Summary, bucket: str, result: BatchResult) -> None:
    summary.indexed += result.written - result.tombstoned
    summary.tombstoned += result.tombstoned
    summary.unchanged += result.unchanged
    summary.failed += len(result.failed)
    for ident, reason in result.failed.items():
        if len(summary.failures) < MAX_REASONS:
            summary.failures.append((ident.removeprefix(f"{bucket}/"), reason))


def backfill(pipeline: Pipeline, bucket: str, prefix: str = "", *,
             source: Callable[[Any], Source] | None = None, chunk_size: int = 1000,
             parallel: int = 4, force: bool = False, checkpoint: Checkpoint | None = None,
             progress: Callable[[Progress], None] | None = None, sink: Sink | None = None,
             totals: tuple[int, int] | None = None, page_size: int = 1000) -> Summary:
    """Index every object of ``s3://bucket/prefix`` that the index does not show yet.

    Args:
        source: ``source(resume_position)`` yields ``(position, Listed)``; the default
            lists the bucket (``list_objects``), an inventory can stand in.
        force: re-extract and rewrite every object, changed or not.
        checkpoint: where the position after each completed chunk is kept; a run
            with a saved position continues after it.
        progress: called (in the calling thread) after each compare and each slice;
            an exception it raises stops the run (the checkpoint stays usable).
        sink: instead of indexing, hand the changed objects to ``sink`` (enqueue mode);
            it returns how many messages it sent.
        totals: ``(objects, bytes)`` when known, for the ETA.

    Returns:
        The ``Summary``; one object's failure never stops the run.
    """
    start = checkpoint.load() if checkpoint else None
    if source is None:
        lister = list_version_keys if pipeline.all_versions else list_objects

        def source(position: Any) -> Source:
            return lister(pipeline.s3, bucket, prefix, start_after=position,
                          page_size=page_size)
    summary = Summary(resumed_from=start)
    state = Progress(total_objects=totals[0] if totals else None,
                     total_bytes=totals[1] if totals else None)
    index = pipeline.bucket_index(bucket).write_index
    version = pipeline.extractor_version

    def report() -> None:
        state.indexed, state.unchanged = summary.indexed, summary.unchanged
        state.failed, state.enqueued = summary.failed, summary.enqueued
        if progress:
            progress(state)

    with ThreadPoolExecutor(max_workers=max(parallel, 1)) as pool:
        for chunk in prefetched(chunked(source(start), chunk_size)):
            objects = [obj for _, obj in chunk]
            # In the all-versions mode every key goes to the pipeline, which lists its
            # versions and extracts only those the index lacks (no compare by document id).
            todo = objects if force or pipeline.all_versions else changed_objects(
                pipeline.es, index, bucket, objects, version)
            done = len(objects) - len(todo)
            summary.unchanged += done
            summary.objects += len(objects)
            summary.bytes += sum(o.size for o in objects)
            state.objects += done
            state.bytes += sum(o.size for o in objects) - sum(o.size for o in todo)
            report()
            if sink is not None and todo:
                summary.enqueued += sink(todo)
                state.objects += len(todo)
                state.bytes += sum(o.size for o in todo)
                report()
            elif todo:
                futures = {pool.submit(pipeline.index_keys, [(bucket, o.key) for o in part],
                                       force=force): part for part in _slices(todo, parallel)}
                for future in as_completed(futures):
                    part = futures[future]
                    _record(summary, bucket, future.result())
                    state.objects += len(part)
                    state.bytes += sum(o.size for o in part)
                    report()
            if checkpoint:
                checkpoint.save(chunk[-1][0], summary.counts())
    if checkpoint:
        checkpoint.save(None, summary.counts(), done=True)
    return summary
