"""The one rule that says whether a document is current: used by every path that may skip work.

The event path, backfill, repair, verify, reindex's verify pass and the
all-versions mode all decide "nothing to do for this object" here, and nowhere
else. A document is **current** when everything it records from S3 matches S3
now, and its extraction is final and made by this extractor version:

- what S3 says of the object: etag, size, version id, last modified, content type,
  the ``helium`` header and every other ``x-amz-meta-*`` header (its **content**
  half), and its tags, storage class and restore state (its **described** half:
  what can change without a new object). The document stores a digest of both
  halves (``source_digest``, ``<content>.<described>``), so comparing costs one string;
- the extraction outcome is final (``t4index.outcomes``): a document that records
  ``unavailable`` (Tika or S3 were down) is never current;
- the extractor version is this one (``unreadable`` objects excepted: no
  extractor reads them; and an archived object's text, extracted before it was
  archived or from a restored copy, stays current: it cannot be read again).

When only the described half changed (a tag set, a lifecycle transition, a
restore started or expired) and the stored extraction can be kept
(:func:`described_only`), the indexer updates those fields in place and runs no
extraction. A restore that makes an ``unreadable`` object readable is not such a
change: its extraction is not current, so it is extracted.

Listings carry no tags, storage class or restore state: a change of those is seen
through its event (``s3:ObjectTagging:*``, ``s3:ObjectRestore:*``,
``s3:LifecycleTransition``) or whenever the state is read again (``confirm`` below,
``t4-backfill --force``).

A listing (ListObjectsV2, an inventory, ListObjectVersions) carries no content
type or metadata, and its last modified has whole seconds. It proves a document
current only when no write it cannot see may have landed after the document
was made: the version is immutable (a real S3 version id), or the document
observed S3 at least :data:`SETTLE_SECONDS` after the object's last modified
second. Otherwise the verdict is ``confirm``: read the state (HEAD/GET) and use
:func:`state_current`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from indexer.state import ObjectState
from t4index import fields as F
from t4index import outcomes
from t4index.dates import parse_iso, to_es_date
from t4index.s3 import normalize_etag

SETTLE_SECONDS = 5.0
"""How long after an object's last-modified second a read is taken as having seen
every write of that second. A PUT that takes longer than this to become visible
(a very slow upload whose Last-Modified is its start) with the same etag and size
as the indexed one is caught by its own event, not by a listing."""

FIELDS: list[str] = [F.ETAG, F.SIZE, F.VERSION_ID, F.LAST_MODIFIED, F.DELETED, F.SEQUENCER,
                     F.EXTRACTOR_VERSION, F.EXTRACTION_STATUS, F.EXTRACTION_ERROR,
                     F.SOURCE_DIGEST, F.OBSERVED_AT, F.IS_LATEST, F.KEY, F.RESTORE]
"""The stored fields the rule reads (``_source`` includes for ``mget``/scans)."""

NULL_VERSION = "null"
"""S3's version id of objects written while versioning was off: not immutable."""

Verdict = Literal["current", "stale", "confirm"]


def _content_type(value: str | None) -> str | None:
    return (value or "").split(";", 1)[0].strip().lower() or None


def _digest(record: Mapping[str, Any]) -> str:
    text = json.dumps(record, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def source_digest(state: ObjectState) -> str:
    """A digest of everything a document records from S3 about ``state``.

    Metadata names are compared case-insensitively (S3 lower-cases them); values
    as given; tag keys are case sensitive. Unknown tags (None: the role may not
    read them) differ from no tags.

    Returns:
        ``<content>.<described>``: two hex strings (see the module's docstring).
    """
    content = {
        "etag": normalize_etag(state.etag),
        "size": state.size,
        "version_id": state.version_id,
        "last_modified": to_es_date(state.last_modified) if state.last_modified else None,
        "content_type": _content_type(state.content_type),
        "metadata": sorted((k.lower(), v) for k, v in state.metadata.items()),
        "unreadable": bool(state.unreadable) and not state.archived,
    }
    described = {
        "tags": sorted(state.tags.items()) if state.tags is not None else None,
        "storage_class": storage_class(state),
        "restore": state.restore,
        "archived": state.archived,
    }
    return f"{_digest(content)}.{_digest(described)}"


def storage_class(state: ObjectState) -> str:
    """The state's storage class as documents record it (S3 names none for STANDARD)."""
    return state.storage_class or "STANDARD"


def described_only(stored: Mapping[str, Any] | None, state: ObjectState,
                   extractor_version: str) -> bool:
    """Whether ``state`` differs from the stored document in its described half only
    (tags, storage class, restore state), with an extraction that can be kept.

    Kept: a current outcome of a readable object; any final outcome of an archived
    one (its text came from before the archive, or from a restored copy). Not kept:
    an ``unreadable`` outcome once the object can be read.
    """
    if stored is None or stored.get(F.DELETED) or not state.exists:
        return False
    digest = str(stored.get(F.SOURCE_DIGEST) or "")
    if "." not in digest or digest.split(".")[0] != source_digest(state).split(".")[0]:
        return False
    return _outcome_kept(stored, state, extractor_version)


def _outcome_kept(stored: Mapping[str, Any], state: ObjectState, extractor_version: str) -> bool:
    status = stored.get(F.EXTRACTION_STATUS)
    if state.archived:
        return outcomes.is_final(status)
    if status == outcomes.UNREADABLE:
        return bool(state.unreadable)
    return outcome_current(stored, extractor_version)


def outcome_current(stored: Mapping[str, Any], extractor_version: str) -> bool:
    """Whether the stored extraction needs no new run: final, and by this extractor
    version (``unreadable`` needs none: no extractor reads the bytes)."""
    status = stored.get(F.EXTRACTION_STATUS)
    if status == outcomes.UNREADABLE:
        return True
    return outcomes.is_final(status) and stored.get(F.EXTRACTOR_VERSION) == extractor_version


def state_current(stored: Mapping[str, Any] | None, state: ObjectState,
                  extractor_version: str) -> bool:
    """Whether the stored document (its :data:`FIELDS`) shows ``state`` (read from S3 now)."""
    if stored is None:
        return False
    if not state.exists:
        return bool(stored.get(F.DELETED))
    if stored.get(F.DELETED):
        return False
    return (stored.get(F.SOURCE_DIGEST) == source_digest(state)
            and _outcome_kept(stored, state, extractor_version))


def settle_stamp(stored: Mapping[str, Any] | None, state: ObjectState) -> dict[str, Any] | None:
    """The fields to update on a current document so that listings can prove it later.

    A document made within :data:`SETTLE_SECONDS` of its object's last
    modification cannot be proven current by a listing (``confirm``). Once a later
    read of the state (``state``, found current) started late enough, recording
    that read's time settles it, and the next backfill or verify needs no request.

    Returns:
        ``{observed_at: ...}`` to update, or None when nothing would change.
    """
    if stored is None or not state.exists or state.observed_at is None or _settled(stored):
        return None
    candidate = {**stored, F.OBSERVED_AT: to_es_date(state.observed_at)}
    return {F.OBSERVED_AT: candidate[F.OBSERVED_AT]} if _settled(candidate) else None


def _second(value: Any) -> str | None:
    text = to_es_date(value) if value is not None else None
    return text[:19] if text else None


def _settled(stored: Mapping[str, Any]) -> bool:
    observed = parse_iso(stored.get(F.OBSERVED_AT) or "")
    modified = parse_iso(stored.get(F.LAST_MODIFIED) or "")
    if observed is None or modified is None:
        return False
    second_end = modified.replace(microsecond=0) + timedelta(seconds=1)
    return observed >= second_end + timedelta(seconds=SETTLE_SECONDS - 1)


def listing_verdict(stored: Mapping[str, Any] | None, *, etag: str | None, size: int | None,
                    last_modified: datetime | str | None, extractor_version: str,
                    version_id: str | None = None) -> Verdict:
    """Whether a listed object's stored document is current, from the listing alone.

    ``version_id`` is the listed version's id (all-versions mode); None for a
    ListObjectsV2 entry.

    Returns:
        ``current``; ``stale`` (a new document is needed); or ``confirm``: the
        listing matches but cannot prove the metadata (read the state and call
        :func:`state_current`).
    """
    if stored is None or stored.get(F.DELETED):
        return "stale"
    if (normalize_etag(stored.get(F.ETAG)) != normalize_etag(etag) or stored.get(F.SIZE) != size
            or _second(stored.get(F.LAST_MODIFIED)) != _second(last_modified)
            or not outcome_current(stored, extractor_version)
            or not stored.get(F.SOURCE_DIGEST)):
        return "stale"
    immutable = bool(version_id) and version_id != NULL_VERSION
    return "current" if immutable or _settled(stored) else "confirm"
