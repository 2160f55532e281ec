"""The search Lambda: API Gateway HTTP API (payload 2.0, IAM authorization), ``POST /search``.

Parse the caller and the body, call ``SearchService``, shape the answer. The
service (settings and Elasticsearch client) is built on the first request of a
container, never at import; ``configure`` injects one (tests, the local server).
Every error answers ``{"error": code, "message": ...}`` with no stack trace.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from lambdas.search.access import caller_from_context
from lambdas.search.errors import ApiError, ConfigurationError
from lambdas.search.shape import dumps

logger = Logger(service="t4-search-api")
app = APIGatewayHttpResolver()
_service: Any = None
_lock = threading.Lock()
JSON = "application/json"
LAMBDA_MARGIN_SECONDS = 1.0


def configure(service: Any) -> None:
    """Use ``service`` (a ``SearchService``) from now on; None rebuilds it from the environment."""
    global _service
    with _lock:
        _service = service


def _get_service() -> Any:
    global _service
    with _lock:
        if _service is None:
            from lambdas.search.service import SearchService
            from lambdas.search.settings import Settings

            _service = SearchService.from_settings(Settings.from_env())
        return _service


def _answer(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type=JSON, body=dumps(body))


def _budget() -> float | None:
    context = getattr(app, "lambda_context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 - LAMBDA_MARGIN_SECONDS if callable(remaining) else None


@app.post("/search")
def search() -> Response:
    """``POST /search``: one page of results for the JSON request body."""
    caller = caller_from_context(app.current_event.get("requestContext") or {})
    body = _get_service().search(caller, app.current_event.decoded_body, _budget())
    logger.info("search answered", caller=caller.principal, hits=len(body["hits"]))
    return _answer(200, body)


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response:
    if isinstance(exc, ConfigurationError):
        logger.error("search API misconfigured", reason=str(exc))
        return _answer(exc.status, {"error": exc.code, "message": "the search API is "
                                    "misconfigured; its operators have been told"})
    logger.info("search refused", status=exc.status, reason=str(exc))
    return _answer(exc.status, {"error": exc.code, "message": str(exc)})


@app.exception_handler(NotFoundError)
def _no_route(exc: NotFoundError) -> Response:
    return _answer(404, {"error": "NotFound", "message": "no such route; use POST /search"})


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("search failed unexpectedly")
    return _answer(500, {"error": "InternalError", "message": "internal error"})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return app.resolve(event, context)
