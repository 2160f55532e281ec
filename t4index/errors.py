"""The errors of ``t4index``: one tree, messages that name the input and the limit.

::

    T4IndexError
    ├── InvalidBucketName   (also ValueError) a bucket name no index name can carry
    ├── DocumentError       (also ValueError) a document that cannot be built
    ├── QueryError          (also ValueError) a search request that is not valid
    ├── IndexStateError     the cluster's indices or aliases are not as expected
    ├── PartialResultsError some shards did not answer and complete results were asked for
    └── EngineError         the engine refused or failed (``status``, ``kind``, ``reason``)
        ├── IndexMissingError        no index yet (404 ``index_not_found_exception``)
        ├── CursorExpiredError       the point in time is gone
        ├── EngineAccessDeniedError  (also PermissionError) 401/403
        ├── EngineUnavailableError   unreachable, 429, 502-504
        │   └── EngineTimeoutError   (also TimeoutError) no answer in time
        ├── EngineQueryError         (also QueryError) 400
        └── UnsupportedEngineError   a product or version this project does not support

Errors of either engine client (Elasticsearch or OpenSearch) are translated once,
in ``t4index.engine``, and kept as ``__cause__``.
"""

from __future__ import annotations


class T4IndexError(Exception):
    """Base of every error raised by ``t4index``."""


class InvalidBucketName(T4IndexError, ValueError):
    """The bucket name holds characters S3 never allows, or is empty."""


class DocumentError(T4IndexError, ValueError):
    """The values given to ``build_document`` cannot make an indexable document."""


class QueryError(T4IndexError, ValueError):
    """The search request is not valid: unknown operator, wrong type, page too large."""


class IndexStateError(T4IndexError):
    """The indices or aliases on the cluster are not in a state this code can work from."""


class EngineError(T4IndexError):
    """The search engine refused a request or could not be reached.

    Made in one place (``t4index.engine``) from either family's client errors, with
    the client's exception as ``__cause__``; callers map the subclasses once.

    Attributes:
        status: the HTTP status (``None`` when no answer came).
        kind: the type of the engine's first root cause (``index_not_found_exception``...).
        reason: the engine's reason, shortened.
    """

    def __init__(self, message: str, *, status: int | None = None, kind: str = "",
                 reason: str = "") -> None:
        super().__init__(message)
        self.status, self.kind, self.reason = status, kind, reason


class IndexMissingError(EngineError):
    """No index (or alias) of that name: nothing has been indexed there yet."""


class CursorExpiredError(EngineError):
    """The cursor's point in time has expired or is not known to the cluster."""


class EngineAccessDeniedError(EngineError, PermissionError):
    """The cluster refused the credentials (401) or the action (403)."""


class EngineUnavailableError(EngineError):
    """The cluster cannot be reached, or is overloaded (429, 502-504): try again later."""


class EngineTimeoutError(EngineUnavailableError, TimeoutError):
    """The cluster did not answer within the request's time."""


class EngineQueryError(EngineError, QueryError):
    """The cluster refused the request as malformed (400)."""


class UnsupportedEngineError(EngineError):
    """The server is not an engine or version this project supports (the message says which)."""


class PartialResultsError(T4IndexError):
    """Some shards failed or were unavailable, and the query asked for complete results
    (``SearchQuery.allow_partial=False``); ``partial`` says how many and why."""

    def __init__(self, message: str, partial: object = None) -> None:
        super().__init__(message)
        self.partial = partial
