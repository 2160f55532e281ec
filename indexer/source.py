"""Reading one S3 object for extraction: ranged GETs and one bounded stream.

Extractors read objects through the :class:`ObjectSource` protocol only, so
they run the same on S3 (:class:`S3ObjectSource`) and on local bytes
(:class:`FileSource`: tests, benchmarks, the inside of a gzip file).

Errors (the one place S3 errors are translated, original kept as ``__cause__``)::

    SourceError
    ├── ObjectGone            NoSuchKey, NoSuchVersion, NoSuchBucket, 404: nothing to index
    ├── ObjectUnreadable      permanent refusal (``.reason``): AccessDenied, 403,
    │                         InvalidObjectState (archived), SSE-C, KMS key errors, other 4xx
    └── SourceUnavailable     may pass: throttling, 5xx, dropped connections, and
        └── ObjectChanged     the object changed between two reads (If-Match failed)

Throttling and 5xx are retried here first, with capped exponential backoff
(``t4index.retry``, the only retry layer: the indexer's S3 client has botocore's
retries off); what is left is raised as :class:`SourceUnavailable`. S3 errors are
classified by ``t4index.s3.classify_error``, the table the client uses too.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import IO, Any, Protocol, runtime_checkable

from t4index import helium
from t4index.retry import RetryPolicy
from t4index.s3 import S3Outcome, classify_error

DEFAULT_CHUNK = 1 * 2**20


class SourceError(Exception):
    """Base of the errors raised while reading an object."""


class ObjectGone(SourceError):
    """The object (or the requested version) does not exist any more."""


class ObjectUnreadable(SourceError):
    """S3 refuses to serve the object's bytes for a reason that will not pass by itself.

    Attributes:
        reason: a short explanation naming the S3 error code.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class SourceUnavailable(SourceError):
    """Reading failed for a reason that may pass (throttling, 5xx, connection)."""


class ObjectChanged(SourceUnavailable):
    """The object was overwritten between two reads; retrying reads the new one."""


@runtime_checkable
class ObjectSource(Protocol):
    """One object as extractors see it: its listing facts and two ways to read it."""

    bucket: str
    key: str
    version_id: str | None
    size: int
    content_type: str | None
    helium_format: str | None

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` inclusive (clipped to the object's size)."""
        ...

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        """The whole object, in chunks of at most ``chunk_size`` bytes."""
        ...


def helium_format(user_metadata: Mapping[str, str] | None) -> str | None:
    """The format name T4 recorded in the ``helium`` user metadata, if any.

    Returns:
        ``format.name``, else ``target``, else None (also for unreadable ``helium``).
    """
    return helium.decode(user_metadata).format_name


def _clip(start: int, end: int, size: int) -> tuple[int, int] | None:
    if start < 0 or end < start:
        raise ValueError(f"invalid byte range {start}-{end}")
    if start >= size:
        return None
    return start, min(end, size - 1)


# --- S3 ------------------------------------------------------------------------------------

_SSE_C_HINT = "Server Side Encryption"


def _unreadable_reason(code: str, message: str, storage_class: str | None) -> str:
    if code == "InvalidObjectState":
        where = f" in storage class {storage_class}" if storage_class else ""
        return f"archived{where} and not restored (InvalidObjectState)"
    if code.startswith("KMS."):
        return f"the object's KMS key cannot be used ({code})"
    if _SSE_C_HINT in message or "customer" in message.lower():
        return f"encrypted with a customer-provided key, SSE-C ({code})"
    if code in {"AccessDenied", "403", "AllAccessDisabled"}:
        return f"access denied ({code})"
    return f"S3 refused to serve it ({code}: {message})" if message else f"S3 refused ({code})"


def translate(exc: Exception, where: str, storage_class: str | None = None) -> Exception:
    """The :class:`SourceError` for a botocore error raised while reading ``where``.

    Returns:
        The translated error (raise it ``from exc``), or ``exc`` itself when it
        is not an S3 or connection error.
    """
    failure = classify_error(exc)
    if failure is None:
        return exc
    code = failure.code
    if failure.outcome is S3Outcome.MISSING:
        return ObjectGone(f"{where}: {code}")
    if failure.outcome is S3Outcome.CHANGED:
        return ObjectChanged(f"{where} changed while it was read ({code})")
    if failure.outcome is S3Outcome.RETRYABLE:
        if not code:
            return SourceUnavailable(f"{where}: {failure.message}")
        return SourceUnavailable(f"{where}: {code} (HTTP {failure.status or 0}), retry later")
    reason = _unreadable_reason(code, failure.message, failure.storage_class or storage_class)
    return ObjectUnreadable(f"{where}: {reason}", reason)


class S3ObjectSource:
    """An S3 object read by ranged GETs on a boto3 client.

    When no version id is given, every read sends ``If-Match`` with the ETag
    from the listing, so that all reads see the same bytes; an overwrite in
    between raises :class:`ObjectChanged`.
    """

    def __init__(self, client: Any, bucket: str, key: str, version_id: str | None = None, *,
                 size: int, content_type: str | None = None, helium_format: str | None = None,
                 etag: str | None = None, storage_class: str | None = None,
                 retry: RetryPolicy | None = None) -> None:
        """Wrap ``bucket``/``key`` (and version) with the facts of its HEAD or listing.

        Raises:
            ValueError: ``size`` is negative.
        """
        if size < 0:
            raise ValueError(f"size of s3://{bucket}/{key} is negative: {size}")
        self.client = client
        self.bucket = bucket
        self.key = key
        self.version_id = version_id
        self.size = size
        self.content_type = content_type
        self.helium_format = helium_format
        self.etag = etag
        self.storage_class = storage_class
        self._retry = retry or RetryPolicy(max_attempts=3)

    @classmethod
    def head(cls, client: Any, bucket: str, key: str, version_id: str | None = None, *,
             retry: RetryPolicy | None = None) -> S3ObjectSource:
        """Build the source from a HEAD request.

        Returns:
            The source.

        Raises:
            ObjectGone, ObjectUnreadable, SourceUnavailable: as the HEAD fails.
        """
        retry = retry or RetryPolicy(max_attempts=3)
        where = cls._where(bucket, key, version_id)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            head = retry.call(lambda: client.head_object(**kwargs))
        except Exception as exc:
            raise translate(exc, where) from exc
        return cls(client, bucket, key, version_id, size=int(head.get("ContentLength") or 0),
                   content_type=head.get("ContentType"),
                   helium_format=helium_format(head.get("Metadata")),
                   etag=head.get("ETag"), storage_class=head.get("StorageClass"), retry=retry)

    @staticmethod
    def _where(bucket: str, key: str, version_id: str | None) -> str:
        suffix = f"?versionId={version_id}" if version_id else ""
        return f"s3://{bucket}/{key}{suffix}"

    @property
    def where(self) -> str:
        """``s3://bucket/key[?versionId=...]``, for messages."""
        return self._where(self.bucket, self.key, self.version_id)

    def _get_kwargs(self, byte_range: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key}
        if self.version_id:
            kwargs["VersionId"] = self.version_id
        elif self.etag:
            kwargs["IfMatch"] = self.etag
        if byte_range:
            kwargs["Range"] = byte_range
        return kwargs

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` inclusive by one ranged GET (clipped to the size).

        Returns:
            The bytes (``b""`` when the range starts past the end).

        Raises:
            ObjectGone, ObjectUnreadable, SourceUnavailable.
        """
        clipped = _clip(start, end, self.size)
        if clipped is None:
            return b""
        kwargs = self._get_kwargs(f"bytes={clipped[0]}-{clipped[1]}")

        def get() -> bytes:
            body = self.client.get_object(**kwargs)["Body"]
            try:
                return body.read()
            finally:
                body.close()

        try:
            return self._retry.call(get)
        except Exception as exc:
            raise translate(exc, self.where, self.storage_class) from exc

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        """The whole object by one streamed GET, ``chunk_size`` bytes at a time.

        The stream is closed when the caller stops early (closes the generator).

        Raises:
            ObjectGone, ObjectUnreadable, SourceUnavailable.
        """
        if self.size == 0:
            return
        try:
            body = self._retry.call(
                lambda: self.client.get_object(**self._get_kwargs(None))["Body"])
        except Exception as exc:
            raise translate(exc, self.where, self.storage_class) from exc
        try:
            while True:
                try:
                    chunk = body.read(chunk_size)
                except Exception as exc:
                    raise translate(exc, self.where, self.storage_class) from exc
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()


# --- local bytes ---------------------------------------------------------------------------


class FileSource:
    """An object whose bytes are in a local seekable binary file (or in memory).

    Used for the decompressed inside of a gzip object, and by tests.
    """

    def __init__(self, fileobj: IO[bytes], key: str, *, size: int | None = None,
                 bucket: str = "", version_id: str | None = None,
                 content_type: str | None = None, helium_format: str | None = None) -> None:
        """Wrap ``fileobj``; its size is measured when not given."""
        if size is None:
            size = fileobj.seek(0, io.SEEK_END)
        self._file = fileobj
        self.bucket = bucket
        self.key = key
        self.version_id = version_id
        self.size = size
        self.content_type = content_type
        self.helium_format = helium_format

    @classmethod
    def from_bytes(cls, data: bytes, key: str, **kwargs: Any) -> FileSource:
        """A source over ``data`` in memory.

        Returns:
            The source.
        """
        return cls(io.BytesIO(data), key, size=len(data), **kwargs)

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` inclusive (clipped to the size).

        Returns:
            The bytes.
        """
        clipped = _clip(start, end, self.size)
        if clipped is None:
            return b""
        self._file.seek(clipped[0])
        return self._file.read(clipped[1] - clipped[0] + 1)

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        """The whole file, ``chunk_size`` bytes at a time."""
        self._file.seek(0)
        remaining = self.size
        while remaining > 0:
            chunk = self._file.read(min(chunk_size, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
