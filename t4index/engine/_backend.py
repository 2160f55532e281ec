"""What an engine family's adapter provides, and the one reading of an engine's error body."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

from t4index.errors import (
    CursorExpiredError,
    EngineAccessDeniedError,
    EngineError,
    EngineQueryError,
    EngineTimeoutError,
    EngineUnavailableError,
    IndexMissingError,
)

MAX_REASON_CHARS = 300
WAIT_FOR_INDEX_SECONDS = 30


def root_cause(body: Any) -> tuple[str, str]:
    """The type and reason of the first root cause in an engine's error body.

    Returns:
        ``("", "")`` when ``body`` is not an engine error body.
    """
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return "", error
    if not isinstance(error, dict):
        return "", ""
    causes = error.get("root_cause") or [error]
    first = causes[0] if isinstance(causes[0], dict) else error
    return str(first.get("type", "")), str(first.get("reason", ""))


AUTOMATON_HINT = (" (engines on Lucene 9, such as OpenSearch 2.x and Elasticsearch 8.x, refuse"
                  " a prefix or range of strings longer than about 1,000 bytes: use a key"
                  " prefix of at most 999 bytes; Elasticsearch 9 serves up to 1,024)")
"""Appended to the engine's ``input automaton is too large`` refusal, which names no cause."""


def classify(status: int | None, body: Any, what: str) -> EngineError:
    """The typed error for an engine's answer ``status`` with ``body``.

    Both families answer errors in the same JSON shape; only how their clients carry
    status and body differs (each adapter's ``translate``).
    """
    kind, reason = root_cause(body)
    reason = reason[:MAX_REASON_CHARS]
    detail = f"{what}: {status} {kind}: {reason}".rstrip(": ")
    args = {"status": status, "kind": kind, "reason": reason}
    if kind == "index_not_found_exception":
        return IndexMissingError(detail, **args)
    if kind == "search_context_missing_exception" or (
            status == 404 and "point in time" in reason.lower()):
        return CursorExpiredError(detail, **args)
    if status in (401, 403):
        return EngineAccessDeniedError(detail, **args)
    if status in (429, 502, 503, 504) or kind == "no_shard_available_action_exception":
        return EngineUnavailableError(detail, **args)
    if status == 408:
        return EngineTimeoutError(detail, **args)
    if status == 400:
        if "automaton is too large" in reason:  # the hint travels in the reason too
            detail, args["reason"] = detail + AUTOMATON_HINT, reason + AUTOMATON_HINT
        return EngineQueryError(detail, **args)
    return EngineError(detail, **args)


def unreachable(exc: BaseException, url: str, timed_out: bool) -> EngineError:
    """The typed error for a request that got no answer."""
    if timed_out:
        return EngineTimeoutError(f"the search engine at {url} did not answer in time ({exc})")
    return EngineUnavailableError(f"the search engine at {url} cannot be reached ({exc})")


class Backend(ABC):
    """One family's adapter. Verbs take ``timeout`` (seconds, no retries) or ``None``."""

    family: str
    raw: Any
    server: Any

    def native_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` in this family's dialect (the same body unless the family differs)."""
        return body

    @abstractmethod
    def translate(self, exc: BaseException) -> EngineError | None:
        """The typed error for a client exception; ``None`` when it is not the client's."""

    @abstractmethod
    def search(self, body: dict[str, Any], index: str | None, *,
               timeout: float | None) -> dict[str, Any]: ...

    @abstractmethod
    def open_pit(self, index: str, keep_alive: str, *, timeout: float | None) -> str: ...

    @abstractmethod
    def close_pit(self, pit_id: str, *, timeout: float | None) -> None: ...

    @abstractmethod
    def count(self, index: str, *, timeout: float | None) -> int: ...

    @abstractmethod
    def mget(self, index: str, ids: list[str], *, source_includes: list[str] | None,
             source: bool, timeout: float | None) -> list[dict[str, Any]]: ...

    @abstractmethod
    def streaming_bulk(self, actions: Iterable[dict[str, Any]], *, timeout: float | None,
                       **options: Any) -> Iterator[tuple[bool, dict[str, Any]]]: ...

    @abstractmethod
    def refresh(self, index: str | list[str], *, timeout: float | None) -> None: ...

    @abstractmethod
    def template_meta(self, name: str, *, timeout: float | None) -> dict[str, Any] | None: ...

    @abstractmethod
    def put_template(self, name: str, body: dict[str, Any], *,
                     timeout: float | None) -> None: ...

    @abstractmethod
    def alias_targets(self, alias: str, *,
                      timeout: float | None) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def resolve(self, name: str, *, timeout: float | None) -> dict[str, Any]: ...

    @abstractmethod
    def create_index(self, name: str, settings: dict[str, Any], mappings: dict[str, Any], *,
                     timeout: float | None) -> bool: ...

    @abstractmethod
    def wait_for_index(self, name: str, *, timeout: float | None) -> None: ...

    @abstractmethod
    def update_aliases(self, actions: list[dict[str, Any]], *, timeout: float | None) -> None: ...

    @abstractmethod
    def list_indices(self, pattern: str, *, timeout: float | None) -> list[str]: ...

    @abstractmethod
    def delete_index(self, name: str, *, timeout: float | None) -> bool: ...
