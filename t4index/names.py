"""Index, alias, template and document names: the one place that derives them.

- Alias (read and write target) per bucket: ``t4-objects-<part>``; Kibana's data view
  pattern ``t4-objects-*`` matches aliases only.
- Concrete index per bucket and mapping version: ``t4-data-v<N>-<part>``; outside the
  Kibana pattern, so documents never count twice while two versions coexist.
- ``<part>`` is ``index_part(bucket)``: a modern bucket name unchanged, legacy names
  (upper case, underscores) escaped reversibly, so two buckets never share an index.
- Document ids: SHA-256 of bucket, key and version id (64 hex characters, far under
  Elasticsearch's 512-byte ``_id`` limit, while S3 keys reach 1,024 bytes).
"""

from __future__ import annotations

import hashlib
import json
import re

from t4index.errors import InvalidBucketName

ALIAS_PREFIX = "t4-objects-"
INDEX_PREFIX = "t4-data-v"
ALIAS_PATTERN = ALIAS_PREFIX + "*"
"""The Kibana data view pattern: matches every bucket's alias, no concrete index."""
INDEX_PATTERN = INDEX_PREFIX + "*"
"""The pattern of concrete indices (the index template's ``index_patterns``)."""
TEMPLATE_NAME = "t4-data"

MAX_INDEX_NAME_BYTES = 255
_LEGACY_BUCKET = re.compile(r"[A-Za-z0-9._-]+")
_MODERN_BUCKET = re.compile(r"[a-z0-9.-]+")
_HASH_CHARS = 16
# the longest part that still fits after the longer of the two prefixes and "v<version>-"
_MAX_PART_BYTES = MAX_INDEX_NAME_BYTES - len(INDEX_PREFIX) - len("999999-")


def index_part(bucket: str) -> str:
    """Map a bucket name to the part of index and alias names that stands for it.

    Modern bucket names (lower case, digits, dots, hyphens) are returned unchanged.
    Legacy names are escaped with ``_`` (which modern names never hold): an upper-case
    letter ``X`` becomes ``_x`` and ``_`` becomes ``__``, so the mapping stays one to
    one. A part too long for an index name is cut and suffixed with a hash of the name.

    Returns:
        A string valid inside an Elasticsearch index name.
    Raises:
        InvalidBucketName: the name is empty or holds characters no bucket name can.
    """
    if not isinstance(bucket, str) or not _LEGACY_BUCKET.fullmatch(bucket or ""):
        raise InvalidBucketName(
            f"bucket name {bucket!r} is not a valid S3 bucket name "
            "(allowed: letters, digits, '.', '-', '_')"
        )
    if _MODERN_BUCKET.fullmatch(bucket):
        part = bucket
    else:
        part = "".join(
            "__" if ch == "_" else f"_{ch.lower()}" if ch.isupper() else ch for ch in bucket
        )
    if len(part) > _MAX_PART_BYTES:
        digest = hashlib.sha256(bucket.encode()).hexdigest()[:_HASH_CHARS]
        part = f"{part[: _MAX_PART_BYTES - _HASH_CHARS - 1]}-{digest}"
    return part


def alias_name(bucket: str) -> str:
    """The alias to read and write a bucket's documents through.

    Returns:
        ``t4-objects-<index_part(bucket)>``.
    Raises:
        InvalidBucketName: see ``index_part``.
    """
    return ALIAS_PREFIX + index_part(bucket)


def index_name(bucket: str, mapping_version: int) -> str:
    """The concrete index that holds a bucket's documents under one mapping version.

    Returns:
        ``t4-data-v<mapping_version>-<index_part(bucket)>``.
    Raises:
        InvalidBucketName: see ``index_part``.
        ValueError: ``mapping_version`` is not a positive integer.
    """
    if isinstance(mapping_version, bool) or not isinstance(mapping_version, int) or not (
        0 < mapping_version < 1_000_000
    ):
        raise ValueError(f"mapping_version must be an integer 1..999999, got {mapping_version!r}")
    return f"{INDEX_PREFIX}{mapping_version}-{index_part(bucket)}"


def parse_index_name(name: str, bucket: str) -> int | None:
    """The mapping version of ``name`` if it is one of ``bucket``'s concrete indices.

    Returns:
        The mapping version, or None when ``name`` is not ``index_name(bucket, v)``.
    """
    suffix = "-" + index_part(bucket)
    if not (name.startswith(INDEX_PREFIX) and name.endswith(suffix)):
        return None
    version = name[len(INDEX_PREFIX) : len(name) - len(suffix)]
    if not version.isdigit() or version.startswith("0"):
        return None
    return int(version)


def doc_id(bucket: str, key: str, version_id: str | None = None) -> str:
    """The document id of one object (or one version of it).

    ``version_id=None`` names the key's single document in latest-only mode; S3's
    literal version id ``"null"`` (objects written before versioning) is a distinct
    version and gives a distinct id.

    Returns:
        64 lower-case hex characters (SHA-256 of bucket, key and version id).
    """
    # JSON encoding keeps the parts apart whatever characters they hold
    raw = json.dumps([bucket, key, version_id], ensure_ascii=True)
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def role_index_names(bucket: str) -> list[str]:
    """The index names a role (or API key) needs to search exactly one bucket.

    Search with a point in time runs against the concrete indices behind the alias,
    so a privilege on the alias alone is refused there: the role names the alias and
    a regular expression of the bucket's concrete indices (every mapping version),
    which a ``t4-data-v*-<bucket>`` wildcard would not do safely (it also matches
    ``t4-data-v1-x-<bucket>``).

    Returns:
        ``[alias_name(bucket), "/t4-data-v[0-9]+-<escaped part>/"]``.
    """
    part = re.sub(r"([.?+*|{}\[\]()\"\\#@&<>~])", r"\\\1", index_part(bucket))
    return [alias_name(bucket), f"/{re.escape(INDEX_PREFIX)}[0-9]+-{part}/"]
