"""The S3 object contract the client (``t4``) and the indexer share.

- :func:`classify_error`: the one table from an S3 answer (botocore ``ClientError``,
  or a connection failure) to what it means for the caller. ``t4`` turns the
  outcome into its ``NotFoundError`` / ``AccessDeniedError`` / ``S3Error``; the
  indexer into ``ObjectGone`` / ``ObjectUnreadable`` / ``SourceUnavailable``.
  Neither keeps a table of its own.
- Object tags: :func:`tags_from_tagset` (a ``TagSet`` answer as a dict),
  :func:`check_tags` (S3's limits, checked before a request) and
  :func:`encode_tagging` (the ``Tagging=`` argument of a PUT).
- Archive states: :func:`restore_state` (the ``Restore`` header as ``ongoing`` /
  ``restored`` / None) and :data:`ARCHIVED_CLASSES`.
- Normalisers: :func:`normalize_etag` (S3 quotes ETags in some answers and not in
  others), :func:`last_extension` (the final extension of a key),
  :func:`normalize_extension` (an extension as a user types it),
  :func:`is_bucket_name` (S3's naming rules, with or without legacy names).

Pure: imports nothing beyond the standard library (botocore only inside
:func:`t4index.retry.is_retryable`, for connection errors).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from t4index.retry import THROTTLING_CODES, is_retryable

__all__ = [
    "ARCHIVED_CLASSES",
    "MAX_TAGS",
    "S3Failure",
    "S3Outcome",
    "check_tags",
    "encode_tagging",
    "restore_state",
    "tags_from_tagset",
    "classify_error",
    "is_bucket_name",
    "last_extension",
    "normalize_etag",
    "normalize_extension",
]


class S3Outcome(StrEnum):
    """What an S3 error means, whoever asked."""

    MISSING = "missing"
    """No such bucket, key or version (HTTP 404): nothing there to read."""
    DENIED = "denied"
    """Permission refused (AccessDenied, bad credentials, HTTP 403)."""
    CHANGED = "changed"
    """A precondition (``If-Match``) failed: the object changed between two reads."""
    RETRYABLE = "retryable"
    """Throttling, 5xx or a dropped connection: may pass by itself."""
    REFUSED = "refused"
    """Any other permanent refusal (archived, SSE-C, KMS key, other 4xx)."""


@dataclass(frozen=True)
class S3Failure:
    """One classified S3 error: its outcome and what S3 said."""

    outcome: S3Outcome
    code: str
    status: int | None
    message: str
    storage_class: str | None = None

    @property
    def detail(self) -> str:
        """``code: message`` (or the bare code / status) for error messages."""
        label = self.code or str(self.status or "")
        return f"{label}: {self.message}" if self.message else label


# HEAD answers carry no body, so their code is the bare HTTP status ("404", "403").
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "NotFound", "404"})
_DENIED_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId",
                           "SignatureDoesNotMatch", "Forbidden", "403"})
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})


def classify_error(exc: BaseException) -> S3Failure | None:
    """Classify an error raised by a boto3 S3 call.

    Returns:
        The ``S3Failure``; None when ``exc`` is neither an S3 answer nor a
        connection failure (a bug, a local error: the caller lets it through).
    """
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        status = int(status) if status else None
        code = str(error.get("Code") or "") or (str(status) if status else "")
        message = str(error.get("Message") or "")
        storage_class = error.get("StorageClass")
        if code in _MISSING_CODES or status == 404:
            outcome = S3Outcome.MISSING
        elif code in _CHANGED_CODES:
            outcome = S3Outcome.CHANGED
        elif is_retryable(exc) or code == "KMS.ThrottlingException" or code in THROTTLING_CODES:
            outcome = S3Outcome.RETRYABLE
        elif code in _DENIED_CODES or (status == 403 and code != "InvalidObjectState"
                                       and not code.startswith("KMS.")):
            outcome = S3Outcome.DENIED
        else:
            outcome = S3Outcome.REFUSED
        return S3Failure(outcome, code, status, message, storage_class)
    if is_retryable(exc):
        return S3Failure(S3Outcome.RETRYABLE, "", None, f"{type(exc).__name__}: {exc}")
    return None


def normalize_etag(value: str | None) -> str | None:
    """An ETag without the quotes S3 puts around it in some answers.

    Returns:
        The bare ETag, or None for None or an empty string.
    """
    return value.strip().strip('"') or None if value else None


def last_extension(key: str) -> str:
    """The lower-case final extension of the key's last segment, without the dot.

    ``a/b.CSV`` -> ``csv``; ``a.csv.gz`` -> ``gz``; dot files and names without a
    dot have none (``""``).
    """
    stem, dot, ext = posixpath.basename(key).lower().rpartition(".")
    return ext if dot and stem else ""


def normalize_extension(value: str) -> str:
    """An extension as a user writes it (``".CSV "``, ``"csv.gz"``) in the indexed form.

    Returns:
        Lower case, without surrounding spaces or leading dots.
    """
    return value.strip().lower().lstrip(".")


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_LEGACY_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]")


def is_bucket_name(name: object, *, legacy: bool = True) -> bool:
    """Whether ``name`` follows S3's bucket naming rules.

    ``legacy=True`` also admits the names old us-east-1 buckets may have (upper
    case, underscores, up to 255 characters).
    """
    if not isinstance(name, str) or ".." in name:
        return False
    return bool((_LEGACY_BUCKET if legacy else _BUCKET).fullmatch(name))


# --- object tags ----------------------------------------------------------------------------

MAX_TAGS = 10
"""S3 allows at most this many tags on one object."""
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
_TAG_CHARS = re.compile(r"[\w\s+\-=.:/@]*", re.UNICODE)


def tags_from_tagset(tagset: Any) -> dict[str, str]:
    """A ``TagSet`` answer (``[{"Key": k, "Value": v}, ...]``) as ``{k: v}``.

    Returns:
        The tags in S3's order (keys are case sensitive); ``{}`` for none.
    """
    return {str(t["Key"]): str(t.get("Value") or "") for t in tagset or [] if "Key" in t}


def check_tags(tags: Mapping[str, Any], where: str) -> dict[str, str]:
    """``tags`` checked against S3's rules: at most 10, keys 1-128 and values 0-256
    characters of letters, digits, spaces and ``+ - = . _ : / @``.

    Returns:
        The tags as strings (numbers and booleans are written as text: S3 tags are strings).
    Raises:
        ValueError: a rule is broken; the message names the tag and the rule.
    """
    if not isinstance(tags, Mapping):
        raise ValueError(f"tags for {where} must be a dict of tag key -> value, "
                         f"got {type(tags).__name__}")
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{len(tags)} tags for {where}: S3 allows at most {MAX_TAGS}")
    out: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY:
            raise ValueError(f"tag key {key!r} for {where} must be a string of 1 to "
                             f"{MAX_TAG_KEY} characters")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float) or value is None:
            raise ValueError(f"tag {key!r} for {where} must have a text value, "
                             f"got {type(value).__name__}")
        text = str(value)
        if len(text) > MAX_TAG_VALUE:
            raise ValueError(f"tag {key!r} for {where} has a value of {len(text)} characters; "
                             f"S3 allows at most {MAX_TAG_VALUE}")
        for part in (key, text):
            if not _TAG_CHARS.fullmatch(part):
                raise ValueError(f"tag {key!r}={text!r} for {where}: S3 allows only letters, "
                                 "digits, spaces and + - = . _ : / @ in tags")
        out[key] = text
    return out


def encode_tagging(tags: Mapping[str, str]) -> str:
    """The ``Tagging`` argument of PutObject / upload ExtraArgs (a URL query string).

    Returns:
        ``"k1=v1&k2=v2"`` with keys and values percent-encoded.
    """
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in tags.items())


# --- archive states ------------------------------------------------------------------------

ARCHIVED_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
"""Storage classes whose objects must be restored before they can be read."""


def restore_state(header: str | None) -> str | None:
    """The ``Restore`` header of a HEAD/GET answer, in short.

    Returns:
        ``ongoing`` (``ongoing-request="true"``), ``restored`` (a readable copy
        exists: ``ongoing-request="false", expiry-date=...``) or None (no restore).
    """
    text = (header or "").replace(" ", "").lower()
    if 'ongoing-request="true"' in text:
        return "ongoing"
    if 'ongoing-request="false"' in text:
        return "restored"
    return None
