"""Elasticsearch for one request: a time budget across its calls, and errors classified once.

``search_page`` makes up to three calls (open a point in time, search, close it);
``DeadlineClient`` gives each the time left of one budget, so the whole request
ends before API Gateway's 29 s. ``classify`` turns what ``t4index`` raised into
an ``ApiError`` whose message is safe to show.
"""

from __future__ import annotations

import time
from typing import Any

from lambdas.search.errors import ApiError, BadRequest, NotFound, Timeout, Unavailable
from t4index.engine import root_cause
from t4index.errors import IndexStateError, InvalidBucketName, QueryError

MIN_CALL_SECONDS = 0.5
MAX_REASON_CHARS = 300


class DeadlineClient:
    """The three client calls ``search_page`` makes, each limited to the budget's rest."""

    def __init__(self, es: Any, seconds: float, clock: Any = time.monotonic) -> None:
        self._es = es
        self._clock = clock
        self._deadline = clock() + seconds

    def _left(self) -> Any:
        left = self._deadline - self._clock()
        if left < MIN_CALL_SECONDS:
            raise Timeout("the search did not finish within the API's time budget; "
                          "narrow the query or use a smaller page_size")
        return self._es.options(request_timeout=left, max_retries=0)

    def open_point_in_time(self, **kwargs: Any) -> Any:
        """``es.open_point_in_time`` within the budget."""
        return self._left().open_point_in_time(**kwargs)

    def search(self, **kwargs: Any) -> Any:
        """``es.search`` within the budget (also bounded server-side by ``timeout``)."""
        return self._left().search(**kwargs)

    def close_point_in_time(self, **kwargs: Any) -> Any:
        """``es.close_point_in_time``; a failure to close only lets the PIT expire."""
        try:
            return self._left().close_point_in_time(**kwargs)
        except Exception:  # noqa: BLE001 - the keep-alive frees it anyway
            return None


def _root_reason(exc: BaseException) -> tuple[str, str]:
    kind, reason = root_cause(exc)
    return kind, reason[:MAX_REASON_CHARS]


def classify(exc: BaseException, buckets: tuple[str, ...]) -> ApiError:
    """The ``ApiError`` for an error raised while searching ``buckets``.

    Returns:
        ``BadRequest`` for an invalid query or expired cursor, ``NotFound`` for a bucket
        without index, ``Unavailable``/``Timeout`` for the cluster, otherwise a plain
        ``ApiError`` (500) with no detail.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QueryError | InvalidBucketName):
        return BadRequest(str(exc))
    cause = exc.__cause__ if isinstance(exc, IndexStateError) and exc.__cause__ else exc
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout

    if isinstance(cause, ConnectionTimeout):
        return Timeout("Elasticsearch did not answer within the API's time budget; "
                       "narrow the query or use a smaller page_size")
    if isinstance(cause, TransportConnectionError):
        return Unavailable("the search cluster cannot be reached; try again later")
    status = getattr(getattr(cause, "meta", None), "status", None)
    kind, reason = _root_reason(cause)
    if status == 404 and kind == "index_not_found_exception":
        return NotFound(f"no index for bucket(s) {', '.join(buckets)}: nothing has been "
                        "indexed there yet")
    if status == 404 or "search_context_missing" in kind or "point in time" in reason.lower():
        return BadRequest("cursor has expired; start the search again without a cursor")
    if status in (429, 502, 503, 504):
        return Unavailable("the search cluster is overloaded or unavailable; try again later")
    if status in (401, 403):
        return Unavailable("the search API's own access to the cluster was refused")
    if status == 400:
        return BadRequest(f"the search engine refused the query: {kind}: {reason}")
    return ApiError("internal error")
