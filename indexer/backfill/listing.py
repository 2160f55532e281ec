"""Where the objects come from: S3 listing pages streamed as fixed-size chunks.

ListObjectsV2 returns keys in UTF-8 byte order (the order of Python's ``str``
comparison, since UTF-8 preserves code point order), 1,000 per page at most; the
listing is consumed lazily so memory holds one page and one chunk, whatever the
bucket's size. ``start_after`` resumes a listing after the last key of a chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from queue import Full, Queue
from threading import Event, Thread
from typing import Any, TypeVar

from indexer.versions import VersionRow, page_rows
from t4index.retry import RetryPolicy

T = TypeVar("T")
RETRY = RetryPolicy(max_attempts=5)
"""The one retry layer of listing calls (every S3 client here has botocore's retries off)."""


def _pages(s3: Any, operation: str, kwargs: dict[str, Any],
           follow: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The pages of a listing ``operation``, each request retried through ``RETRY``.

    ``follow`` maps the answer's continuation fields to the next request's parameters.
    """
    kwargs = dict(kwargs)
    call = getattr(s3, operation)
    while True:
        page = RETRY.call(lambda: call(**kwargs))
        yield page
        if not page.get("IsTruncated"):
            return
        nxt = {param: page[field] for field, param in follow.items() if page.get(field)}
        if not nxt:
            return
        kwargs.update(nxt)


@dataclass(frozen=True)
class Listed:
    """One object as a listing (or an inventory row) describes it."""

    key: str
    size: int
    etag: str | None
    last_modified: datetime | str | None
    storage_class: str | None = None


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket[/prefix]`` -> ``(bucket, prefix)``.

    Raises:
        ValueError: not an ``s3://`` URL, or no bucket.
    """
    if not url.startswith("s3://"):
        raise ValueError(f"expected s3://bucket[/prefix], got {url!r}")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, prefix


def list_objects(s3: Any, bucket: str, prefix: str = "", *, start_after: str | None = None,
                 page_size: int = 1000) -> Iterator[tuple[str, Listed]]:
    """Every object under ``prefix`` after ``start_after``, as ``(resume position, object)``.

    The position of an object is its key: resuming with ``start_after=key`` lists
    what follows it.
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page_size}
    if start_after:
        kwargs["StartAfter"] = start_after
    for page in _pages(s3, "list_objects_v2", kwargs,
                       {"NextContinuationToken": "ContinuationToken"}):
        for item in page.get("Contents", []):
            yield item["Key"], Listed(key=item["Key"], size=int(item.get("Size", 0)),
                                      etag=item.get("ETag"), last_modified=item.get("LastModified"),
                                      storage_class=item.get("StorageClass"))


def count_objects(s3: Any, bucket: str, prefix: str = "") -> tuple[int, int]:
    """``(objects, bytes)`` under ``prefix``: one LIST per 1,000 keys, for the ETA."""
    objects = size = 0
    for _, item in list_objects(s3, bucket, prefix):
        objects += 1
        size += item.size
    return objects, size


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most ``size`` items, read lazily."""
    if size < 1:
        raise ValueError(f"chunk size must be positive, got {size}")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def prefetched(chunks: Iterator[list[T]], depth: int = 1) -> Iterator[list[T]]:
    """``chunks`` read ahead by a background thread (at most ``depth`` chunks waiting).

    The next LIST pages arrive while the caller compares and indexes the current
    chunk. Errors of the reader are raised in the caller; closing the generator
    stops the reader.
    """
    queue: Queue = Queue(maxsize=depth)
    stop, end = Event(), object()

    def read() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.1)
                        break
                    except Full:  # check stop and retry
                        continue
                if stop.is_set():
                    return
            queue.put(end)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            queue.put(exc)

    Thread(target=read, daemon=True, name="backfill-listing").start()
    try:
        while (item := queue.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def list_versions_by_key(s3: Any, bucket: str, prefix: str = "", *,
                         start_after: str | None = None, page_size: int = 1000
                         ) -> Iterator[tuple[str, list[VersionRow]]]:
    """Every key under ``prefix`` that has versions or delete markers, in key order, with
    all of them (ListObjectVersions: newest first, versions before markers).

    Pages are read one at a time: memory holds one page and the rows of one key
    (a key whose versions span pages is yielded once, complete). ``start_after``
    resumes after that key (ListObjectVersions' ``KeyMarker``).
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page_size}
    if start_after:
        kwargs["KeyMarker"] = start_after
    key: str | None = None
    rows: list[VersionRow] = []
    for page in _pages(s3, "list_object_versions", kwargs,
                       {"NextKeyMarker": "KeyMarker", "NextVersionIdMarker": "VersionIdMarker"}):
        for row_key, row in page_rows(page):
            if row_key != key:
                if key is not None:
                    yield key, rows
                key, rows = row_key, []
            rows.append(row)
    if key is not None:
        yield key, rows


def list_version_keys(s3: Any, bucket: str, prefix: str = "", *,
                      start_after: str | None = None,
                      page_size: int = 1000) -> Iterator[tuple[str, Listed]]:
    """Every key under ``prefix`` that has versions or delete markers, once, in key order
    (the all-versions mode's listing: a key whose current version is a delete marker is
    not in ListObjectsV2, but its older versions are indexed too).

    The position is the key; ``start_after`` resumes after it (ListObjectVersions'
    ``KeyMarker`` lists the keys after the marker).
    """
    for key, rows in list_versions_by_key(s3, bucket, prefix, start_after=start_after,
                                          page_size=page_size):
        first = rows[0]
        yield key, Listed(key=key, size=int(first.size or 0), etag=first.etag,
                          last_modified=first.last_modified)
