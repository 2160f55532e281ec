"""Bulk writes and their per-document results.

Pure pieces build the actions; ``write`` is the one function that calls the
server, through the engine's ``streaming_bulk`` (the family's own helper), which
retries only the items refused with 429 (capped backoff) and yields one result per
item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from t4index.lifecycle import WRITE_PARAMS


@dataclass(frozen=True)
class Current:
    """A document as it stands in the index, with its concurrency token."""

    doc_id: str
    source: dict[str, Any] | None  # None: no such document
    seq_no: int | None = None
    primary_term: int | None = None


@dataclass(frozen=True)
class ItemResult:
    doc_id: str
    status: int
    error: str | None
    seq_no: int | None = None  # of a successful write: orders mirror writes during a reindex

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300

    @property
    def conflict(self) -> bool:
        return self.status == 409

    @property
    def transient(self) -> bool:
        return not self.ok and (self.status in (0, 429) or self.status >= 500)


def conditional_index(alias: str, current: Current, document: dict[str, Any]) -> dict[str, Any]:
    """An action that writes ``document`` only if the stored one is still ``current``."""
    action: dict[str, Any] = {"_index": alias, "_id": current.doc_id, "_source": document}
    if current.source is None:
        action["_op_type"] = "create"  # fails with 409 if someone wrote it meanwhile
    else:
        action.update(_op_type="index", if_seq_no=current.seq_no,
                      if_primary_term=current.primary_term)
    return action


def conditional_update(alias: str, current: Current, fields: dict[str, Any]) -> dict[str, Any]:
    """An action that sets ``fields`` of the stored document only if it is still ``current``."""
    return {"_op_type": "update", "_index": alias, "_id": current.doc_id, "doc": fields,
            "if_seq_no": current.seq_no, "if_primary_term": current.primary_term}


def read_current(es: Any, index: str, doc_ids: list[str],
                 fields: list[str] | None) -> dict[str, Current]:
    """The stored documents (only ``fields`` of their source; None: all of it) with their
    seq_no/primary_term."""
    if not doc_ids:
        return {}
    out = {}
    for doc in es.mget(index, doc_ids, source_includes=fields):
        if doc.get("found"):
            out[doc["_id"]] = Current(doc["_id"], doc.get("_source", {}), doc["_seq_no"],
                                      doc["_primary_term"])
        else:
            out[doc["_id"]] = Current(doc["_id"], None)
    return out


def _result(info: dict[str, Any]) -> ItemResult:
    (_, item), = info.items()
    status = item.get("status")
    error = item.get("error")
    if error is not None and not isinstance(error, str):
        error = (f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict)
                 else str(error))
    seq_no = item.get("_seq_no")
    return ItemResult(str(item.get("_id")), status if isinstance(status, int) else 0, error,
                      seq_no if isinstance(seq_no, int) else None)


def write(es: Any, actions: list[dict[str, Any]], *, max_retries: int = 3) -> dict[str, ItemResult]:
    """Send ``actions`` in bulk; the result of each, by document id.

    Connection failures come back as results with status 0 (transient), never raised.
    """
    results: dict[str, ItemResult] = {}
    failure = "no answer from bulk"
    try:
        for _ok, info in es.streaming_bulk(
            actions, chunk_size=500, max_chunk_bytes=50 * 2**20, raise_on_error=False,
            raise_on_exception=False, max_retries=max_retries, initial_backoff=0.5,
            max_backoff=8, **WRITE_PARAMS,
        ):
            result = _result(info)
            results[result.doc_id] = result
    except Exception as exc:  # noqa: BLE001 - the engine died mid-stream: unanswered = unwritten
        failure = f"bulk interrupted: {type(exc).__name__}: {exc}"[:500]
    for action in actions:  # an exception may leave items without an answer
        results.setdefault(action["_id"], ItemResult(action["_id"], 0, failure))
    return results


def mirror_action(index: str, doc_id: str, source: dict[str, Any], seq_no: int) -> dict[str, Any]:
    """Copy a document written to the alias's index into a reindex target ``index``.

    External versioning with the source index's ``_seq_no`` (+1, external versions
    start above 0) orders mirror writes and the reindex's copy exactly as the writes
    to the source index were ordered: an older copy never replaces a newer one (409).
    """
    return {"_op_type": "index", "_index": index, "_id": doc_id, "_source": source,
            "version": seq_no + 1, "version_type": "external"}


def write_concrete(es: Any, actions: list[dict[str, Any]]) -> dict[tuple[str, str], ItemResult]:
    """Send actions addressed to concrete indices (no ``require_alias``); results by (index, id).

    Connection failures leave items without a result (the caller treats them as unwritten).
    """
    results: dict[tuple[str, str], ItemResult] = {}
    try:
        for _ok, info in es.streaming_bulk(
            actions, chunk_size=500, max_chunk_bytes=50 * 2**20, raise_on_error=False,
            raise_on_exception=False, max_retries=3, initial_backoff=0.5, max_backoff=8,
        ):
            (_, item), = info.items()
            results[(str(item.get("_index")), str(item.get("_id")))] = _result(info)
    except Exception:  # noqa: BLE001,S110 - unanswered items are reported as missing
        pass
    return results
