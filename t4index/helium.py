"""The ``helium`` metadata envelope, the one codec the client and the indexer share.

Each object written by T4 (the original client and ``t4.Bucket``) carries one S3
user-metadata entry, ``helium``, whose value is a JSON object::

    put(key, obj, meta)       {"user_meta": meta, "format": {...}, "target": "<format name>"}
    put_file / put_dir        {"user_meta": meta}

Objects written by other tools may carry a ``helium`` header that is not a JSON
object at all (``{not json``, a list, a string). Nothing is dropped silently:
:func:`decode` says so with :attr:`Helium.status` (``unreadable``) and keeps the
raw text, which the index stores as searchable text and flags.

Pure: the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

HELIUM = "helium"
"""The user-metadata name (``x-amz-meta-helium``)."""

MetaStatus = Literal["none", "ok", "unreadable"]
META_NONE: MetaStatus = "none"
META_OK: MetaStatus = "ok"
META_UNREADABLE: MetaStatus = "unreadable"


@dataclass(frozen=True)
class Helium:
    """The decoded envelope of one object.

    Attributes:
        status: ``none`` (no ``helium`` header), ``ok`` (a JSON object) or
            ``unreadable`` (present but not a JSON object; ``raw`` holds it).
        value: the decoded JSON object (``{}`` unless ``ok``).
        raw: the header's text as S3 returned it (None when absent).
        problem: why it is unreadable, for messages (None otherwise).
    """

    status: MetaStatus
    value: dict[str, Any]
    raw: str | None = None
    problem: str | None = None

    @property
    def user_meta(self) -> dict[str, Any]:
        """The user metadata (``{}`` when absent, unreadable, or not a JSON object)."""
        return user_meta(self.value)

    @property
    def format_name(self) -> str | None:
        """The format name recorded by ``put`` (see :func:`format_name`)."""
        return format_name(self.value)


def user_meta(helium: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``user_meta`` of a decoded envelope (``{}`` when missing or not a JSON object)."""
    meta = (helium or {}).get("user_meta")
    return meta if isinstance(meta, dict) else {}


def format_name(helium: Mapping[str, Any] | None) -> str | None:
    """The format name recorded by ``put``: ``format.name``, else ``target``, else None."""
    if not helium:
        return None
    fmt = helium.get("format")
    name = fmt.get("name") if isinstance(fmt, dict) else None
    name = name or helium.get("target")
    return name if isinstance(name, str) and name else None


def decode(metadata: Mapping[str, str] | None) -> Helium:
    """Decode the ``helium`` entry of an object's S3 user metadata (names in any case).

    Returns:
        A :class:`Helium`; never raises for a malformed header (see ``status``).
    """
    raw = None
    for name, value in (metadata or {}).items():
        if isinstance(name, str) and name.lower() == HELIUM:
            raw = value
            break
    if raw is None:
        return Helium(META_NONE, {})
    try:
        value = json.loads(raw)
    except (TypeError, ValueError) as exc:
        return Helium(META_UNREADABLE, {}, raw, f"not JSON: {exc}")
    if not isinstance(value, dict):
        return Helium(META_UNREADABLE, {}, raw,
                      f"not a JSON object (a JSON {type(value).__name__})")
    return Helium(META_OK, value, raw)


def build(meta: Mapping[str, Any] | None, fmt: dict[str, Any] | None = None,
          target: str | None = None) -> dict[str, Any]:
    """The ``helium`` dict for user metadata ``meta`` and an optional format record.

    Raises:
        TypeError: ``meta`` is not a mapping.
    """
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict of JSON values, not {type(meta).__name__}")
    helium: dict[str, Any] = {"user_meta": dict(meta)}
    if fmt is not None:
        helium["format"] = fmt
        helium["target"] = target
    return helium


def encode(helium: dict[str, Any]) -> str:
    """The header text of ``helium`` (``json.dumps`` defaults, so it stays ASCII).

    Raises:
        ValueError, TypeError: not JSON serializable (NaN and infinities included).
    """
    return json.dumps(helium, allow_nan=False)
