"""The errors of the ``t4`` client, and the one place S3 errors are translated.

Every error the client raises on purpose derives from :class:`T4Error`, so
``except t4.T4Error`` catches them all. Where a built-in exception describes the
failure, the error is also an instance of it, so callers who know nothing of
``t4`` still catch it::

    T4Error                                   base of every error below
    ├── NotFoundError(FileNotFoundError)      NoSuchKey, NoSuchVersion, NoSuchBucket, HTTP 404
    ├── AccessDeniedError(PermissionError)    AccessDenied, HTTP 403
    ├── S3Error                               any other S3 error (``.code``, ``.status``)
    ├── InvalidLocationError(ValueError)      a bucket URL, key or version that cannot be used
    ├── MetadataError(ValueError)             bad ``meta=`` or ``tags=``, or unreadable metadata
    │   └── MetadataTooLargeError             user metadata over S3's 2 KB, refused before upload
    ├── FormatError(ValueError)               an object that cannot be (de)serialized
    ├── UnsafeKeyError(ValueError)            keys that would write outside a fetch's destination
    ├── LocalPathConflictError                keys that map to the same local path (``a``, ``a/b``)
    ├── TransferError                         some files of a folder transfer failed (``.errors``)
    ├── DeleteError                           DeleteObjects refused some keys (``.errors``)
    └── SearchNotConfiguredError              ``Bucket.search`` is not wired to a backend yet

botocore's ``ClientError`` (and its connection errors, once retries are spent)
are translated by :func:`translate` only, with the original kept as
``__cause__``; callers never need to import botocore. What an S3 answer means is
decided by ``t4index.s3.classify_error``, the table the indexer uses too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from t4index.s3 import S3Outcome, classify_error


class T4Error(Exception):
    """Base class of every error raised by the ``t4`` client."""


class NotFoundError(T4Error, FileNotFoundError):
    """The bucket, key or version does not exist."""


class AccessDeniedError(T4Error, PermissionError):
    """S3 refused the request for lack of permission."""


class S3Error(T4Error):
    """An S3 error with no more specific class; ``code`` and ``status`` say which."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class InvalidLocationError(T4Error, ValueError):
    """A bucket URL, key or version id that the client cannot use."""


class MetadataError(T4Error, ValueError):
    """User metadata that is not a JSON object, stored metadata that cannot be read, or
    object tags that break S3's rules (``tags=``)."""


class MetadataTooLargeError(MetadataError):
    """The object's user metadata would exceed S3's limit; nothing was uploaded."""


class FormatError(T4Error, ValueError):
    """An object that cannot be serialized, or bytes that cannot be deserialized."""


class UnsafeKeyError(T4Error, ValueError):
    """Keys that would be written outside the destination folder; nothing was written."""

    def __init__(self, message: str, keys: Sequence[str] = ()):
        super().__init__(message)
        self.keys = list(keys)


class LocalPathConflictError(T4Error):
    """Keys that map to the same local path (a file ``a`` and a folder ``a/``)."""

    def __init__(self, message: str, keys: Sequence[str] = ()):
        super().__init__(message)
        self.keys = list(keys)


class TransferError(T4Error):
    """Some files of a folder transfer failed; ``errors`` maps each to its error."""

    def __init__(self, message: str, errors: dict[str, BaseException]):
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class DeleteFailure:
    """One key that ``DeleteObjects`` refused."""

    key: str
    version_id: str | None
    code: str
    message: str


class DeleteError(T4Error):
    """``DeleteObjects`` answered with per-key errors; ``errors`` lists them all."""

    def __init__(self, message: str, errors: Sequence[DeleteFailure]):
        super().__init__(message)
        self.errors = list(errors)


class SearchNotConfiguredError(T4Error):
    """Search needs a search backend, which is configured with ``t4.config`` (not wired yet)."""


def describe(bucket: str, key: str | None = None, version_id: str | None = None) -> str:
    """``s3://bucket/key?versionId=...`` as it appears in messages."""
    text = f"s3://{bucket}/{key}" if key is not None else f"s3://{bucket}"
    return f"{text}?versionId={version_id}" if version_id else text


def translate(
    exc: BaseException, bucket: str, key: str | None = None, version_id: str | None = None
) -> T4Error:
    """The project error for a botocore error raised while working on ``bucket``/``key``.

    The caller raises the result ``from exc``. Errors that are already project
    errors come back unchanged.
    """
    if isinstance(exc, T4Error):
        return exc
    where = describe(bucket, key, version_id)
    failure = classify_error(exc)
    if failure is None:
        return S3Error(f"S3 request on {where} failed: {type(exc).__name__}: {exc}")
    if failure.code == "NoSuchBucket":
        where = f"s3://{bucket}"
    if failure.outcome is S3Outcome.MISSING:
        return NotFoundError(f"{where} not found ({failure.detail})")
    if failure.outcome is S3Outcome.DENIED:
        return AccessDeniedError(f"access denied to {where} ({failure.detail})")
    if not failure.code and failure.status is None:  # a connection failure, retries spent
        return S3Error(f"S3 request on {where} failed: {failure.message}")
    return S3Error(f"S3 error on {where} ({failure.detail})", code=failure.code or None,
                   status=failure.status)
