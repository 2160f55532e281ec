"""The current state of a key, read from S3: the truth every document follows.

S3 delivers events at least once and out of order, and moto's carry no sequencer,
so the indexer never trusts an event's name: it reads the key's state now and
writes that (with optimistic concurrency, see ``indexer.pipeline``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from indexer.errors import TransientError

TRANSIENT_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
                   "InternalError", "ServiceUnavailable", "503", "500"}
ARCHIVED_CLASSES = {"GLACIER", "DEEP_ARCHIVE"}


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

    @property
    def helium(self) -> dict[str, Any] | None:
        """The T4 client's ``helium`` metadata, decoded; None when absent or not JSON."""
        import json

        raw = self.metadata.get("helium")
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


PROBE_BYTES = 64 * 1024
"""What ``probe_state`` reads: the extractor's first read, so a small object costs one GET."""


def _from_response(bucket: str, key: str, resp: dict[str, Any], size: int | None
                   ) -> ObjectState:
    storage = resp.get("StorageClass")
    unreadable = None
    restore = resp.get("Restore") or ""
    if storage in ARCHIVED_CLASSES and 'ongoing-request="false"' not in restore:
        unreadable = f"archived in storage class {storage}; restore it to index its content"
    if resp.get("SSECustomerAlgorithm"):
        unreadable = "encrypted with a customer-provided key (SSE-C)"
    return ObjectState(
        bucket=bucket, key=key, exists=True, version_id=resp.get("VersionId"), size=size,
        etag=resp.get("ETag"), last_modified=resp.get("LastModified"),
        content_type=resp.get("ContentType"),
        metadata={k.lower(): v for k, v in (resp.get("Metadata") or {}).items()},
        storage_class=storage, unreadable=unreadable)


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
    try:
        resp = s3.get_object(**kwargs)
        body = resp["Body"]
        try:
            prefix = body.read()
        finally:
            body.close()
    except ClientError as exc:
        code, status = _code(exc), _status(exc)
        if status == 404 or code in ("NoSuchKey", "NotFound", "NoSuchVersion"):
            return ObjectState(bucket, key, exists=False, version_id=version_id), None
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            raise TransientError(f"S3 GET s3://{bucket}/{key} failed: {code or status}") from exc
        return head_state(s3, bucket, key, version_id), None  # 416 empty, 403, archived ...
    except BotoCoreError as exc:
        raise TransientError(f"S3 GET s3://{bucket}/{key} failed: {exc}") from exc
    content_range = resp.get("ContentRange") or ""
    size = int(content_range.rsplit("/", 1)[1]) if "/" in content_range else len(prefix)
    return _from_response(bucket, key, resp, size), prefix


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
    try:
        head = s3.head_object(**kwargs)
    except ClientError as exc:
        code, status = _code(exc), _status(exc)
        if status == 404 or code in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
            return ObjectState(bucket, key, exists=False, version_id=version_id)
        if code in TRANSIENT_CODES or status >= 500 or status == 429:
            raise TransientError(f"S3 HEAD s3://{bucket}/{key} failed: {code or status}") from exc
        if status == 403:
            return ObjectState(bucket, key, exists=True, version_id=version_id,
                               unreadable="access denied (403) on HEAD")
        if status == 400:  # SSE-C objects cannot be HEAD without the customer key
            return ObjectState(bucket, key, exists=True, version_id=version_id,
                               unreadable=f"HEAD refused ({code or status}): customer-provided "
                                          "encryption key or bad request")
        raise TransientError(f"S3 HEAD s3://{bucket}/{key} failed: {code or status}") from exc
    except BotoCoreError as exc:
        raise TransientError(f"S3 HEAD s3://{bucket}/{key} failed: {exc}") from exc
    return _from_response(bucket, key, head, head.get("ContentLength"))
