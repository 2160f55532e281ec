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
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from t4._errors import T4Error

if TYPE_CHECKING:
    import boto3

    from t4index.query import Facets, Hit, SearchQuery

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


@dataclass(frozen=True)
class SearchApiPage:
    """One page from the API: ``t4index`` hits and the opaque cursor of the next page."""

    hits: list[Hit]
    total: int
    total_is_exact: bool
    has_more: bool
    cursor: str | None
    facets: Facets | None


def request_body(buckets: str | Sequence[str], query: SearchQuery,
                 cursor: str | None = None) -> dict[str, Any]:
    """The API request for ``query`` over ``buckets`` (fields left at their defaults omitted).

    Returns:
        The JSON-ready request.
    Raises:
        SearchQueryError: ``query.cursor`` is set (the API takes its own string cursor).
    """
    from t4index.query import SearchQuery

    if query.cursor is not None:
        raise _error_class("SearchQueryError", SearchQueryError)(
            "the search API takes the string cursor of its previous page (cursor=...), "
            "not a SearchQuery.cursor")
    defaults = SearchQuery()
    body: dict[str, Any] = {"buckets": [buckets] if isinstance(buckets, str) else list(buckets)}
    for field in fields(SearchQuery):
        value = getattr(query, field.name)
        if field.name in ("cursor", "keep_alive") or value == getattr(defaults, field.name):
            continue
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif field.name == "extensions":
            value = list(value)
        elif field.name in ("meta", "amz_meta"):
            value = dict(value)
        body[field.name] = value
    if cursor is not None:
        body["cursor"] = cursor
    return body


def _hit(raw: Mapping[str, Any]) -> Hit:
    from t4index.dates import parse_iso
    from t4index.query import Hit

    modified = raw.get("last_modified")
    return Hit(id="", index="", bucket=raw.get("bucket", ""), key=raw.get("key", ""),
               version_id=raw.get("version_id"), size=raw.get("size"), etag=raw.get("etag"),
               last_modified=parse_iso(modified) if isinstance(modified, str) else None,
               content_type=raw.get("content_type"), extension=raw.get("extension", ""),
               is_latest=bool(raw.get("is_latest", True)), deleted=bool(raw.get("deleted")),
               user_meta=raw.get("user_meta"), amz_meta=dict(raw.get("amz_meta") or {}),
               extraction_status=raw.get("extraction_status"), score=raw.get("score"),
               highlights={k: list(v) for k, v in (raw.get("highlights") or {}).items()})


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
            ``cursor``, ``facets``.
        Raises:
            SearchQueryError: 400/413, the request or cursor is invalid.
            SearchAccessDeniedError: 401/403, or no credentials.
            SearchUnavailableError: 5xx, a timeout, or the API cannot be reached.
            SearchError: any other answer.
        """
        body = json.dumps(dict(request), allow_nan=False, default=str).encode()
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
        from t4index.query import Facets

        answer = self.search(request_body(buckets, query, cursor))
        facets = answer.get("facets")
        return SearchApiPage(
            hits=[_hit(h) for h in answer.get("hits", [])],
            total=int(answer.get("total", 0)),
            total_is_exact=bool(answer.get("total_is_exact", True)),
            has_more=bool(answer.get("has_more")),
            cursor=answer.get("cursor"),
            facets=Facets(extensions=dict(facets.get("extensions") or {}),
                          other_extensions=int(facets.get("other_extensions", 0)),
                          total_size=int(facets.get("total_size", 0))) if facets else None,
        )
