"""S3 locations: the one place a URL or a key with ``?versionId=`` is taken apart.

Keys are raw S3 keys, never percent-decoded: ``"a b+c%20.txt"`` is that key,
byte for byte, as in the AWS CLI. The only thing split off a key is a trailing
``?versionId=<id>``. A key that really contains ``?versionId=`` is reached by
passing ``version_id=`` explicitly (then the key is taken literally).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from t4._errors import InvalidLocationError

_VERSION_SUFFIX = re.compile(r"^(?P<key>.*)\?versionId=(?P<version>[^?&=]*)$", re.DOTALL)
# S3 bucket naming: 3-63 characters of lower case letters, digits, dots and
# hyphens (legacy us-east-1 buckets may also hold upper case and underscores).
_BUCKET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")
MAX_KEY_BYTES = 1024


@dataclass(frozen=True)
class S3Location:
    """A bucket, an optional key and an optional version id.

    ``str(loc)`` gives ``s3://bucket/key?versionId=...``.
    """

    bucket: str
    key: str = ""
    version_id: str | None = None

    @classmethod
    def from_url(cls, url: str) -> S3Location:
        """Parse ``s3://bucket[/key][?versionId=id]``.

        Raises:
            InvalidLocationError: not an ``s3://`` URL, or a bad bucket name.
        """
        if not isinstance(url, str) or not url.startswith("s3://"):
            raise InvalidLocationError(f"not an S3 URL (expected s3://bucket/key): {url!r}")
        rest = url[len("s3://") :]
        bucket, _, key_part = rest.partition("/")
        if "?" in bucket:
            bucket, _, query = bucket.partition("?")
            key_part = "?" + query
        check_bucket_name(bucket)
        key, version_id = split_version(key_part)
        if version_id is not None and not key:
            raise InvalidLocationError(f"a version id needs a key: {url!r}")
        return cls(bucket, key, version_id)

    def __str__(self) -> str:
        text = f"s3://{self.bucket}/{self.key}"
        return f"{text}?versionId={self.version_id}" if self.version_id else text


def check_bucket_name(name: str) -> str:
    """Return ``name`` if it is a valid bucket name.

    Raises:
        InvalidLocationError: naming the rule that failed.
    """
    if not _BUCKET_NAME.match(name or "") or ".." in name:
        raise InvalidLocationError(
            f"invalid bucket name {name!r}: 3-63 letters, digits, dots or hyphens, "
            "starting and ending with a letter or digit"
        )
    return name


def parse_bucket_url(url: str) -> str:
    """The bucket name of ``s3://name`` (or a bare ``name``).

    Raises:
        InvalidLocationError: the URL has a path or a query, since a Bucket is
            the whole bucket.
    """
    if not isinstance(url, str):
        raise InvalidLocationError(f"a bucket is named by a string like 's3://name', not {url!r}")
    if not url.startswith("s3://"):
        if "://" in url:
            raise InvalidLocationError(f"not an S3 URL (expected s3://bucket): {url!r}")
        return check_bucket_name(url)
    rest = url[len("s3://") :]
    name, sep, path = rest.partition("/")
    if "?" in name or "?" in path:
        raise InvalidLocationError(
            f"a Bucket is the whole bucket: {url!r} has a query; use s3://{name.partition('?')[0]}"
        )
    if sep and path:
        raise InvalidLocationError(
            f"a Bucket is the whole bucket: {url!r} has a path ({path!r}); "
            f"use Bucket('s3://{name}') and pass the path to its methods"
        )
    return check_bucket_name(name)


def split_version(key: str, version_id: str | None = None) -> tuple[str, str | None]:
    """Split ``key?versionId=id`` into ``(key, id)``.

    With an explicit ``version_id`` the key is taken literally.

    Raises:
        InvalidLocationError: an empty version id.
    """
    if version_id is not None:
        if not version_id:
            raise InvalidLocationError(f"empty version id for key {key!r}")
        return key, version_id
    match = _VERSION_SUFFIX.match(key)
    if not match:
        return key, None
    if not match["version"]:
        raise InvalidLocationError(f"empty version id in {key!r}")
    return match["key"], match["version"]


def check_key(key: str) -> str:
    """Return ``key`` if S3 can store it (non-empty, at most 1,024 UTF-8 bytes).

    Raises:
        InvalidLocationError: saying why.
    """
    if not isinstance(key, str) or not key:
        raise InvalidLocationError(f"an object key must be a non-empty string, not {key!r}")
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise InvalidLocationError(
            f"key of {size} bytes is over S3's limit of {MAX_KEY_BYTES}: {key[:60]!r}..."
        )
    return key


def folder_prefix(prefix: str) -> str:
    """``prefix`` as a folder: ending in exactly the ``/`` it had or one added; ``""`` stays."""
    if not prefix:
        return ""
    return prefix if prefix.endswith("/") else prefix + "/"


def is_folder_marker(key: str) -> bool:
    """Whether ``key`` is a folder marker (ends with ``/``), which is never a file."""
    return key.endswith("/")
