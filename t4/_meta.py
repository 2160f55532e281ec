"""Object metadata as the original T4 client stored it, and S3's 2 KB limit.

Each object written by ``put*`` carries one S3 user-metadata entry, ``helium``,
whose value is a JSON string (``json.dumps`` defaults, so non-ASCII text is
``\\uXXXX``-escaped and the header stays ASCII)::

    put(key, obj, meta)       {"user_meta": meta, "format": {...}, "target": "<format name>"}
    put_file / put_dir        {"user_meta": meta}

``get_meta`` returns ``user_meta`` only. S3 limits user metadata to 2 KB,
counted as the UTF-8 bytes of every user-metadata key and value (here the key
``helium`` plus the JSON text); moto does not enforce it, so the client checks
it before any upload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from t4._errors import MetadataError, MetadataTooLargeError
from t4index import helium as codec
from t4index.helium import HELIUM

MAX_USER_METADATA_BYTES = 2048


def build_helium(meta: Mapping[str, Any] | None, fmt: dict[str, Any] | None = None,
                 target: str | None = None) -> dict[str, Any]:
    """The ``helium`` dict for user metadata ``meta`` and an optional format record.

    Raises:
        MetadataError: ``meta`` is not a mapping.
    """
    try:
        return codec.build(meta, fmt, target)
    except TypeError as exc:
        raise MetadataError(str(exc)) from exc


def user_metadata_size(metadata: Mapping[str, str]) -> int:
    """S3's measure of user metadata: UTF-8 bytes of all keys and values."""
    return sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in metadata.items())


def encode(helium: dict[str, Any], where: str) -> dict[str, str]:
    """The S3 ``Metadata`` argument carrying ``helium``, checked against the 2 KB limit.

    Raises:
        MetadataError: the metadata is not JSON serializable.
        MetadataTooLargeError: its size is over 2,048 bytes (the message names both).
    """
    try:
        text = codec.encode(helium)
    except (TypeError, ValueError) as exc:
        raise MetadataError(f"metadata for {where} is not JSON serializable: {exc}") from exc
    metadata = {HELIUM: text}
    size = user_metadata_size(metadata)
    if size > MAX_USER_METADATA_BYTES:
        raise MetadataTooLargeError(
            f"metadata for {where} takes {size} bytes of S3 user metadata, over the limit "
            f"of {MAX_USER_METADATA_BYTES} bytes (key {HELIUM!r} plus its JSON value); "
            "nothing uploaded"
        )
    return metadata


def decode(metadata: Mapping[str, str] | None, where: str) -> dict[str, Any] | None:
    """The ``helium`` dict of an object's S3 metadata, or None when it has none.

    Raises:
        MetadataError: ``helium`` is present but not a JSON object.
    """
    decoded = codec.decode(metadata)
    if decoded.status == codec.META_NONE:
        return None
    if decoded.status == codec.META_UNREADABLE:
        raise MetadataError(f"the {HELIUM!r} metadata of {where} is {decoded.problem}")
    return decoded.value


def user_meta(helium: dict[str, Any] | None) -> dict[str, Any]:
    """The user metadata inside ``helium`` (``{}`` when there is none)."""
    return codec.user_meta(helium)
