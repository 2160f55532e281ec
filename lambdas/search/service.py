"""One search request from checked input to JSON answer: authorize, query, sign, shape.

``SearchService`` holds what lives for a container (settings, the Elasticsearch
client); ``search`` is the whole request. The query itself is built only by
``t4index`` (``SearchQuery`` -> ``search_page``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from lambdas.search.access import Caller
from lambdas.search.cursors import CursorSigner
from lambdas.search.engine import DeadlineClient, classify
from lambdas.search.errors import ApiError, BadRequest
from lambdas.search.request import parse_body
from lambdas.search.settings import Settings
from lambdas.search.shape import page_body
from t4index.lifecycle import search_page
from t4index.query import SearchQuery

logger = logging.getLogger(__name__)


@dataclass
class SearchService:
    """The search API's logic with its dependencies injected."""

    settings: Settings
    es: Any

    @classmethod
    def from_settings(cls, settings: Settings) -> SearchService:
        """A service with a client for ``settings.engine`` (no request is sent).

        Returns:
            The service.
        """
        from t4index.engine import connect

        # the Lambda's time is the budget of every call
        return cls(settings, connect(settings.engine, **settings.engine.failover_only()))

    def search(self, caller: Caller, body: str | bytes | None,
               budget: float | None = None) -> dict[str, Any]:
        """Answer one request body from ``caller``.

        ``budget`` caps the Elasticsearch time (seconds) below the configured timeout,
        e.g. to the Lambda's remaining time.

        Returns:
            The JSON answer (see ``shape.page_body``).
        Raises:
            ApiError: every refusal and failure, with its status and a safe message.
        """
        request = parse_body(body, self.settings.max_page)
        self.settings.access.check(caller, request.buckets)
        signer = CursorSigner(self.settings.cursor_secret)
        cursor = (signer.verify(request.cursor, caller.principal, request.buckets)
                  if request.cursor is not None else None)
        try:
            query = SearchQuery(**request.query, page_size=request.page_size, cursor=cursor,
                                keep_alive=self.settings.keep_alive)
        except TypeError as exc:  # unreachable: parse_body admits SearchQuery's fields only
            raise BadRequest(str(exc)) from exc
        seconds = min(self.settings.timeout, budget or self.settings.timeout)
        try:
            page = search_page(DeadlineClient(self.es, seconds), list(request.buckets), query)
        except Exception as exc:  # noqa: BLE001 - every failure is classified once, here
            error = classify(exc, request.buckets)
            if type(error) is ApiError or error.status >= 500:
                logger.error("search failed: %r", exc, exc_info=exc)
            raise error from exc
        next_cursor = (signer.sign(page.cursor, caller.principal, request.buckets)
                       if page.cursor is not None else None)
        return page_body(page, next_cursor)
