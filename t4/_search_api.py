"""The client side of the search API: a SigV4-signed ``POST /search`` with boto3's credentials.

``SearchApiClient(url).search({"buckets": [...], "text": "thor"})`` returns the
API's JSON answer; ``search_query(buckets, SearchQuery(...))`` sends a
``t4index.SearchQuery`` and returns a ``SearchApiPage`` of ``t4index`` hits, so the
direct route and this one share one result type. Answers other than 200 become
errors of the ``t4`` tree (the original HTTP status in ``.status``)::

    T4Error
    └── SearchError                         any refusal or failure of the search API
        ├── SearchQueryError(ValueError)    400 / 413: the request or the cursor is not valid
        ├── SearchAccessDeniedError(PermissionError)  401 / 403: unsigned, wrong key, or a
        │                                   bucket / cursor the caller may not use
        └── SearchUnavailableError          5xx, timeouts, the API cannot be reached

Where ``t4._errors`` defines a class of the same name, that class is raised instead.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from t4._errors import T4Error
from t4index.wire import WirePage

if TYPE_CHECKING:
    import boto3

    from t4index.query import SearchQuery

SERVICE = "execute-api"
DEFAULT_TIMEOUT = 35.0
"""Seconds to wait for an answer: above API Gateway's 29 s, so its own 504 comes through."""
_API_HOST = re.compile(r"[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?")

Transport = Callable[[str, str, Mapping[str, str], bytes, float], tuple[int, bytes]]
"""``(method, url, headers, body, timeout) -> (status, body)``; ``OSError`` if unreachable."""


class SearchError(T4Error):
    """The search API refused or failed; ``status`` is the HTTP status (None if unreachable)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class SearchQueryError(SearchError, ValueError):
    """The API found the request or its cursor invalid (400, 413); the message says why."""


class SearchAccessDeniedError(SearchError, PermissionError):
    """The API refused the caller: bad signature, or a bucket or cursor not the caller's."""


class SearchUnavailableError(SearchError):
    """The API or its cluster cannot answer now (5xx, timeout, connection refused)."""


class SearchPartialError(SearchUnavailableError):
    """Some shards of the catalog did not answer, and ``allow_partial=False`` asked for
    complete results only; try again when the cluster has recovered."""


def _error_class(name: str, default: type[SearchError]) -> type[SearchError]:
    from t4 import _errors

    return getattr(_errors, name, default)


def _urllib_transport(method: str, url: str, headers: Mapping[str, str], body: bytes,
                      timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


SearchApiPage = WirePage
"""One page from the API: ``t4index`` hits and the opaque cursor of the next page."""


def request_body(buckets: str | Sequence[str], query: SearchQuery,
                 cursor: str | None = None) -> dict[str, Any]:
    """The API request for ``query`` over ``buckets`` (``t4index.wire.encode_request``).

    Returns:
        The JSON-ready request.
    Raises:
        SearchQueryError: the query is invalid or holds a value with no wire encoding
            (before any request), or ``query.cursor`` is set.
    """
    from t4index.errors import QueryError
    from t4index.wire import encode_request

    try:
        return encode_request(buckets, query, cursor)
    except QueryError as exc:
        raise _error_class("SearchQueryError", SearchQueryError)(str(exc)) from exc


class SearchApiClient:
    """Sends search requests to a deployed (or local) search API, signed with SigV4."""

    def __init__(self, url: str, *, session: boto3.Session | None = None,
                 region: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 transport: Transport | None = None) -> None:
        """Point at ``url``: the API's base URL (``POST {url}/search`` is called).

        ``session`` (default: a new ``boto3.Session()``) supplies credentials, read
        at every request so refreshed credentials are used. ``region`` defaults to
        the one in an ``execute-api`` host name, then the session's, then us-east-1.

        Raises:
            SearchQueryError: ``url`` is not an http(s) URL.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _error_class("SearchQueryError", SearchQueryError)(
                f"search API URL must be http(s)://host[/stage], got {url!r}")
        self.url = url.rstrip("/")
        self._session = session
        found = _API_HOST.fullmatch(parts.hostname or "")
        self._region = region or (found.group(1) if found else None)
        self.timeout = timeout
        self._transport = transport or _urllib_transport

    def _session_or_default(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.Session()
        return self._session

    @property
    def region(self) -> str:
        """The region requests are signed for."""
        return self._region or self._session_or_default().region_name or "us-east-1"

    def _signed(self, body: bytes) -> tuple[str, dict[str, str]]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = self._session_or_default().get_credentials()
        if credentials is None:
            raise _error_class("SearchAccessDeniedError", SearchAccessDeniedError)(
                "no AWS credentials to sign the search request: configure boto3 "
                "(environment, ~/.aws/credentials, profile or role)")
        url = f"{self.url}/search"
        request = AWSRequest(method="POST", url=url, data=body, headers={
            "Content-Type": "application/json", "Host": urlsplit(url).netloc})
        SigV4Auth(credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        return url, dict(request.headers.items())

    def search(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Send one request (the API's JSON schema, see "The search API" in the README).

        Returns:
            The JSON answer: ``hits``, ``total``, ``total_is_exact``, ``has_more``,
            ``cursor``, ``facets``, ``partial``.
        Raises:
            SearchQueryError: 400/413, the request or cursor is invalid.
            SearchAccessDeniedError: 401/403, or no credentials.
            SearchUnavailableError: 5xx, a timeout, or the API cannot be reached.
            SearchError: any other answer.
        """
        from t4index.errors import QueryError
        from t4index.wire import dumps

        try:
            body = dumps(dict(request))
        except QueryError as exc:
            raise _error_class("SearchQueryError", SearchQueryError)(str(exc)) from exc
        url, headers = self._signed(body)
        try:
            status, raw = self._transport("POST", url, headers, body, self.timeout)
        except OSError as exc:
            raise _error_class("SearchUnavailableError", SearchUnavailableError)(
                f"search API at {self.url} cannot be reached: {exc}") from exc
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {"message": raw[:200].decode("utf-8", "replace")}
        if status == 200 and isinstance(answer, dict) and "hits" in answer:
            return answer
        raise self._error(status, answer if isinstance(answer, dict) else {})

    def _error(self, status: int, answer: Mapping[str, Any]) -> SearchError:
        message = str(answer.get("message") or "no message")
        code = answer.get("error")
        text = f"search API ({self.url}) answered {status}: {message}"
        if status in (400, 413):
            cls = _error_class("SearchQueryError", SearchQueryError)
        elif status in (401, 403):
            cls = _error_class("SearchAccessDeniedError", SearchAccessDeniedError)
        elif status >= 500 and code == "PartialResults":
            cls = _error_class("SearchPartialError", SearchPartialError)
        elif status >= 500:
            cls = _error_class("SearchUnavailableError", SearchUnavailableError)
        else:
            cls = _error_class("SearchError", SearchError)
        return cls(text, status=status, code=code)

    def search_query(self, buckets: str | Sequence[str], query: SearchQuery,
                     cursor: str | None = None) -> SearchApiPage:
        """Send a ``t4index.SearchQuery``; pass the previous page's ``cursor`` to continue.

        Returns:
            The ``SearchApiPage``.
        Raises:
            SearchError: as ``search`` (``SearchQueryError`` if ``query.cursor`` is set).
        """
        from t4index.errors import QueryError
        from t4index.wire import decode_page

        answer = self.search(request_body(buckets, query, cursor))
        try:
            return decode_page(answer)
        except QueryError as exc:
            raise _error_class("SearchUnavailableError", SearchUnavailableError)(
                f"search API ({self.url}) answered 200 with {exc}", status=200) from exc
