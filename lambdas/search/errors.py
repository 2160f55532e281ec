"""The errors of the search API: each carries the HTTP status and a message safe to show.

::

    ApiError                 base: ``status``, ``code`` and a message for the caller
    ├── BadRequest           400 the request or its cursor is not valid
    ├── Forbidden            403 the caller may not search these buckets, or use this cursor
    ├── NotFound             404 a bucket the caller may search has no index
    ├── PayloadTooLarge      413 the request body is over the limit
    ├── Unavailable          503 Elasticsearch cannot be reached or is overloaded
    │   └── PartialResults   503 some shards did not answer and allow_partial was false
    ├── Timeout              504 the search did not finish within the API's time budget
    └── ConfigurationError   500 the deployment's settings are missing or invalid

``t4index.QueryError`` becomes ``BadRequest`` and Elasticsearch failures are
classified once, in ``lambdas.search.engine``; the handler turns an ``ApiError``
into ``{"error": code, "message": ...}`` and never shows a stack trace.
"""

from __future__ import annotations


class ApiError(Exception):
    """An answer other than 200; ``str(exc)`` is shown to the caller."""

    status = 500
    code = "InternalError"


class BadRequest(ApiError):
    """The request body, a field or the cursor is not valid."""

    status = 400
    code = "BadRequest"


class Forbidden(ApiError):
    """The caller may not search a bucket it named, or the cursor is not the caller's."""

    status = 403
    code = "Forbidden"


class NotFound(ApiError):
    """A bucket the caller may search has no index (nothing was ever indexed there)."""

    status = 404
    code = "NotFound"


class PayloadTooLarge(ApiError):
    """The request body is larger than ``MAX_BODY_BYTES``."""

    status = 413
    code = "PayloadTooLarge"


class Unavailable(ApiError):
    """Elasticsearch is unreachable, overloaded or refused the API's own credentials."""

    status = 503
    code = "ServiceUnavailable"


class PartialResults(Unavailable):
    """Some shards failed or had no copy, and the request asked for complete results."""

    code = "PartialResults"


class Timeout(ApiError):
    """Elasticsearch did not answer within the request's time budget."""

    status = 504
    code = "Timeout"


class ConfigurationError(ApiError):
    """A required setting (``T4_SEARCH_CURSOR_SECRET``, ``T4_ES_URL``...) is missing or invalid."""

    status = 500
    code = "ConfigurationError"
