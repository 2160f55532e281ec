"""Zero-downtime reindex: a new concrete index, filled while the event path writes to both.

1. ``prepare_version`` creates ``t4-data-v<new>-<bucket>`` outside the alias: searches
   keep reading the old index through the alias.
2. Wait ``grace_s``: every ``Pipeline`` refreshes its view of the bucket's indices
   (``index_ttl_s``) and from then on mirrors each successful write to the new index
   with ``version = <seq_no in the old index> + 1, version_type=external``.
3. Copy: a point-in-time scan of the old index, bulk-written to the new one with
   the same external versions. A copy older than a mirrored write is refused (409),
   so the new index converges to the old one whatever the interleaving.
4. Verify: scan the old index's ``_seq_no`` again, compare with the new index's
   ``_version`` (``mget``, no sources) and copy what is missing or older (a mirror
   write that failed).
5. ``roll_to_new_version`` moves the alias in one atomic ``_aliases`` request.
   The old index is kept (searches holding a point in time on it go on working);
   ``delete_old`` removes it after another grace period.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from indexer import bulk
from indexer.backfill.listing import chunked
from indexer.backfill.scan import pit_scan
from t4index.lifecycle import (
    bucket_indices,
    delete_index,
    ensure_bucket_index,
    prepare_version,
    roll_to_new_version,
)
from t4index.mapping import DEFAULT_LAYOUT, IndexLayout


@dataclass
class ReindexSummary:
    """What a reindex did."""

    old_index: str
    new_index: str
    copied: int = 0
    newer_in_target: int = 0
    repaired: int = 0
    failed: int = 0
    deleted_old: bool = False


class ReindexError(RuntimeError):
    """The reindex cannot proceed (wrong version, or copies kept failing)."""


def scan(es: Any, index: str, *, source: bool = True, page_size: int = 1000,
         keep_alive: str = "5m") -> Iterator[dict[str, Any]]:
    """Every hit of ``index`` with ``_seq_no``, in ``_shard_doc`` order, via a point in time."""
    body = {"query": {"match_all": {}}, "_source": source, "seq_no_primary_term": True,
            "sort": [{"_shard_doc": "asc"}]}
    return pit_scan(es, index, body, page_size=page_size, keep_alive=keep_alive)


def _copy(es: Any, target: str, hits: list[dict[str, Any]], summary: ReindexSummary) -> int:
    actions = [bulk.mirror_action(target, h["_id"], h["_source"], h["_seq_no"]) for h in hits]
    answers = bulk.write_concrete(es, actions)
    copied = 0
    for action in actions:
        answer = answers.get((target, action["_id"]))
        if answer and answer.ok:
            copied += 1
        elif answer and answer.conflict:
            summary.newer_in_target += 1
        else:
            summary.failed += 1
    return copied


def copy_all(es: Any, old: str, new: str, summary: ReindexSummary, *, page_size: int = 1000,
             progress: Callable[[ReindexSummary], None] | None = None) -> None:
    """Step 3: every document of ``old`` into ``new`` with external versions."""
    for hits in chunked(scan(es, old, page_size=page_size), page_size):
        summary.copied += _copy(es, new, hits, summary)
        if progress:
            progress(summary)


def verify(es: Any, old: str, new: str, summary: ReindexSummary, *, page_size: int = 1000) -> int:
    """Step 4: copy the documents of ``old`` that ``new`` lacks or holds older; how many."""
    repaired = 0
    for hits in chunked(scan(es, old, source=False, page_size=page_size), page_size):
        ids = [h["_id"] for h in hits]
        found = es.mget(new, ids, source=False)
        versions = {d["_id"]: d.get("_version") for d in found if d.get("found")}
        behind = [h["_id"] for h in hits if (versions.get(h["_id"]) or 0) < h["_seq_no"] + 1]
        if not behind:
            continue
        docs = es.mget(old, behind)
        fresh = [d for d in docs if d.get("found")]
        repaired += _copy(es, new, fresh, summary)
    summary.repaired += repaired
    return repaired


def reindex(es: Any, bucket: str, new_version: int, *, grace_s: float = 90.0,
            page_size: int = 1000, delete_old: bool = False,
            progress: Callable[[ReindexSummary], None] | None = None,
            sleep: Callable[[float], None] = time.sleep,
            layout: IndexLayout = DEFAULT_LAYOUT) -> ReindexSummary:
    """Move ``bucket``'s alias to a new ``new_version`` index; searches answer throughout.

    The new index has ``layout``'s shards and replicas: a reindex is how a bucket's
    shard count changes.

    ``grace_s`` must exceed the writers' ``Pipeline.index_ttl_s`` plus the longest
    batch (the Lambda timeout), so that every writer mirrors before the copy starts.

    Raises:
        ReindexError: the bucket has no index (nothing is created), ``new_version``
            is not above the alias's current version, or
            documents could not be copied (the alias is then left where it was).
    """
    if not bucket_indices(es, bucket):
        raise ReindexError(f"bucket {bucket!r} has no index yet, so there is nothing to "
                           f"reindex; index it with: t4-backfill backfill s3://{bucket}")
    current = ensure_bucket_index(es, bucket)
    if new_version <= current.mapping_version:
        raise ReindexError(f"bucket {bucket!r} is at mapping version {current.mapping_version}; "
                           f"the new version must be higher, got {new_version}")
    target = prepare_version(es, bucket, new_version, layout)
    summary = ReindexSummary(old_index=current.write_index, new_index=target)
    sleep(grace_s)
    # The copy scans a point in time, which sees refreshed documents only: refresh first,
    # so that verify() has to repair only what was written during the copy.
    es.refresh(current.write_index)
    copy_all(es, current.write_index, target, summary, page_size=page_size, progress=progress)
    es.refresh([current.write_index, target])
    verify(es, current.write_index, target, summary, page_size=page_size)
    if summary.failed:
        raise ReindexError(f"{summary.failed} documents could not be copied to {target}; "
                           "the alias still points at the old index: run the reindex again")
    roll_to_new_version(es, bucket, new_version, layout)
    if delete_old:
        sleep(grace_s)  # writers with the old view finish their batches first
        summary.deleted_old = delete_index(es, current.write_index)
    return summary
