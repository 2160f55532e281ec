"""t4: a small client for S3 buckets, the API of the T4 "Working with a Bucket" page.

    import t4
    b = t4.Bucket("s3://my-bucket")
    b.put("my-dict.json", {"a": "b"}, meta={"how": "lazily"})
    b("my-dict.json")            # {'a': 'b'}
    b.get_meta("my-dict.json")   # {'how': 'lazily'}

Errors all derive from :class:`T4Error` (see ``t4._errors`` for the tree).
"""

from t4._bucket import Bucket, ObjectInfo, Progress, ProgressCallback
from t4._config import ConfigError, config
from t4._errors import (
    AccessDeniedError,
    DeleteError,
    DeleteFailure,
    FormatError,
    InvalidLocationError,
    LocalPathConflictError,
    MetadataError,
    MetadataTooLargeError,
    NotFoundError,
    S3Error,
    SearchNotConfiguredError,
    T4Error,
    TransferError,
    UnsafeKeyError,
)
from t4._paths import S3Location
from t4._search import SearchHit, SearchResults
from t4._search_api import (
    SearchAccessDeniedError,
    SearchError,
    SearchPartialError,
    SearchQueryError,
    SearchUnavailableError,
)
from t4index.retry import RetryPolicy

__all__ = [
    "AccessDeniedError",
    "Bucket",
    "ConfigError",
    "DeleteError",
    "DeleteFailure",
    "FormatError",
    "InvalidLocationError",
    "LocalPathConflictError",
    "MetadataError",
    "MetadataTooLargeError",
    "NotFoundError",
    "ObjectInfo",
    "Progress",
    "ProgressCallback",
    "RetryPolicy",
    "S3Location",
    "S3Error",
    "SearchAccessDeniedError",
    "SearchError",
    "SearchPartialError",
    "SearchHit",
    "SearchQueryError",
    "SearchResults",
    "SearchUnavailableError",
    "SearchNotConfiguredError",
    "T4Error",
    "TransferError",
    "UnsafeKeyError",
    "config",
]
