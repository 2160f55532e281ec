"""``t4.Bucket``: the seed's client API over one S3 bucket.

Every S3 call goes through :class:`~t4index.retry.RetryPolicy` and every S3 error
through :func:`~t4._errors.translate`. Folder operations run on a thread pool;
progress is reported to an optional callback, called from the caller's thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from t4 import _formats, _meta
from t4._errors import (
    AccessDeniedError,
    DeleteError,
    DeleteFailure,
    InvalidLocationError,
    MetadataError,
    NotFoundError,
    S3Error,
    TransferError,
    UnsafeKeyError,
    describe,
    translate,
)
from t4._local import atomic_writer, local_files, make_parents, plan_folder, safe_parts
from t4._paths import check_key, folder_prefix, is_folder_marker, parse_bucket_url, split_version
from t4index import content_types
from t4index.query import DEFAULT_PAGE_SIZE
from t4index.retry import RetryPolicy, fast_timestamps, s3_client_config
from t4index.s3 import check_tags, encode_tagging, normalize_etag, tags_from_tagset

DEFAULT_MAX_WORKERS = 16
MULTIPART_THRESHOLD = 64 * 1024 * 1024
SMALL_FILE = 1024 * 1024
DELETE_BATCH = 1000
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """One object of a listing."""

    key: str
    size: int
    last_modified: datetime
    etag: str


@dataclass(frozen=True)
class Progress:
    """One file of a transfer finished; totals so far and in all."""

    key: str
    path: str
    size: int
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


ProgressCallback = Callable[[Progress], None]


def _default_client(session: Any, max_workers: int) -> Any:
    import boto3

    session = session or boto3.Session()
    # One retry layer only: t4index.retry, which also covers reading bodies.
    return fast_timestamps(session.client("s3", config=s3_client_config(
        max_pool_connections=max(10, max_workers))))


def _content_type(path: str | Path, given: str | None = None) -> str:
    """``given``, else the type of ``path``'s name (``t4index.content_types``)."""
    return given or content_types.guess(str(path))


class Bucket:
    """One S3 bucket, reached with boto3's own configuration rules.

    ``Bucket("s3://my-bucket")`` (or ``Bucket("my-bucket")``) does not contact S3.
    Credentials, region, profile and ``endpoint_url`` come from ``session``
    (default: ``boto3.Session()``, so ``AWS_PROFILE``, ``AWS_ENDPOINT_URL`` and
    the rest apply). A ready ``client`` may be injected instead (tests,
    custom transports). ``max_workers`` bounds folder concurrency.

    Raises:
        InvalidLocationError: the URL has a path or a query, or the name is invalid.
    """

    def __init__(
        self,
        url: str,
        *,
        session: Any = None,
        client: Any = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.name = parse_bucket_url(url)
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self._retry = retry or RetryPolicy()
        self._session = session
        self._client = client if client is not None else _default_client(session, max_workers)

    def __repr__(self) -> str:
        return f"Bucket('s3://{self.name}')"

    # --- plumbing ---------------------------------------------------------------------------

    def _call(self, fn: Callable[[], Any], key: str | None = None,
              version_id: str | None = None) -> Any:
        """Run one S3 operation with retries; S3 errors become project errors."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._retry.call(fn)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, self.name, key, version_id) from exc

    def _target(self, key: str, version_id: str | None = None) -> dict[str, str]:
        args = {"Bucket": self.name, "Key": key}
        if version_id:
            args["VersionId"] = version_id
        return args

    @staticmethod
    def _file_key(key: str, version_id: str | None) -> tuple[str, str | None]:
        key, version_id = split_version(key, version_id)
        check_key(key)
        if is_folder_marker(key):
            raise InvalidLocationError(
                f"{key!r} ends with '/', which names a folder, not an object; "
                "give the object's full key"
            )
        return key, version_id

    @classmethod
    def _write_key(cls, key: str) -> str:
        """``key`` checked for a write: a version cannot be chosen on write.

        Raises:
            InvalidLocationError: the key ends with ``?versionId=...``, is a folder or too long.
        """
        if isinstance(key, str) and split_version(key)[1] is not None:
            raise InvalidLocationError(
                f"{key!r} names a version, and a version cannot be chosen on write "
                "(S3 assigns version ids); give the key without '?versionId=...'"
            )
        return cls._file_key(key, None)[0]

    # --- introspection ----------------------------------------------------------------------

    def iter_objects(self, prefix: str | None = None) -> Iterator[ObjectInfo]:
        """Yield every object under ``prefix`` (all of them when None), in key order.

        Pages of 1,000 are fetched as the iterator advances. Folder markers
        (keys ending in ``/``) are included, as S3 lists them.

        Raises:
            NotFoundError: the bucket does not exist.
            AccessDeniedError: listing is not allowed.
        """
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": self.name, "Prefix": prefix or ""}
            if token:
                args["ContinuationToken"] = token
            page = self._call(lambda a=args: self._client.list_objects_v2(**a), prefix)
            for item in page.get("Contents", ()):
                yield ObjectInfo(item["Key"], item["Size"], item["LastModified"],
                                 normalize_etag(item.get("ETag")) or "")
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def _keys(self, prefix: str) -> Iterator[str]:
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": self.name, "Prefix": prefix}
            if token:
                args["ContinuationToken"] = token
            page = self._call(lambda a=args: self._client.list_objects_v2(**a), prefix)
            for item in page.get("Contents", ()):
                yield item["Key"]
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def keys(self, prefix: str | None = None) -> list[str]:
        """The keys of all objects (under ``prefix`` when given), in S3's key order.

        Returns a list, as the seed shows; it is built from paginated listings
        (1,000 keys a request), so any number of objects is listed. Folder
        markers (keys ending in ``/``) are included. Use :meth:`iter_objects`
        to stream a huge bucket, with sizes and dates.

        Raises:
            NotFoundError: the bucket does not exist.
            AccessDeniedError: listing is not allowed.
        """
        return list(self._keys(prefix or ""))

    # --- reading ----------------------------------------------------------------------------

    def get_meta(self, key: str, *, version_id: str | None = None) -> dict[str, Any]:
        """The user metadata that ``put*`` stored with ``meta=`` (``{}`` when none).

        ``key`` may end with ``?versionId=<id>``, or pass ``version_id``.

        Raises:
            NotFoundError: no such key or version.
            AccessDeniedError: reading is not allowed.
            MetadataError: the stored ``helium`` metadata is not a JSON object.
        """
        key, version_id = self._file_key(key, version_id)
        head = self._call(lambda: self._client.head_object(**self._target(key, version_id)),
                          key, version_id)
        helium = _meta.decode(head.get("Metadata"), describe(self.name, key, version_id))
        return _meta.user_meta(helium)

    def deserialize(self, key: str, *, version_id: str | None = None) -> Any:
        """Read one object into memory as a Python object.

        The format is chosen by the ``helium`` record, then the content type,
        then the extension (see ``t4._formats``); objects with none of these
        come back as ``bytes``. Pickles are never loaded.

        Raises:
            NotFoundError: no such key or version.
            AccessDeniedError: reading is not allowed.
            FormatError: the recorded format is unknown, the object is a pickle,
                or its bytes are not valid for its format.
        """
        key, version_id = self._file_key(key, version_id)

        def read() -> tuple[bytes, dict[str, Any]]:
            resp = self._client.get_object(**self._target(key, version_id))
            with closing(resp["Body"]) as body:
                return body.read(), resp

        data, resp = self._call(read, key, version_id)
        where = describe(self.name, key, version_id)
        helium = _meta.decode(resp.get("Metadata"), where)
        fmt, charset = _formats.for_reading(key, helium, resp.get("ContentType"))
        return _formats.loads(fmt, data, charset, where)

    def __call__(self, key: str, *, version_id: str | None = None) -> Any:
        """Sugar for :meth:`deserialize`: ``b("path/to/file")``."""
        return self.deserialize(key, version_id=version_id)

    def _download(self, key: str, version_id: str | None, target: Path,
                  make_parent: bool = True) -> int:
        """GET one object into ``target`` through a temporary file; returns its size."""

        def attempt() -> int:
            resp = self._client.get_object(**self._target(key, version_id))
            fd, tmp = atomic_writer(target, make_parent)
            size = 0
            try:
                with os.fdopen(fd, "wb") as out, closing(resp["Body"]) as body:
                    for chunk in body.iter_chunks(_CHUNK):
                        out.write(chunk)
                        size += len(chunk)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return size

        return self._call(attempt, key, version_id)

    def fetch(
        self,
        key: str,
        path: str | os.PathLike[str],
        *,
        version_id: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Download one object, or a whole folder, to the local ``path``.

        - ``key`` ending in ``/`` (or ``""``, the whole bucket) is a folder: every
          object under it is written below ``path`` with its relative path kept
          (``fetch("data/", "out")`` writes ``data/x/y.csv`` to ``out/x/y.csv``).
          Folder markers are skipped. Keys that would land outside ``path``
          (``..``, ``/abs``, ``a//b``) raise :class:`UnsafeKeyError`, and a file
          ``a`` beside a folder ``a/`` raises :class:`LocalPathConflictError`,
          both before anything is written.
        - Any other ``key`` is first read as an object: it is written to
          ``path``, or into ``path`` under its own name when ``path`` is an
          existing folder or ends with a separator. When both ``a`` and ``a/b``
          exist, ``fetch("a", ...)`` fetches the object ``a``; ``fetch("a/", ...)``
          fetches the folder. When no object ``key`` exists but ``key/`` has
          objects, the folder is fetched.

        Files are written atomically (temporary file, then rename); existing
        files are replaced. Folder files are fetched concurrently and
        ``progress`` is called after each one.

        Returns:
            The local file written, or the destination folder.

        Raises:
            NotFoundError: no such object, version or folder.
            UnsafeKeyError, LocalPathConflictError: see above.
            TransferError: some files of a folder failed (all are listed).
        """
        key, version_id = split_version(key, version_id)
        dest = Path(path)
        if key == "" or is_folder_marker(key):
            if version_id:
                raise InvalidLocationError(f"a version id names one object, not a folder: {key!r}")
            return self._fetch_folder(key, dest, progress)
        check_key(key)
        into = dest.is_dir() or str(path).endswith((os.sep, "/"))
        if into:
            name = key.rsplit("/", 1)[-1]
            if safe_parts(name) is None:
                raise UnsafeKeyError(
                    f"the name of {key!r} cannot be used as a file name in {str(dest)!r}; "
                    "give a full destination path",
                    [key],
                )
            target = dest / name
        else:
            target = dest
        try:
            size = self._download(key, version_id, target)
        except NotFoundError:
            if version_id is None and self._has_prefix(key + "/"):
                return self._fetch_folder(key + "/", dest, progress)
            raise
        if progress is not None:
            progress(Progress(key, str(target), size, 1, 1, size, size))
        return target

    def _has_prefix(self, prefix: str) -> bool:
        args = {"Bucket": self.name, "Prefix": prefix, "MaxKeys": 1}
        page = self._call(lambda: self._client.list_objects_v2(**args), prefix)
        return bool(page.get("Contents"))

    def _fetch_folder(self, prefix: str, dest: Path, progress: ProgressCallback | None) -> Path:
        listed = list(self.iter_objects(prefix))
        if not listed:
            raise NotFoundError(f"{describe(self.name, prefix)} not found (no objects under it)")
        objects = {o.key: o for o in listed if not is_folder_marker(o.key)}
        plan = plan_folder(dest, prefix, objects)
        dest.mkdir(parents=True, exist_ok=True)
        make_parents(plan)
        total = sum(objects[k].size for k, _ in plan)

        def work(item: tuple[str, Path]) -> int:
            return self._download(item[0], None, item[1], make_parent=False)

        self._run(plan, work, progress, total, lambda item: str(item[1]))
        return dest

    def _run(
        self,
        items: list[Any],
        work: Callable[[Any], int],
        progress: ProgressCallback | None,
        bytes_total: int,
        local: Callable[[Any], str],
    ) -> None:
        """Run ``work`` on every item concurrently; report progress; raise all failures at once."""
        errors: dict[str, BaseException] = {}
        done = bytes_done = 0
        with ThreadPoolExecutor(max_workers=self.max_workers,
                                thread_name_prefix="t4-transfer") as pool:
            futures: dict[Future[int], Any] = {pool.submit(work, item): item for item in items}
            pending = set(futures)
            while pending:
                try:
                    finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                except BaseException:  # Ctrl-C: drop the queued files, let running ones end
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
                for fut in finished:
                    item = futures[fut]
                    exc = fut.exception()
                    if exc is not None:
                        errors[item[0]] = exc
                        continue
                    size = fut.result()
                    done += 1
                    bytes_done += size
                    if progress is not None:
                        progress(Progress(item[0], local(item), size, done, len(items),
                                          bytes_done, bytes_total))
        if errors:
            first_key, first = next(iter(errors.items()))
            shown = "; ".join(f"{k!r}: {e}" for k, e in list(errors.items())[:5])
            more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise TransferError(
                f"{len(errors)} of {len(items)} file(s) failed in s3://{self.name}: {shown}{more}",
                errors,
            ) from first

    # --- writing ----------------------------------------------------------------------------

    @staticmethod
    def _tagging(tags: Mapping[str, Any] | None, where: str) -> dict[str, str]:
        """``{"Tagging": ...}`` for a PUT with ``tags`` (empty for None).

        Raises:
            MetadataError: the tags break S3's rules (nothing is uploaded).
        """
        if tags is None:
            return {}
        try:
            checked = check_tags(tags, where)
        except ValueError as exc:
            raise MetadataError(str(exc)) from None
        return {"Tagging": encode_tagging(checked)} if checked else {}

    def _upload(self, key: str, path: Path, metadata: dict[str, str],
                content_type: str, tagging: Mapping[str, str] | None = None
                ) -> tuple[int, str | None]:
        """PUT one local file (multipart above 64 MiB); returns its size and version id."""
        size = path.stat().st_size
        extra = {"Metadata": metadata, "ContentType": content_type, **(tagging or {})}
        if size <= MULTIPART_THRESHOLD:

            def attempt() -> Any:
                if size <= SMALL_FILE:  # bytes: no 100-continue round trip, no re-read to sign
                    return self._client.put_object(Bucket=self.name, Key=key,
                                                   Body=path.read_bytes(), **extra)
                with open(path, "rb") as body:
                    return self._client.put_object(Bucket=self.name, Key=key, Body=body, **extra)

            return size, self._call(attempt, key).get("VersionId")
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD,
                                multipart_chunksize=MULTIPART_THRESHOLD)
        self._call(lambda: self._client.upload_file(str(path), self.name, key,
                                                    ExtraArgs=extra, Config=config), key)
        head = self._call(lambda: self._client.head_object(Bucket=self.name, Key=key), key)
        return size, head.get("VersionId")

    def put_file(
        self, key: str, path: str | os.PathLike[str], meta: dict[str, Any] | None = None,
        *, content_type: str | None = None, tags: Mapping[str, Any] | None = None,
    ) -> str | None:
        """Upload the local file ``path`` to ``key``, with user metadata ``meta``.

        The content type is ``content_type``, else guessed from the file name (the
        standard library's table plus notebooks, Parquet, JSON Lines, NumPy ...:
        ``t4index.content_types``; ``a.csv.gz`` is ``application/gzip``); ``helium``
        is ``{"user_meta": meta}``, as the original client wrote it. ``tags`` are
        set as the object's S3 tags (at most 10; values are text: numbers and
        booleans are written as text).

        Returns:
            The new version id on a versioned bucket, else None.

        Raises:
            MetadataTooLargeError: ``meta`` would take the object over S3's 2 KB
                of user metadata (checked before any upload).
            MetadataError: ``tags`` break S3's tag rules (checked before any upload).
            FileNotFoundError, IsADirectoryError: ``path`` is not a file.
            AccessDeniedError, NotFoundError (no bucket), S3Error.
        """
        key = self._write_key(key)
        src = Path(path)
        if src.is_dir():
            raise IsADirectoryError(f"{str(src)!r} is a folder; use put_dir")
        metadata = _meta.encode(_meta.build_helium(meta), describe(self.name, key))
        tagging = self._tagging(tags, describe(self.name, key))
        if not src.is_file():
            raise FileNotFoundError(f"no such local file: {str(src)!r}")
        return self._upload(key, src, metadata, _content_type(src, content_type), tagging)[1]

    def put(self, key: str, obj: Any, meta: dict[str, Any] | None = None, *,
            tags: Mapping[str, Any] | None = None) -> str | None:
        """Serialize ``obj`` by its type (and the key's extension) and store it at ``key``.

        dict/list/numbers -> JSON, str -> UTF-8 text, bytes -> raw,
        DataFrame -> Parquet (CSV/TSV for ``.csv``/``.tsv`` keys), ndarray -> ``.npy``.
        The format and ``meta`` are recorded in ``helium`` as the original
        client recorded them; ``tags`` become the object's S3 tags (as in ``put_file``).

        Returns:
            The new version id on a versioned bucket, else None.

        Raises:
            FormatError: no format handles ``obj``.
            MetadataTooLargeError: the metadata would exceed 2 KB (nothing uploaded).
            MetadataError: ``tags`` break S3's tag rules (nothing uploaded).
            AccessDeniedError, NotFoundError (no bucket), S3Error.
        """
        key = self._write_key(key)
        fmt = _formats.for_object(obj, key)
        helium = _meta.build_helium(meta, fmt.helium(), fmt.name)
        metadata = _meta.encode(helium, describe(self.name, key))
        tagging = self._tagging(tags, describe(self.name, key))
        data = fmt.dumps(obj)
        resp = self._call(lambda: self._client.put_object(
            Bucket=self.name, Key=key, Body=data, Metadata=metadata, ContentType=fmt.content_type,
            **tagging,
        ), key)
        return resp.get("VersionId")

    def get_tags(self, key: str, *, version_id: str | None = None) -> dict[str, str]:
        """The S3 tags of the object ``key`` (or of one version of it).

        Returns:
            ``{tag key: value}`` in S3's order (``{}`` when it has none).

        Raises:
            NotFoundError: no such bucket, key or version.
            AccessDeniedError: the caller may not read the tags (``s3:GetObjectTagging``).
            S3Error: any other S3 error.
        """
        key, version_id = self._file_key(key, version_id)
        resp = self._call(lambda: self._client.get_object_tagging(
            **self._target(key, version_id)), key, version_id)
        return tags_from_tagset(resp.get("TagSet"))

    def put_dir(
        self,
        prefix: str,
        folder: str | os.PathLike[str],
        meta: dict[str, Any] | None = None,
        *,
        progress: ProgressCallback | None = None,
        content_type: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        """Upload every file under the local ``folder`` to ``prefix/<relative path>``.

        ``prefix`` is a folder whether or not it ends with ``/`` (``""`` is the
        bucket's top). Each file's content type is ``content_type`` when given, else
        guessed from its name as ``put_file`` does. Every file gets ``meta`` and the
        S3 tags ``tags``; the size and tag limits are checked
        before any upload. Files are uploaded concurrently; ``progress`` is
        called after each one. Symbolic links to folders are not followed.

        Returns:
            The number of files uploaded.

        Raises:
            NotADirectoryError, FileNotFoundError: ``folder`` is not a folder.
            MetadataTooLargeError, MetadataError (``tags``): before any upload.
            TransferError: some files failed (all are listed; the others are uploaded).
        """
        src = Path(folder)
        if not src.exists():
            raise FileNotFoundError(f"no such local folder: {str(src)!r}")
        if not src.is_dir():
            raise NotADirectoryError(f"{str(src)!r} is not a folder; use put_file")
        base = folder_prefix(prefix)
        metadata = _meta.encode(_meta.build_helium(meta), describe(self.name, base + "*"))
        tagging = self._tagging(tags, describe(self.name, base + "*"))
        plan = [(base + rel, path) for rel, path in local_files(src)]
        for key, _ in plan:
            self._write_key(key)
        total = sum(p.stat().st_size for _, p in plan)

        def work(item: tuple[str, Path]) -> int:
            return self._upload(item[0], item[1], metadata,
                                _content_type(item[1], content_type), tagging)[0]

        self._run(plan, work, progress, total, lambda item: str(item[1]))
        return len(plan)

    # --- deleting ---------------------------------------------------------------------------

    def delete(self, key: str, *, version_id: str | None = None) -> None:
        """Delete the object ``key`` (one version of it with ``version_id`` / ``?versionId=``).

        As in S3, deleting a key that does not exist succeeds. On a versioned
        bucket, deleting without a version adds a delete marker.

        Raises:
            InvalidLocationError: ``key`` ends with ``/`` (use :meth:`delete_dir`).
            AccessDeniedError, NotFoundError (no bucket), S3Error.
        """
        if isinstance(key, str) and is_folder_marker(split_version(key, version_id)[0]):
            raise InvalidLocationError(
                f"{key!r} names a folder; use delete_dir to delete a folder and its marker"
            )
        key, version_id = self._file_key(key, version_id)
        self._call(lambda: self._client.delete_object(**self._target(key, version_id)),
                   key, version_id)

    def delete_dir(self, prefix: str) -> int:
        """Delete every object under the folder ``prefix`` (its marker included).

        ``prefix`` is a folder whether or not it ends with ``/``: ``delete_dir("a")``
        deletes ``a/...``, never ``ab``. The whole bucket (``""`` or ``"/"``) is
        refused. Keys are deleted with ``DeleteObjects``, 1,000 per request; on a
        versioned bucket each gets a delete marker.

        Returns:
            The number of keys deleted.

        Raises:
            InvalidLocationError: an empty prefix.
            DeleteError: S3 refused some keys (every one is listed); the others
                are deleted.
        """
        if not prefix or prefix.strip("/") == "":
            raise InvalidLocationError(
                "refusing to delete the whole bucket; pass a folder prefix such as 'data/'"
            )
        base = folder_prefix(prefix)
        failures: list[DeleteFailure] = []
        deleted = 0
        batch: list[str] = []

        def flush() -> None:
            nonlocal deleted
            objects = [{"Key": k} for k in batch]
            try:
                resp = self._call(lambda: self._client.delete_objects(
                    Bucket=self.name, Delete={"Objects": objects, "Quiet": True}), base)
            except S3Error:
                # The whole request was refused, e.g. for a key that XML cannot carry (a
                # control character): delete key by key, so one bad key costs only itself.
                resp = {"Errors": self._delete_each(batch)}
            errs = resp.get("Errors", [])
            failures.extend(
                DeleteFailure(e.get("Key", ""), e.get("VersionId"), e.get("Code", ""),
                              e.get("Message", ""))
                for e in errs
            )
            deleted += len(batch) - len(errs)
            batch.clear()

        for key in self._keys(base):
            batch.append(key)
            if len(batch) == DELETE_BATCH:
                flush()
        if batch:
            flush()
        if failures:
            shown = "; ".join(f"{f.key!r}: {f.code} {f.message}".strip() for f in failures[:10])
            more = f" (and {len(failures) - 10} more)" if len(failures) > 10 else ""
            raise DeleteError(
                f"S3 refused to delete {len(failures)} key(s) under {describe(self.name, base)}: "
                f"{shown}{more}",
                failures,
            )
        return deleted

    def _delete_each(self, keys: list[str]) -> list[dict[str, str]]:
        """Delete ``keys`` one request each; the refused ones in ``DeleteObjects``' error shape."""
        errors = []
        for key in keys:
            try:
                self._call(lambda key=key: self._client.delete_object(Bucket=self.name, Key=key),
                           key)
            except (S3Error, AccessDeniedError) as exc:
                errors.append({"Key": key, "Code": getattr(exc, "code", None) or
                               type(exc).__name__, "Message": str(exc)})
        return errors

    # --- search -----------------------------------------------------------------------------

    def search(
        self,
        query: str | dict[str, Any] | None = None,
        *,
        meta: dict[str, Any] | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        doc: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        extensions: list[str] | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
        modified_since: Any = None,
        modified_before: Any = None,
        prefix: str | None = None,
        include_deleted: bool = False,
        versions: bool = False,
        highlight: bool | None = None,
        facets: bool = False,
        cursor: str | None = None,
        allow_partial: bool = True,
        **filters: Any,
    ) -> Any:
        """Search this bucket's catalog; configure where it is with ``t4.config`` first.

        A string ``query`` is full text over contents, keys and metadata (``simple_query_string``
        syntax: ``thor -loki``, ``"exact phrase"``, ``hammer*``); a dict matches the user
        metadata that ``put*`` stored: ``{"name": "thor"}``, ``{"n": {"gte": 3}}``, dotted
        paths for nested keys (``{"a.b": 1}``), ``{"x": {"exists": True}}``. ``meta=`` adds
        metadata predicates to a text query. ``doc=`` matches the metadata extracted from the
        files (``{"pages": {"gte": 20}, "language": "fr", "columns": "temperature"}``; the
        fields are declared in ``t4index.docmeta``); ``tags=`` the objects' S3 tags
        (``{"project": "x"}``, ``{"project": {"exists": True}}``). ``status=`` takes one
        extraction outcome or a list (``"unreadable"``, ``["corrupt", "timeout"]``).
        Filters: ``extensions``, ``min_size``/``max_size`` (bytes),
        ``modified_since``/``modified_before``, ``prefix``, and every other filter declared
        in ``t4index.filters.FILTERS`` by its keyword (e.g. ``key=``, ``content_type=``).
        Deleted objects and older versions are left out unless ``include_deleted``/``versions``.
        Highlights are on by default for pages of up to 100 hits
        (``t4index.query.MAX_HIGHLIGHT_PAGE_SIZE``). Both routes (the search API and
        Elasticsearch directly) validate the query before any request and give the same hits.
        When some shards of the catalog do not answer (a node lost), the results say so in
        ``partial``; ``allow_partial=False`` raises ``SearchPartialError`` instead.

        Returns:
            ``SearchResults``: up to ``limit`` hits in relevance order (each with key, version
            id, size, last modified, metadata, score, highlighted snippets, extraction
            status and reason, extracted document metadata and tags), ``total``,
            ``cursor`` (pass it back as ``cursor=`` for the next page; None on the last page),
            ``facets`` (counts by extension and total size) when asked; ``partial`` (None
            when complete); ``.to_dataframe()``.
        Raises:
            SearchNotConfiguredError: no catalog is configured (the message says how).
            SearchQueryError: the query is malformed, holds a value that cannot be searched for
                (a set, an arbitrary object, NaN), or exceeds a cost limit (the message says
                what to change); raised before any request.
            SearchPartialError: some shards did not answer and ``allow_partial`` is False.
            SearchError: the catalog refused or is unavailable.
        """
        from t4._search import build_query, run_search

        q = build_query(query, meta=meta, limit=limit, doc=doc, tags=tags,
                        include_deleted=include_deleted,
                        versions=versions, highlight=highlight, facets=facets,
                        filters={"extensions": extensions, "min_size": min_size,
                                 "max_size": max_size, "modified_since": modified_since,
                                 "modified_before": modified_before, "prefix": prefix,
                                 **filters}, allow_partial=allow_partial)
        return run_search(self.name, q, cursor, session=self._session)



