"""Index lifecycle on a live cluster: the one module of ``t4index`` that does I/O.

The engine is injected (a ``t4index.engine.Engine``, either family); this module
never imports a client package. The engine raises typed ``EngineError``s, which
pass through unchanged; ``IndexStateError`` is for indices and aliases that are
not as this code expects.

Writes through an alias must send ``require_alias=true`` (``WRITE_PARAMS``):
otherwise a write to a missing alias silently creates a concrete index of that
name. Indices are deleted by exact name only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from t4index.errors import EngineError, IndexStateError
from t4index.mapping import (
    DEFAULT_LAYOUT,
    MAPPING_VERSION,
    IndexLayout,
    index_settings,
    index_template,
    mappings,
)
from t4index.names import (
    ALIAS_PREFIX,
    INDEX_PREFIX,
    TEMPLATE_NAME,
    alias_name,
    index_name,
    index_part,
    parse_index_name,
)
from t4index.query import SearchPage, SearchQuery, build_search_body, parse_response

WRITE_PARAMS: dict[str, Any] = {"require_alias": True}
"""Parameters for every bulk call through an alias:
``engine.streaming_bulk(..., **WRITE_PARAMS)``."""


@dataclass(frozen=True)
class BucketIndex:
    """A bucket's alias and the concrete index it writes to."""

    bucket: str
    alias: str
    write_index: str
    mapping_version: int
    created: bool


UNSTARTED_RETRY_DELAYS = (0.1, 0.2, 0.4)
"""Waits before searching again when a shard has not started yet."""


def _search_started(es: Any, body: dict[str, Any], index: str) -> Any:
    """``es.search``, tried again for a moment while a new index's shard starts.

    A bucket's index is created on its first event; a search in the next instants can
    find its shard not yet serving (``no_shard_available_action_exception``, 503).
    """
    for delay in UNSTARTED_RETRY_DELAYS:
        try:
            return es.search(body, index)
        except EngineError as exc:
            # Elasticsearch names the cause; OpenSearch answers 503 "all shards failed"
            unstarted = exc.kind == "no_shard_available_action_exception" or (
                exc.status == 503 and exc.kind == "search_phase_execution_exception")
            if not unstarted:
                raise
        time.sleep(delay)
    return es.search(body, index)


def ensure_template(es: Any, layout: IndexLayout = DEFAULT_LAYOUT) -> bool:
    """Put the index template (with ``layout``'s shards and replicas) unless the cluster
    holds a newer mapping version's.

    Returns:
        True when the template was written, False when a newer one was kept.
    Raises:
        IndexStateError: the cluster refused the template.
    """
    try:
        meta = es.template_meta(TEMPLATE_NAME) or {}
        if int(meta.get("mapping_version", 0)) > MAPPING_VERSION:
            return False
        es.put_template(TEMPLATE_NAME, index_template(layout))
    except EngineError as exc:
        raise IndexStateError(f"could not put index template {TEMPLATE_NAME!r}: {exc}") from exc
    return True


def _alias_targets(es: Any, alias: str) -> dict[str, bool]:
    """Concrete indices behind ``alias`` -> whether each is the write index."""
    found = es.alias_targets(alias)
    return {index: bool(spec.get("is_write_index", len(found) == 1))
            for index, spec in found.items()}


def _write_index(bucket: str, alias: str, targets: dict[str, bool]) -> tuple[str, int]:
    writers = [name for name, is_write in targets.items() if is_write]
    if len(writers) != 1:
        raise IndexStateError(f"alias {alias!r} has {len(writers)} write indices among "
                              f"{sorted(targets)}; set exactly one with is_write_index")
    version = parse_index_name(writers[0], bucket)
    if version is None:
        expected = f"{INDEX_PREFIX}<N>-{index_part(bucket)}"
        raise IndexStateError(f"alias {alias!r} writes to {writers[0]!r}, which is not one of "
                              f"bucket {bucket!r}'s indices ({expected})")
    return writers[0], version


def _create_index(es: Any, name: str, layout: IndexLayout = DEFAULT_LAYOUT) -> bool:
    """Create ``name`` with the current settings and mappings, and wait for its primary
    shard; False if it exists."""
    try:
        return es.create_index(name, index_settings(layout), mappings())
    except EngineError as exc:
        raise IndexStateError(f"could not create index {name!r}: {exc}") from exc


def ensure_bucket_index(es: Any, bucket: str, layout: IndexLayout = DEFAULT_LAYOUT
                        ) -> BucketIndex:
    """Make sure ``bucket``'s alias exists and writes to a concrete index.

    On first use creates ``index_name(bucket, MAPPING_VERSION)``, waits for its primary
    shard (``layout`` gives its shards and replicas), then adds the alias as its write
    alias, so that no search through the alias meets a shard that has not started
    (concurrent callers all succeed). An alias that already exists is left as it is,
    whatever its mapping version.

    Returns:
        The ``BucketIndex``; ``created`` tells whether this call created the index.
    Raises:
        IndexStateError: a concrete index holds the alias's name (a write without
            ``require_alias``), the alias has no single write index, or the cluster
            refused to create the index.
        EngineError: the cluster refused or could not be reached.
    """
    alias = alias_name(bucket)
    resolved = es.resolve(alias)
    if any(found["name"] == alias for found in resolved.get("indices", [])):
        raise IndexStateError(
            f"a concrete index named {alias!r} exists where bucket {bucket!r}'s alias "
            "belongs (a write without require_alias=true created it); move its "
            f"documents to {index_name(bucket, MAPPING_VERSION)!r} and delete it by name"
        )
    targets = _alias_targets(es, alias) if resolved.get("aliases") else {}
    if targets:
        write, version = _write_index(bucket, alias, targets)
        return BucketIndex(bucket, alias, write, version, created=False)
    name = index_name(bucket, MAPPING_VERSION)
    # The alias comes after the primary shard has started: an alias created with its
    # index is visible at once, and a search through it before the shard starts
    # fails with 503 (seen: a search right after a bucket's first event).
    created = _create_index(es, name, layout)  # once the primary shard is active
    if not created:  # a concurrent caller's index, perhaps not started yet
        es.wait_for_index(name)
    targets = _alias_targets(es, alias)
    if not targets:  # two callers may both add it: the same alias, added twice
        es.update_aliases([{"add": {"index": name, "alias": alias,
                                    "is_write_index": True}}])
        targets = {name: True}
    write, version = _write_index(bucket, alias, targets)
    return BucketIndex(bucket, alias, write, version, created=created)


def prepare_version(es: Any, bucket: str, new_version: int,
                    layout: IndexLayout = DEFAULT_LAYOUT) -> str:
    """Create ``bucket``'s concrete index for ``new_version``, outside the alias.

    While a reindex fills it, writers send to both the alias and this index.

    Returns:
        The new index's name (it may already have existed).
    Raises:
        IndexStateError: the cluster refused.
    """
    name = index_name(bucket, new_version)
    _create_index(es, name, layout)
    return name


def roll_to_new_version(es: Any, bucket: str, new_version: int,
                        layout: IndexLayout = DEFAULT_LAYOUT) -> BucketIndex:
    """Point ``bucket``'s alias at its ``new_version`` index in one atomic step.

    Creates the new index if needed, then one ``_aliases`` request removes the alias
    from every index it covered (by exact name, ``must_exist``) and adds it to the new
    index as write index. Old indices are kept; delete them with ``delete_index``.

    Returns:
        The new ``BucketIndex``.
    Raises:
        IndexStateError: the alias changed concurrently, or the cluster refused.
    """
    alias = alias_name(bucket)
    new_index = prepare_version(es, bucket, new_version, layout)
    try:
        old = [name for name in _alias_targets(es, alias) if name != new_index]
        actions: list[dict[str, Any]] = [
            {"remove": {"index": name, "alias": alias, "must_exist": True}} for name in old
        ]
        actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
        es.update_aliases(actions)
    except EngineError as exc:
        raise IndexStateError(f"could not move alias {alias!r} to {new_index!r}: {exc}") from exc
    return BucketIndex(bucket, alias, new_index, new_version, created=True)


def bucket_indices(es: Any, bucket: str) -> dict[str, int]:
    """Every concrete index of ``bucket`` with its mapping version.

    Returns:
        ``{index name: mapping version}``.
    """
    pattern = f"{INDEX_PREFIX}*-{index_part(bucket)}"
    try:
        found = es.list_indices(pattern)
    except EngineError as exc:
        raise IndexStateError(f"could not list the indices of bucket {bucket!r}: {exc}") from exc
    out = {}
    for name in found:
        version = parse_index_name(name, bucket)
        if version is not None:
            out[name] = version
    return out


def delete_index(es: Any, name: str) -> bool:
    """Delete one concrete index by its exact name.

    Returns:
        True if it was deleted, False if it did not exist.
    Raises:
        ValueError: ``name`` is a pattern, a list or an alias name of this project.
        IndexStateError: the cluster refused.
    """
    if not name or any(ch in name for ch in "*?,") or name.startswith(("_", "-", ALIAS_PREFIX)):
        raise ValueError(f"delete_index takes one exact concrete index name, got {name!r}")
    try:
        return es.delete_index(name)
    except EngineError as exc:
        raise IndexStateError(f"could not delete index {name!r}: {exc}") from exc


def search_page(es: Any, buckets: str | list[str], query: SearchQuery,
                keep_alive: str | None = None) -> SearchPage:
    """Run one page of ``query`` over ``buckets``' aliases.

    The first page is one plain search of the aliases: a single request, and no
    point in time for the many searches nobody pages through (opening one for
    every search would triple the cluster's work). Its cursor holds the last hit's
    sort values; the second page opens the point in time and continues from there,
    so pages two onwards read one snapshot taken when page two was asked for. The
    tiebreak sort (bucket, key, version id) names one document with or without a
    point in time. The last page closes it.

    Returns:
        The ``SearchPage`` (pass ``page.cursor`` in the next query to continue).
    Raises:
        QueryError: the query is invalid.
        EngineError: the cluster refused, typed once by the engine layer
            (``IndexMissingError`` for a bucket without index, ``CursorExpiredError``,
            ``EngineAccessDeniedError``, ``EngineUnavailableError``...).
    """
    from dataclasses import replace

    body = build_search_body(query)  # validates before any I/O
    if query.cursor is not None:
        query.cursor.check_buckets(buckets)
    aliases = ",".join(alias_name(b) for b in ([buckets] if isinstance(buckets, str)
                                              else buckets))
    keep_alive = keep_alive or query.keep_alive
    if query.cursor is None:
        page = parse_response(_search_started(es, body, aliases), query)
    else:
        if query.cursor.pit_id is None:
            pit_id = es.open_pit(aliases, keep_alive)
            query = replace(query, cursor=replace(query.cursor, pit_id=pit_id),
                            keep_alive=keep_alive)
            body = build_search_body(query)
        page = parse_response(es.search(body), query)  # a started index
        if not page.has_more and page.pit_id:
            es.close_pit(page.pit_id)
    if page.cursor is not None:  # a cursor names its buckets, and is refused elsewhere
        named = sorted({buckets} if isinstance(buckets, str) else set(buckets))
        page = replace(page, cursor=replace(page.cursor, buckets=named))
    return page
