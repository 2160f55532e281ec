"""The S3 object contract the client (``t4``) and the indexer share.

- :func:`classify_error`: the one table from an S3 answer (botocore ``ClientError``,
  or a connection failure) to what it means for the caller. ``t4`` turns the
  outcome into its ``NotFoundError`` / ``AccessDeniedError`` / ``S3Error``; the
  indexer into ``ObjectGone`` / ``ObjectUnreadable`` / ``SourceUnavailable``.
  Neither keeps a table of its own.
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
from dataclasses import dataclass
from enum import StrEnum

from t4index.retry import THROTTLING_CODES, is_retryable

__all__ = [
    "S3Failure",
    "S3Outcome",
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
