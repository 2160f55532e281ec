"""What the index holds per key: the latest state only, or every version (a strategy).

The pipeline asks its mode two things, and nothing else differs between the modes:

- ``stored``: the documents a round compares against (one ``mget`` by id for the
  latest state; nothing up front for all versions, whose documents are found by a
  search per key, after a refresh);
- ``decide``: the conditional actions that bring one key's documents to S3's state.

Both decide "nothing to do" by the one freshness rule (``indexer.freshness``).
Backfill and verify read ``all_versions`` to choose their listing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from indexer import bulk, freshness, versions
from indexer.errors import TransientError
from indexer.state import probe_state
from indexer.work import KeyWork, RetryLater
from t4index import fields as F
from t4index.document import build_document
from t4index.names import doc_id

if TYPE_CHECKING:
    from indexer.pipeline import Pipeline


class Mode(Protocol):
    all_versions: bool

    def stored(self, pipeline: Pipeline, index: str, ids: list[str]
               ) -> dict[str, bulk.Current | None]: ...

    def decide(self, pipeline: Pipeline, entry: KeyWork, current: bulk.Current | None
               ) -> list[dict[str, Any]]: ...


class LatestOnly:
    """One document per key, showing its current state (a tombstone once deleted)."""

    all_versions = False

    def stored(self, pipeline: Pipeline, index: str, ids: list[str]
               ) -> dict[str, bulk.Current | None]:
        return dict(bulk.read_current(pipeline.es, index, ids, freshness.FIELDS))

    def decide(self, pipeline: Pipeline, entry: KeyWork, current: bulk.Current | None
               ) -> list[dict[str, Any]]:
        assert current is not None
        state, head = probe_state(pipeline.s3, entry.bucket, entry.key)
        if not state.exists and current.source is not None and current.source.get(F.DELETED):
            return []
        # While a reindex fills a new index, a write is repeated there: an event must not
        # be skipped as "unchanged" when the copy into the new index may have failed.
        rewrite = entry.force or bool(pipeline.mirror_indices(entry.bucket))
        alias = pipeline.bucket_index(entry.bucket).alias
        if not rewrite and freshness.state_current(current.source, state,
                                                   pipeline.extractor_version):
            stamp = freshness.settle_stamp(current.source, state)
            return [bulk.conditional_update(alias, current, stamp)] if stamp else []
        if not entry.force and freshness.described_only(current.source, state,
                                                        pipeline.extractor_version):
            described = pipeline.described_document(alias, state, entry, current)
            if described is not None:  # tags, storage class, restore: no extraction
                return [bulk.conditional_index(alias, current, described)]
        try:
            doc = pipeline.document(state, entry, head=head, current=current)
        except RetryLater as retry:
            raise RetryLater(str(retry), [bulk.conditional_index(alias, current, d)
                                          for d in retry.actions]) from retry
        return [bulk.conditional_index(alias, current, doc)]


class AllVersions:
    """One document per version and delete marker, ``is_latest`` on the current one."""

    all_versions = True

    def stored(self, pipeline: Pipeline, index: str, ids: list[str]
               ) -> dict[str, bulk.Current | None]:
        # Versions are found by a search per key, which sees only refreshed writes.
        pipeline.es.refresh(index)
        return dict.fromkeys(ids)

    def decide(self, pipeline: Pipeline, entry: KeyWork, current: bulk.Current | None
               ) -> list[dict[str, Any]]:
        index = pipeline.bucket_index(entry.bucket)
        stored = versions.read_stored(pipeline.es, index.alias, entry.key)
        rows = versions.list_versions(pipeline.s3, entry.bucket, entry.key)

        def absent(version_id: str) -> bulk.Current:
            return bulk.Current(doc_id(entry.bucket, entry.key, version_id), None)

        version = pipeline.extractor_version if not entry.force else "(forced)"
        actions: list[dict[str, Any]] = []
        retry: RetryLater | None = None
        for decision in versions.plan(rows, stored, absent, version):
            row, source = decision.row, decision.current.source
            if decision.kind == "write":
                assert row is not None
                state, head = probe_state(pipeline.s3, entry.bucket, entry.key,
                                          decision.version_id)
                if not state.exists:
                    raise TransientError(f"version {decision.version_id} of s3://{entry.bucket}/"
                                         f"{entry.key} vanished while indexing")
                if not entry.force and freshness.state_current(source, state,
                                                               pipeline.extractor_version):
                    # the listing could not prove it (``confirm``), the state does
                    if source is None or source.get(F.IS_LATEST) == row.is_latest:
                        continue
                    doc = versions.flagged(source, is_latest=row.is_latest)
                else:
                    try:
                        doc = pipeline.document(state, entry, is_latest=row.is_latest,
                                                head=head, current=decision.current)
                    except RetryLater as exc:
                        retry = retry or exc
                        actions += [bulk.conditional_index(index.alias, decision.current, d)
                                    for d in exc.actions]
                        continue
            elif decision.kind == "marker":
                assert row is not None
                doc = build_document(bucket=entry.bucket, key=entry.key, deleted=True,
                                     version_id=decision.version_id, is_latest=row.is_latest,
                                     last_modified=row.last_modified, sequencer=entry.sequencer)
            elif decision.kind == "flag":
                assert row is not None and source is not None
                doc = versions.flagged(source, is_latest=row.is_latest)
            else:
                assert source is not None
                doc = versions.flagged(source, is_latest=False, deleted=True)
            actions.append(bulk.conditional_index(index.alias, decision.current, doc))
        if retry is not None:
            raise RetryLater(str(retry), actions) from retry
        return actions
