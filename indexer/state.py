"""The current state of a key, read from S3: the truth every document follows.

S3 delivers events at least once and out of order, and moto's carry no sequencer,
so the indexer never trusts an event's name: it reads the key's state now and
writes that (with optimistic concurrency, see ``indexer.pipeline``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from indexer.errors import TransientError
from indexer.source import ObjectGone, ObjectUnreadable, SourceUnavailable, translate
from t4index import helium as helium_codec
from t4index.retry import RetryPolicy
from t4index.s3 import ARCHIVED_CLASSES, restore_state, tags_from_tagset

log = logging.getLogger("t4.indexer")

ARCHIVED_TIERS = frozenset({"ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"})
"""``ArchiveStatus`` values of Intelligent-Tiering objects that must be restored to be read."""
RETRY = RetryPolicy(max_attempts=3)
"""The one retry layer of these reads (the indexer's S3 client has botocore's off)."""


@dataclass(frozen=True)
class ObjectState:
    """What S3 says of one key (or one version) now."""

    bucket: str
    key: str
    exists: bool
    version_id: str | None = None
    size: int | None = None
    etag: str | None = None
    last_modified: datetime | None = None
    content_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    storage_class: str | None = None
    unreadable: str | None = None  # why the content cannot be read (not retried)
    observed_at: datetime | None = None  # when the read that produced this state started
    tags: dict[str, str] | None = None  # the object's tags; None: not known (not allowed to read)
    restore: str | None = None  # ``ongoing`` / ``restored`` (``t4index.s3.restore_state``) / None
    archived: bool = False  # in an archive storage class or tier, with no restored copy

    @property
    def helium(self) -> helium_codec.Helium:
        """The T4 client's ``helium`` metadata, decoded (see ``t4index.helium``)."""
        return helium_codec.decode(self.metadata)


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None)
    return int((response or {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _classify(exc: Exception, where: str) -> Exception:
    """``indexer.source.translate`` (the one S3 error table), with "retry later" made a
    ``TransientError``; other errors come back unchanged."""
    error = translate(exc, where)
    if isinstance(error, SourceUnavailable):
        return TransientError(str(error))
    return error


PROBE_BYTES = 64 * 1024
"""What ``probe_state`` reads: the extractor's first read, so a small object costs one GET."""


def read_tags(s3: Any, bucket: str, key: str, version_id: str | None,
              tag_count: Any) -> dict[str, str] | None:
    """The object's tags by GetObjectTagging, skipped when the GET/HEAD answer says
    it has none (``TagCount`` absent or 0: S3 sends ``x-amz-tagging-count`` only for
    tagged objects).

    Returns:
        The tags; None when the role may not read them (the document then records
        none, and says nothing of them either way).
    Raises:
        TransientError: throttling, 5xx or a connection failure.
    """
    if not tag_count:
        return {}
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        answer = RETRY.call(lambda: s3.get_object_tagging(**kwargs))
    except Exception as exc:  # noqa: BLE001 - classified by the one S3 error table
        error = _classify(exc, f"tags of s3://{bucket}/{key}")
        if isinstance(error, ObjectGone):
            return {}
        if isinstance(error, ObjectUnreadable):
            log.warning("%s; grant s3:GetObjectTagging (and s3:GetObjectVersionTagging) "
                        "to index tags", error)
            return None
        raise error from exc
    return tags_from_tagset(answer.get("TagSet"))


def _from_response(s3: Any, bucket: str, key: str, resp: dict[str, Any], size: int | None,
                   observed_at: datetime) -> ObjectState:
    storage = resp.get("StorageClass")
    unreadable = None
    restore = restore_state(resp.get("Restore"))
    archived = restore != "restored" and (storage in ARCHIVED_CLASSES
                                          or resp.get("ArchiveStatus") in ARCHIVED_TIERS)
    if archived:
        where = storage if storage in ARCHIVED_CLASSES else resp.get("ArchiveStatus")
        unreadable = f"archived in storage class {where}; restore it to index its content"
    if resp.get("SSECustomerAlgorithm"):
        unreadable = "encrypted with a customer-provided key (SSE-C)"
    version_id = resp.get("VersionId")
    return ObjectState(
        bucket=bucket, key=key, exists=True, version_id=version_id, size=size,
        etag=resp.get("ETag"), last_modified=resp.get("LastModified"),
        content_type=resp.get("ContentType"),
        metadata={k.lower(): v for k, v in (resp.get("Metadata") or {}).items()},
        storage_class=storage, unreadable=unreadable, observed_at=observed_at,
        tags=read_tags(s3, bucket, key, version_id, resp.get("TagCount")),
        restore=restore, archived=archived)


def probe_state(s3: Any, bucket: str, key: str, version_id: str | None = None,
                prefix_bytes: int = PROBE_BYTES) -> tuple[ObjectState, bytes | None]:
    """The key's state and its first ``prefix_bytes`` bytes, in one ranged GET.

    A GET answers everything a HEAD does, and the extractor needs those bytes
    anyway: one request per changed object instead of two. Falls back to HEAD when
    the GET cannot tell (an empty object, an archived one, 403 on content the role
    may not read but whose metadata it may HEAD).

    Returns:
        (state, prefix bytes or None when nothing was read).
    Raises:
        TransientError: throttling, 5xx or a connection failure.
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Range": f"bytes=0-{prefix_bytes - 1}"}
    if version_id:
        kwargs["VersionId"] = version_id
    started = datetime.now(UTC)

    def read() -> tuple[dict[str, Any], bytes]:
        resp = s3.get_object(**kwargs)
        body = resp["Body"]
        try:
            return resp, body.read()
        finally:
            body.close()

    try:
        resp, prefix = RETRY.call(read)
    except Exception as exc:  # noqa: BLE001 - classified by the one S3 error table
        error = _classify(exc, f"s3://{bucket}/{key}")
        if isinstance(error, ObjectGone):
            return ObjectState(bucket, key, exists=False, version_id=version_id), None
        if isinstance(error, ObjectUnreadable) or _status(exc) == 416:
            # archived, SSE-C, KMS, 403, or an empty object (no byte 0): HEAD still
            # tells the metadata, or that the object may not be read at all
            return head_state(s3, bucket, key, version_id), None
        raise error from exc
    content_range = resp.get("ContentRange") or ""
    size = int(content_range.rsplit("/", 1)[1]) if "/" in content_range else len(prefix)
    return _from_response(s3, bucket, key, resp, size, started), prefix


def head_state(s3: Any, bucket: str, key: str, version_id: str | None = None) -> ObjectState:
    """HEAD the key (or version) and describe it.

    Returns:
        ``exists=False`` when S3 answers 404 (no such key, or a delete marker is current);
        ``unreadable`` set when the object exists but its content may not be read by this
        role (403, SSE-C, archived storage class).
    Raises:
        TransientError: throttling, 5xx or a connection failure.
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    started = datetime.now(UTC)
    try:
        head = RETRY.call(lambda: s3.head_object(**kwargs))
    except Exception as exc:  # noqa: BLE001 - classified by the one S3 error table
        error = _classify(exc, f"s3://{bucket}/{key}")
        if isinstance(error, ObjectGone):
            return ObjectState(bucket, key, exists=False, version_id=version_id)
        if isinstance(error, ObjectUnreadable):  # 403; 400 for SSE-C without its key
            return ObjectState(bucket, key, exists=True, version_id=version_id,
                               unreadable=f"{error.reason} on HEAD", observed_at=started)
        raise error from exc
    return _from_response(s3, bucket, key, head, head.get("ContentLength"), started)
