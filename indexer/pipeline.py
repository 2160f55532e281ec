"""A batch of SQS messages -> the index, correct under retries, disorder and races.

For each key named by the batch's events:

1. read the stored document and its concurrency token (``_seq_no``/``_primary_term``);
2. read the key's state from S3 now (never trust the event's name: events repeat
   and arrive out of order, and moto's carry no sequencer);
3. decide: nothing to do (the index already shows this state, by the one rule of
   ``indexer.freshness``), a tombstone (the key is gone: kept as ``deleted`` so
   that a racing stale writer fails its conditional write instead of resurrecting
   the object), or a new document (extraction runs only then). What "the key's
   documents" are is the mode's business (``indexer.modes``: the latest state, or
   every version);
4. write the decisions in bulk steps as they finish, each conditional on the token
   of step 1; a conflict means another writer moved first: that key starts again
   from step 1.

A round is three steps, one method each: ``_read_current``, ``_decide_and_write``
(decisions on a thread pool, each object within its deadline: ``indexer.budget``)
and ``_write`` (one bulk request, answers mapped back to keys). A message fails
(and returns to its queue) when one of its keys met a transient error, or when
the Lambda's time ran out before its keys were done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from indexer import budget, bulk, freshness
from indexer.errors import TransientError
from indexer.events import EventParseError, ObjectEvent, parse_body, sequencer_newer
from indexer.modes import AllVersions, LatestOnly, Mode
from indexer.state import ObjectState
from indexer.work import KeyWork, RetryLater
from t4index import fields as F
from t4index import outcomes
from t4index.document import build_document
from t4index.lifecycle import BucketIndex, bucket_indices, ensure_bucket_index, ensure_template
from t4index.mapping import DEFAULT_LAYOUT, IndexLayout
from t4index.names import doc_id

log = logging.getLogger("t4.indexer")

MIN_OBJECT_MS = 1_000
"""An object is started only with at least this much time left before the safety margin."""

RESTORED, EXPIRED = "restored", "expired"
DESCRIBED_FIELDS = (F.TAGS, F.TAGS_KV, F.META_TEXT, F.STORAGE_CLASS, F.RESTORE,
                    F.SOURCE_DIGEST, F.OBSERVED_AT, F.INDEXED_AT)
"""What a change of tags, storage class or restore state rewrites (``meta_text`` holds the
tags' words too); every other field, the extracted text first, is kept."""



class ExtractionLike(Protocol):
    text: str
    status: str
    error: str | None
    truncated: bool
    extractor: str
    extractor_version: str
    metadata: dict[str, Any]


Extract = Callable[[ObjectState, bytes | None], ExtractionLike]
"""``extract(state, head)``: ``head`` is the object's first bytes when already read."""


@dataclass(frozen=True)
class Message:
    message_id: str
    body: str


@dataclass
class BatchResult:
    failed: dict[str, str] = field(default_factory=dict)  # message id -> reason
    written: int = 0
    unchanged: int = 0
    tombstoned: int = 0
    lag_seconds: float | None = None  # the oldest event written: event time -> indexed


def _group(events_by_message: dict[str, list[ObjectEvent]]) -> dict[tuple[str, str], KeyWork]:
    keys: dict[tuple[str, str], KeyWork] = {}
    for message_id, events in events_by_message.items():
        for event in events:
            entry = keys.setdefault((event.bucket, event.key), KeyWork(event.bucket, event.key))
            entry.messages.add(message_id)
            if entry.sequencer is None or sequencer_newer(event.sequencer, entry.sequencer):
                entry.sequencer = event.sequencer or entry.sequencer
            if event.event_time and (entry.event_time is None
                                     or event.event_time < entry.event_time):
                entry.event_time = event.event_time
    return keys


TIMEOUT_PENDING = "timed out once, retrying"
"""How a document records a first Tika timeout (retryable) before it can be final."""


def _timed_out_before(current: bulk.Current | None, common: dict[str, Any]) -> bool:
    """Whether the stored document records a first timeout of this very object."""
    stored = current.source if current is not None else None
    return (stored is not None and not stored.get(F.DELETED)
            and stored.get(F.SOURCE_DIGEST) == common["source_digest"]
            and stored.get(F.EXTRACTION_STATUS) == outcomes.UNAVAILABLE
            and str(stored.get(F.EXTRACTION_ERROR) or "").startswith(TIMEOUT_PENDING))


class Pipeline:
    """Indexes batches of S3 event messages. Clients are injected; build once per container."""

    def __init__(self, es: Any, s3: Any, extract: Extract, *, extractor_version: str,
                 threads: int = 8, max_attempts: int = 5, safety_margin_ms: int = 5_000,
                 before_write: Callable[[], None] | None = None,
                 index_ttl_s: float = 30.0, all_versions: bool = False,
                 write_every: int = 100, write_interval_s: float = 5.0,
                 layout: IndexLayout = DEFAULT_LAYOUT) -> None:
        """``before_write`` runs just before each bulk write (a seam for race tests).

        ``index_ttl_s``: how long the bucket's alias target and reindex targets are
        cached; a reindex waits longer than this before it copies (``indexer.backfill``).
        ``all_versions``: one document per version and delete marker (``indexer.versions``)
        instead of one per key showing its current state.
        ``safety_margin_ms``: time kept back at the end of an invocation for the last
        bulk write; each object gets the remaining time less this as its deadline
        (``indexer.budget``), and no object starts with less than ``MIN_OBJECT_MS``.
        ``write_every``/``write_interval_s``: finished decisions are written in steps of
        this many keys, or after this many seconds, whichever comes first (a batch of
        ``pipeline.yaml``'s BatchSize 100 in one bulk request: a request costs the
        engine ~2 ms of CPU before its documents, measured on the local Elasticsearch
        as 2.2 ms for a 1-document bulk and 5-6 ms for 50; the seconds bound what an
        invocation killed mid-batch loses).
        ``layout``: shards and replicas of the bucket indices this pipeline creates.
        """
        self.write_every, self.write_interval_s = write_every, write_interval_s
        self.mode: Mode = AllVersions() if all_versions else LatestOnly()
        self.layout = layout
        self.es, self.s3, self.extract = es, s3, extract
        self.before_write = before_write
        self.extractor_version = extractor_version
        self.threads, self.max_attempts = threads, max_attempts
        self.safety_margin_ms = safety_margin_ms
        self.index_ttl_s = index_ttl_s
        self._indices: dict[str, tuple[BucketIndex, list[str], float]] = {}
        self._template_ready = False

    # -- set-up ------------------------------------------------------------
    def bucket_index(self, bucket: str) -> BucketIndex:
        """The bucket's alias and write index (cached for ``index_ttl_s``)."""
        cached = self._indices.get(bucket)
        if cached is None or time.monotonic() - cached[2] > self.index_ttl_s:
            if not self._template_ready:
                ensure_template(self.es, self.layout)
                self._template_ready = True
            index = ensure_bucket_index(self.es, bucket, self.layout)
            # a reindex in progress: indices of a newer mapping version receive every write too
            mirrors = sorted(name for name, version in bucket_indices(self.es, bucket).items()
                             if version > index.mapping_version)
            cached = self._indices[bucket] = (index, mirrors, time.monotonic())
        return cached[0]

    def mirror_indices(self, bucket: str) -> list[str]:
        """Indices being filled by a reindex of ``bucket``, written to after the alias."""
        self.bucket_index(bucket)
        return self._indices[bucket][1]

    # -- one key -------------------------------------------------------------
    @property
    def all_versions(self) -> bool:
        """Whether the index holds every version (``indexer.modes``)."""
        return self.mode.all_versions

    @staticmethod
    def _common(state: ObjectState, entry: KeyWork, is_latest: bool = True,
                restore: str | None = None) -> dict[str, Any]:
        """The fields of ``state``'s document that come from S3 (all but the extraction)."""
        helium = state.helium
        amz = {k: v for k, v in state.metadata.items() if k != "helium"}
        return dict(
            bucket=state.bucket, key=state.key, version_id=state.version_id, size=state.size,
            etag=state.etag, last_modified=state.last_modified, content_type=state.content_type,
            user_meta=helium.value.get("user_meta"), amz_meta=amz, sequencer=entry.sequencer,
            is_latest=is_latest, meta_status=helium.status, meta_error=helium.problem,
            meta_raw=helium.raw if helium.status == "unreadable" else None,
            source_digest=freshness.source_digest(state), observed_at=state.observed_at,
            tags=state.tags, storage_class=freshness.storage_class(state),
            restore=restore or state.restore,
        )

    def described_document(self, alias: str, state: ObjectState, entry: KeyWork,
                           current: bulk.Current) -> dict[str, Any] | None:
        """The stored document with new tags, storage class and restore state, when only
        those changed (``freshness.described_only``): the extraction is kept, none runs.

        The whole stored document is read and written back (conditionally on
        ``current``'s token): a partial update would merge the old tags into the new.

        Returns:
            The document, or None when the stored one is gone (extract instead).
        """
        found = bulk.read_current(self.es, alias, [current.doc_id], None).get(current.doc_id)
        if found is None or found.source is None:
            return None
        stored = found.source
        expired = (state.archived and state.restore is None
                   and stored.get(F.RESTORE) in (RESTORED, EXPIRED))
        fresh = build_document(**self._common(state, entry, stored.get(F.IS_LATEST, True),
                                              restore=EXPIRED if expired else None))
        doc = {**stored, **{name: fresh.get(name) for name in DESCRIBED_FIELDS}}
        return {name: value for name, value in doc.items() if value is not None}

    def document(self, state: ObjectState, entry: KeyWork, is_latest: bool = True,
                  head: bytes | None = None, current: bulk.Current | None = None
                  ) -> dict[str, Any]:
        """The document of ``state``; ``current`` is the stored one, if any.

        Raises:
            RetryLater: extraction met a retryable failure (carries the document to
                write meanwhile, as a bare document, not an action).
        """
        if not state.exists:
            return build_document(bucket=entry.bucket, key=entry.key, deleted=True,
                                  sequencer=entry.sequencer, is_latest=True)
        common = self._common(state, entry, is_latest)
        if state.unreadable:
            return build_document(**common, extraction_status=outcomes.UNREADABLE,
                                  extraction_error=state.unreadable)
        try:
            extraction = self.extract(state, head)
        except TransientError as exc:
            # Tika or S3 down, overloaded or hung: not a property of the file. The message
            # comes back; meanwhile the document records a retryable outcome (``verify``
            # counts it, ``backfill``/``repair`` pick it up) unless it already shows this
            # very object, whose text is better kept than replaced by none.
            stored = current.source if current is not None else None
            if stored is not None and not stored.get(F.DELETED) and \
                    stored.get(F.SOURCE_DIGEST) == common["source_digest"]:
                raise RetryLater(str(exc), []) from exc
            doc = build_document(**common, extraction_status=outcomes.UNAVAILABLE,
                                 extraction_error=f"retry pending: {exc}")
            raise RetryLater(str(exc), [doc]) from exc
        if extraction.status == outcomes.TIMEOUT and not _timed_out_before(current, common):
            # Tika can answer a tiny parse while still draining a backlog (just resumed
            # from a stall): a file's timeout is final only on a second delivery.
            doc = build_document(**common, extraction_status=outcomes.UNAVAILABLE,
                                 extraction_error=f"{TIMEOUT_PENDING}: {extraction.error}")
            raise RetryLater(f"Tika timed out on this file once: {extraction.error}", [doc])
        return build_document(
            **common, text=extraction.text, extraction_status=extraction.status,
            extraction_error=extraction.error, extraction_truncated=extraction.truncated,
            extractor=extraction.extractor, extractor_version=extraction.extractor_version,
            doc_meta=extraction.metadata,
        )

    def _decide(self, entry: KeyWork, current: bulk.Current | None) -> list[dict[str, Any]]:
        """The conditional bulk actions that bring the key's documents to S3's state."""
        return self.mode.decide(self, entry, current)

    def _try_decide(self, ident: str, entry: KeyWork, current: bulk.Current | None,
                    remaining_ms: Callable[[], int]) -> tuple[str, KeyWork, Any]:
        budget_ms = remaining_ms() - self.safety_margin_ms
        if budget_ms < MIN_OBJECT_MS:
            return ident, entry, TimeoutError("the invocation's time is nearly up")
        try:
            with budget.object_deadline(budget_ms / 1000):
                return ident, entry, self._decide(entry, current)
        except Exception as exc:  # noqa: BLE001 - reported per key
            return ident, entry, exc

    # -- the batch -------------------------------------------------------------
    def process(self, messages: list[Message], remaining_ms: Callable[[], int]) -> BatchResult:
        """Index what ``messages`` announce; the ids of those that must come back, with reasons.

        Never raises for one bad message or key: its message is reported as failed.
        """
        result = BatchResult()
        events: dict[str, list[ObjectEvent]] = {}
        for message in messages:
            try:
                events[message.message_id] = parse_body(message.body)
            except EventParseError as exc:
                log.error("message %s is not an S3 event: %s", message.message_id, exc)
                result.failed[message.message_id] = f"unparseable: {exc}"
        self._index(_group(events), remaining_ms, result)
        return result

    def index_keys(self, keys: list[tuple[str, str]],
                   remaining_ms: Callable[[], int] = lambda: 2**31, *,
                   force: bool = False) -> BatchResult:
        """Bring the documents of ``(bucket, key)`` pairs to S3's current state (backfill, repair).

        ``force`` re-extracts and rewrites existing objects even when the stored document
        already shows their state. Failures are reported under the id ``"<bucket>/<key>"``.
        """
        result = BatchResult()
        pending = {(b, k): KeyWork(b, k, {f"{b}/{k}"}, force=force) for b, k in keys}
        self._index(pending, remaining_ms, result)
        return result

    def _index(self, pending: dict[tuple[str, str], KeyWork], remaining_ms: Callable[[], int],
               result: BatchResult) -> None:
        for attempt in range(1, self.max_attempts + 1):
            if not pending:
                break
            conflicts = self._round(pending, remaining_ms, result)
            pending = conflicts
            if pending:
                log.info("attempt %d: %d keys changed concurrently, reading again",
                         attempt, len(pending))
        for entry in pending.values():
            self._fail(entry, "still conflicting after retries", result)

    def _fail(self, entry: KeyWork, reason: str, result: BatchResult) -> None:
        for message_id in entry.messages:
            result.failed.setdefault(message_id, f"s3://{entry.bucket}/{entry.key}: {reason}")

    def _round(self, pending: dict[tuple[str, str], KeyWork], remaining_ms: Callable[[], int],
               result: BatchResult) -> dict[tuple[str, str], KeyWork]:
        """Decide every pending key and write the decisions in steps; the keys that met a
        conflicting writer (to decide again)."""
        by_bucket: dict[str, list[KeyWork]] = {}
        for entry in pending.values():
            by_bucket.setdefault(entry.bucket, []).append(entry)
        conflicts: dict[tuple[str, str], KeyWork] = {}
        for bucket, entries in by_bucket.items():
            current = self._read_current(bucket, entries, result)
            if current is not None:
                self._decide_and_write(entries, current, remaining_ms, result, conflicts)
        return conflicts

    def _read_current(self, bucket: str, entries: list[KeyWork], result: BatchResult
                      ) -> dict[str, tuple[KeyWork, bulk.Current | None]] | None:
        """``{doc id: (key, stored document)}``; None (keys failed) when the engine is down."""
        try:
            # Read through the alias, which names exactly one index at any time: after
            # a reindex's swap, tokens come from the index the writes now go to.
            index = self.bucket_index(bucket).alias
            id_map = {doc_id(bucket, e.key): e for e in entries}
            stored = self.mode.stored(self, index, list(id_map))
        except Exception as exc:  # noqa: BLE001 - Elasticsearch unreachable: all retry
            for entry in entries:
                self._fail(entry, f"Elasticsearch unavailable: {exc}", result)
            return None
        return {ident: (entry, stored[ident]) for ident, entry in id_map.items()}

    def _decide_and_write(self, entries: list[KeyWork],
                          current: dict[str, tuple[KeyWork, bulk.Current | None]],
                          remaining_ms: Callable[[], int], result: BatchResult,
                          conflicts: dict[tuple[str, str], KeyWork]) -> None:
        """Decide the keys on the thread pool; write finished decisions in steps.

        A step is written every ``write_every`` decided keys or ``write_interval_s``
        seconds, so that a batch whose time runs out keeps everything it finished:
        keys still undecided then are reported as failures (their messages come back).
        """
        actions: list[tuple[KeyWork, dict[str, Any]]] = []
        last_write = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            futures = [pool.submit(self._try_decide, ident, entry, stored, remaining_ms)
                       for ident, (entry, stored) in current.items()]
            for future in as_completed(futures):
                _ident, entry, outcome = future.result()
                if isinstance(outcome, RetryLater):
                    self._fail(entry, f"retry later: {outcome}", result)
                    actions += [(entry, action) for action in outcome.actions]
                elif isinstance(outcome, BaseException):
                    if not isinstance(outcome, TransientError | TimeoutError):
                        log.exception("s3://%s/%s failed", entry.bucket, entry.key,
                                      exc_info=outcome)
                    self._fail(entry, f"{type(outcome).__name__}: {outcome}", result)
                elif not outcome:
                    result.unchanged += 1
                else:
                    actions += [(entry, action) for action in outcome]
                if actions and (len(actions) >= self.write_every
                                or time.monotonic() - last_write >= self.write_interval_s):
                    self._write(actions, result, conflicts)
                    actions, last_write = [], time.monotonic()
        if actions:
            self._write(actions, result, conflicts)

    def _write(self, actions: list[tuple[KeyWork, dict[str, Any]]], result: BatchResult,
               conflicts: dict[tuple[str, str], KeyWork]) -> None:
        """One bulk request; each answer mapped back to its key (conflicts to decide again)."""
        if self.before_write:
            self.before_write()
        started = time.monotonic()
        answers = bulk.write(self.es, [action for _, action in actions])
        log.info("bulk wrote %d documents in %.0f ms", len(actions),
                 (time.monotonic() - started) * 1000)
        mirrored: list[tuple[KeyWork, dict[str, Any]]] = []
        failed_keys: set[tuple[str, str]] = set()
        for entry, action in actions:
            ident = action["_id"]
            answer = answers[ident]
            if action["_op_type"] == "update":  # a settle stamp on a current document
                result.unchanged += 1
                if answer.conflict:
                    conflicts[(entry.bucket, entry.key)] = entry
                continue
            if answer.ok:
                result.written += 1
                if entry.event_time is not None:
                    lag = (datetime.now(UTC) - entry.event_time).total_seconds()
                    result.lag_seconds = max(lag, result.lag_seconds or 0.0)
                if action["_source"].get(F.DELETED):
                    result.tombstoned += 1
                for index in self.mirror_indices(entry.bucket):
                    if answer.seq_no is not None:
                        mirrored.append((entry, bulk.mirror_action(
                            index, ident, action["_source"], answer.seq_no)))
            elif answer.conflict:
                conflicts[(entry.bucket, entry.key)] = entry
            else:
                failed_keys.add((entry.bucket, entry.key))
                self._fail(entry, f"bulk item {answer.status}: {answer.error}", result)
        for failed in failed_keys:  # a key with a failed write is retried through its message
            conflicts.pop(failed, None)
        if mirrored:
            self._mirror(mirrored, result)

    def _mirror(self, mirrored: list[tuple[KeyWork, dict[str, Any]]], result: BatchResult) -> None:
        """Write to reindex targets too; 409 means a newer copy is there already."""
        answers = bulk.write_concrete(self.es, [action for _, action in mirrored])
        for entry, action in mirrored:
            answer = answers.get((action["_index"], action["_id"]))
            if answer is None or not (answer.ok or answer.conflict):
                why = answer.error if answer else "no answer"
                self._fail(entry, f"mirror write to {action['_index']} failed: {why}", result)
