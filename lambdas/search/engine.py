"""The search engine for one request: a time budget across its calls, and errors classified once.

``search_page`` makes up to three calls (open a point in time, search, close it);
``DeadlineClient`` gives each the time left of one budget, so the whole request
ends before API Gateway's 29 s. ``classify`` turns what ``t4index`` raised into
an ``ApiError`` whose message is safe to show.
"""

from __future__ import annotations

import time
from typing import Any

from lambdas.search.errors import (
    ApiError,
    BadRequest,
    NotFound,
    PartialResults,
    Timeout,
    Unavailable,
)
from t4index.errors import (
    CursorExpiredError,
    EngineAccessDeniedError,
    EngineQueryError,
    EngineTimeoutError,
    EngineUnavailableError,
    IndexMissingError,
    InvalidBucketName,
    PartialResultsError,
    QueryError,
)

MIN_CALL_SECONDS = 0.5


class DeadlineClient:
    """The three engine calls ``search_page`` makes, each limited to the budget's rest."""

    def __init__(self, es: Any, seconds: float, clock: Any = time.monotonic) -> None:
        self._es = es
        self._clock = clock
        self._deadline = clock() + seconds

    def _left(self) -> Any:
        left = self._deadline - self._clock()
        if left < MIN_CALL_SECONDS:
            raise Timeout("the search did not finish within the API's time budget; "
                          "narrow the query or use a smaller page_size")
        return self._es.with_timeout(left)

    def open_pit(self, index: str, keep_alive: str) -> str:
        """``Engine.open_pit`` within the budget."""
        return self._left().open_pit(index, keep_alive)

    def search(self, body: dict[str, Any], index: str | None = None) -> Any:
        """``Engine.search`` within the budget (also bounded server-side by ``timeout``)."""
        return self._left().search(body, index)

    def close_pit(self, pit_id: str) -> None:
        """``Engine.close_pit``; a failure to close only lets the point in time expire."""
        try:
            self._left().close_pit(pit_id)
        except Exception:  # noqa: BLE001 - the keep-alive frees it anyway
            return None


def classify(exc: BaseException, buckets: tuple[str, ...]) -> ApiError:
    """The ``ApiError`` for an error raised while searching ``buckets``.

    The engine layer has already typed the engine's error; this maps each type once.

    Returns:
        ``BadRequest`` for an invalid query or expired cursor, ``NotFound`` for a bucket
        without index, ``PartialResults`` when shards did not answer and complete results
        were asked for, ``Unavailable``/``Timeout`` for the cluster, otherwise a plain
        ``ApiError`` (500) with no detail.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, PartialResultsError):
        return PartialResults(str(exc)[:600])
    if isinstance(exc, IndexMissingError):
        return NotFound(f"no index for bucket(s) {', '.join(buckets)}: nothing has been "
                        "indexed there yet")
    if isinstance(exc, CursorExpiredError):
        return BadRequest("cursor has expired; start the search again without a cursor")
    if isinstance(exc, EngineQueryError):
        return BadRequest(f"the search engine refused the query: {exc.kind}: {exc.reason}")
    if isinstance(exc, QueryError | InvalidBucketName):
        return BadRequest(str(exc))
    if isinstance(exc, EngineTimeoutError):
        return Timeout("the search engine did not answer within the API's time budget; "
                       "narrow the query or use a smaller page_size")
    if isinstance(exc, EngineUnavailableError) and exc.status is None:
        return Unavailable("the search cluster cannot be reached; try again later")
    if isinstance(exc, EngineUnavailableError):
        return Unavailable("the search cluster is overloaded or unavailable; try again later")
    if isinstance(exc, EngineAccessDeniedError):
        return Unavailable("the search API's own access to the cluster was refused")
    return ApiError("internal error")
