"""The one engine layer: every caller reaches Elasticsearch or OpenSearch through ``Engine``.

``connect(config)`` returns an ``Engine`` without sending a request. At first use it
asks the server what it is (product and version, ``_detect``), refuses one this
project does not support with one ``UnsupportedEngineError`` naming what is
supported, and builds the adapter of that family:

- Elasticsearch 8.x and 9.x through elasticsearch-py 8 (``_elastic``);
- OpenSearch 2.x and 3.x through opensearch-py, including Amazon OpenSearch
  Service domains signed with SigV4 (``_opensearch``).

The adapters differ where the engines do: point-in-time calls, request dialect
(highlight offsets, the point-in-time tiebreak), authentication and error shapes.
Every client error becomes one of ``t4index.errors.EngineError``'s subclasses
here, and nowhere else (the client's exception is the ``__cause__``). Callers use
the verbs below and never branch on the family.

The client packages are imported only when an engine is first used, so the pure
parts of ``t4index`` stay light for the client side.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from t4index.engine._backend import Backend
from t4index.engine._detect import FAMILIES, SUPPORTED_TEXT, ServerInfo, detect
from t4index.errors import UnsupportedEngineError

__all__ = ["FAMILIES", "SUPPORTED_TEXT", "Engine", "EngineConfig", "ServerInfo", "connect"]

SERVERLESS_REFUSAL = (
    "Amazon OpenSearch Serverless (SigV4 service 'aoss') is not supported: t4-search "
    "relies on operations its collections do not offer (see AWS's 'Supported operations "
    "in Amazon OpenSearch Serverless'): _refresh and _cluster/health are not among them, "
    "custom document ids (PUT <index>/_doc/<id>, _create/<id>) exist only on search "
    "collections, and the indexer's ordering needs realtime _mget with _seq_no and "
    "conditional writes (if_seq_no/if_primary_term). Use an Amazon OpenSearch Service "
    "domain (SigV4 service 'es') instead.")


@dataclass(frozen=True)
class EngineConfig:
    """How to reach the cluster and authenticate.

    Attributes:
        url: the cluster's URL (or ``cloud_id`` for Elastic Cloud); or several nodes' URLs,
            comma-separated (``T4_ES_URL=http://a:9200,http://b:9200``), read as the first
            one and ``more_urls``.
        engine: ``"auto"`` (detect), ``"elasticsearch"`` or ``"opensearch"``; an explicit
            family must match what the server says it is.
        username, password: basic auth; or ``api_key`` (Elasticsearch API keys);
            or ``sigv4_region`` to sign every request with the ambient AWS credentials
            (Amazon OpenSearch Service; ``sigv4_service`` ``"es"``).
        ca_certs: a CA bundle for HTTPS.
        request_timeout: seconds per request.
        more_urls: other nodes of the same cluster; the client spreads requests over
            ``url`` and these and fails over when a node is lost; first contact asks
            them in turn until one answers, so a cluster whose first node is down is
            still reached.

    Raises:
        ValueError: no URL, an empty or non-HTTP URL in a list, an unknown family, or
            authentication settings that do not go together.
    """

    url: str | None = None
    cloud_id: str | None = None
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    ca_certs: str | None = None
    request_timeout: float = 30.0
    engine: str = "auto"
    sigv4_region: str | None = None
    sigv4_service: str = "es"
    more_urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.url and "," in self.url:
            first, *rest = (part.strip() for part in self.url.split(","))
            object.__setattr__(self, "url", first)
            object.__setattr__(self, "more_urls", (*rest, *self.more_urls))
        for node in (self.url or "", *self.more_urls) if self.more_urls else ():
            if not node.startswith(("http://", "https://")):
                raise ValueError(f"every node URL must start with http:// or https://, got "
                                 f"{node!r} (several nodes: 'http://a:9200,http://b:9200')")
        if not (self.url or self.cloud_id):
            raise ValueError("a search engine URL (or Elastic Cloud id) is needed")
        if self.engine not in ("auto", *FAMILIES):
            raise ValueError(f"engine must be auto, {' or '.join(FAMILIES)}; "
                             f"got {self.engine!r}")
        if self.sigv4_region:
            if self.sigv4_service == "aoss":
                raise UnsupportedEngineError(SERVERLESS_REFUSAL)
            if self.sigv4_service != "es":
                raise ValueError(f"sigv4_service must be 'es' (Amazon OpenSearch Service), "
                                 f"got {self.sigv4_service!r}")
            if self.username or self.api_key:
                raise ValueError("choose one way to authenticate: SigV4 (sigv4_region) or "
                                 "username/password or api_key")
            if self.engine == "elasticsearch" or self.cloud_id:
                raise ValueError("SigV4 signing is for Amazon OpenSearch Service domains; "
                                 "set engine to opensearch or auto")

    def failover_only(self) -> dict[str, Any]:
        """Client options for calls whose time is a budget: no retry (a timeout or a busy
        node would spend the budget twice), except on another listed node when one
        cannot be reached (a refused connection costs nothing).

        Returns:
            ``max_retries``, ``retry_on_status`` and ``retry_on_timeout`` for the
            family's client.
        """
        return {"max_retries": len(self.more_urls) if self.url else 0,
                "retry_on_status": (), "retry_on_timeout": False}


class Engine:
    """A search engine cluster, whatever its family: the verbs every caller uses.

    Each verb raises only ``t4index.errors.EngineError`` subclasses (with the client's
    error as ``__cause__``). ``with_timeout`` gives a view whose calls are limited to
    a number of seconds each, without retries (a request's time budget).
    """

    def __init__(self, config: EngineConfig, options: dict[str, Any] | None = None) -> None:
        self.config = config
        self._options = dict(options or {})
        self._shared: dict[str, Any] = {"backend": None, "lock": threading.Lock()}
        self._timeout: float | None = None

    # -- first contact ----------------------------------------------------------
    def _backend(self) -> Backend:
        backend = self._shared["backend"]
        if backend is None:
            with self._shared["lock"]:
                backend = self._shared["backend"]
                if backend is None:
                    backend = _make_backend(self.config, detect(self.config), self._options)
                    self._shared["backend"] = backend
        return backend

    @property
    def server(self) -> ServerInfo:
        """What the server said it is (asks it on first use).

        Raises:
            UnsupportedEngineError: a product or version this project does not support.
            EngineAccessDeniedError, EngineUnavailableError: the server could not be asked.
        """
        return self._backend().server

    @property
    def family(self) -> str:
        """``"elasticsearch"`` or ``"opensearch"``."""
        return self._backend().family

    @property
    def raw(self) -> Any:
        """The family's own client (``Elasticsearch`` or ``OpenSearch``), for baselines."""
        return self._backend().raw

    def native_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` as this engine's family spells it, for a call on ``raw`` (benchmarks).

        ``search`` does this itself.
        """
        return self._backend().native_body(body)

    def with_timeout(self, seconds: float) -> Engine:
        """A view of this engine whose every call is limited to ``seconds``, no retries."""
        view = copy.copy(self)
        view._timeout = seconds
        return view

    def _call(self, verb: str, *args: Any, **kwargs: Any) -> Any:
        backend = self._backend()
        try:
            return getattr(backend, verb)(*args, timeout=self._timeout, **kwargs)
        except Exception as exc:
            error = backend.translate(exc)
            if error is None:
                raise
            raise error from exc

    # -- searching --------------------------------------------------------------
    def search(self, body: dict[str, Any], index: str | None = None) -> dict[str, Any]:
        """Run one ``_search`` (no ``index`` when ``body`` names a point in time).

        Returns:
            The response body.
        """
        return self._call("search", body, index)

    def open_pit(self, index: str, keep_alive: str) -> str:
        """Open a point in time over ``index`` (comma-separated names allowed).

        Returns:
            Its id, for ``{"pit": {"id": ...}}`` in a search body.
        """
        return self._call("open_pit", index, keep_alive)

    def close_pit(self, pit_id: str) -> None:
        """Close a point in time (one that is already gone is fine)."""
        self._call("close_pit", pit_id)

    def count(self, index: str) -> int:
        """The number of documents in ``index``."""
        return self._call("count", index)

    # -- documents --------------------------------------------------------------
    def mget(self, index: str, ids: list[str], *, source_includes: list[str] | None = None,
             source: bool = True) -> list[dict[str, Any]]:
        """Realtime multi-get, with ``_seq_no``/``_primary_term`` of each found document.

        Returns:
            The ``docs`` of the answer, in the order of ``ids``.
        """
        return self._call("mget", index, ids, source_includes=source_includes, source=source)

    def streaming_bulk(self, actions: Iterable[dict[str, Any]],
                       **options: Any) -> Iterator[tuple[bool, dict[str, Any]]]:
        """The family's ``helpers.streaming_bulk`` over ``actions``: ``(ok, item)`` per action.

        ``options`` are the helper's (``chunk_size``, ``max_retries``, ``raise_on_error``...)
        and bulk parameters (``require_alias``).
        """
        backend = self._backend()
        try:
            yield from backend.streaming_bulk(actions, timeout=self._timeout, **options)
        except Exception as exc:
            error = backend.translate(exc)
            if error is None:
                raise
            raise error from exc

    def refresh(self, index: str | list[str]) -> None:
        """Make every write to ``index`` visible to search."""
        self._call("refresh", index)

    # -- indices, aliases, templates ---------------------------------------------
    def template_meta(self, name: str) -> dict[str, Any] | None:
        """The ``_meta`` of index template ``name``; ``None`` when there is none."""
        return self._call("template_meta", name)

    def put_template(self, name: str, body: dict[str, Any]) -> None:
        """Create or replace composable index template ``name``."""
        self._call("put_template", name, body)

    def alias_targets(self, alias: str) -> dict[str, dict[str, Any]]:
        """The indices behind ``alias`` with the alias's spec on each; ``{}`` if none."""
        return self._call("alias_targets", alias)

    def resolve(self, name: str) -> dict[str, Any]:
        """What ``name`` is: ``{"indices": [...], "aliases": [...]}``; ``{}`` if nothing."""
        return self._call("resolve", name)

    def create_index(self, name: str, settings: dict[str, Any],
                     mappings: dict[str, Any]) -> bool:
        """Create ``name`` and wait for its primary shard.

        Returns:
            False when it existed already.
        """
        return self._call("create_index", name, settings, mappings)

    def wait_for_index(self, name: str) -> None:
        """Wait (up to 30 s) until ``name``'s primary shard serves."""
        self._call("wait_for_index", name)

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        """Apply ``_aliases`` actions in one atomic request."""
        self._call("update_aliases", actions)

    def list_indices(self, pattern: str) -> list[str]:
        """Open concrete indices matching ``pattern`` (none is fine)."""
        return self._call("list_indices", pattern)

    def delete_index(self, name: str) -> bool:
        """Delete one concrete index by exact name.

        Returns:
            False when it did not exist.
        """
        return self._call("delete_index", name)


def _make_backend(config: EngineConfig, server: ServerInfo, options: dict[str, Any]) -> Backend:
    if server.family == "opensearch":
        from t4index.engine._opensearch import OpenSearchBackend

        return OpenSearchBackend(config, server, options)
    from t4index.engine._elastic import ElasticsearchBackend

    return ElasticsearchBackend(config, server, options)


def connect(config: EngineConfig, **options: Any) -> Engine:
    """An ``Engine`` for ``config``; no request is sent until its first use.

    ``options`` go to the family's client (``max_retries``, ``retry_on_timeout``).

    Returns:
        The engine.
    """
    return Engine(config, options)
