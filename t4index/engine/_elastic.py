"""The Elasticsearch 8.x/9.x adapter, through elasticsearch-py 8 (REST compatibility for 9.x)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from t4index.engine._backend import WAIT_FOR_INDEX_SECONDS, Backend, classify, unreachable
from t4index.engine._detect import ServerInfo, base_url
from t4index.errors import EngineError, IndexMissingError

if TYPE_CHECKING:
    from t4index.engine import EngineConfig


class ElasticsearchBackend(Backend):
    """Elasticsearch: ``POST /<index>/_pit`` and ``DELETE /_pit``; API keys or basic auth."""

    family = "elasticsearch"

    def __init__(self, config: EngineConfig, server: ServerInfo, options: dict[str, Any]) -> None:
        from elasticsearch import Elasticsearch

        auth: dict[str, Any] = {}
        if config.api_key:
            auth["api_key"] = config.api_key
        elif config.username:
            auth["basic_auth"] = (config.username, config.password or "")
        where: dict[str, Any] = ({"cloud_id": config.cloud_id} if config.cloud_id
                                 else {"hosts": [config.url, *config.more_urls]})
        self.raw = Elasticsearch(**where, **auth, ca_certs=config.ca_certs,
                                 request_timeout=config.request_timeout, **options)
        self.server = server
        self._url = base_url(config)
        self._budgeted = config.failover_only()

    def _c(self, timeout: float | None) -> Any:
        if timeout is None:
            return self.raw
        return self.raw.options(request_timeout=timeout, **self._budgeted)

    def translate(self, exc: BaseException) -> EngineError | None:
        from elastic_transport import ConnectionTimeout, TransportError
        from elasticsearch import ApiError

        if isinstance(exc, EngineError):
            return exc
        if isinstance(exc, ApiError):
            return classify(exc.meta.status, exc.body, "Elasticsearch refused the request")
        if isinstance(exc, TransportError):
            return unreachable(exc, self._url, isinstance(exc, ConnectionTimeout))
        return None

    def _status(self, exc: BaseException) -> int | None:
        meta = getattr(exc, "meta", None)
        return getattr(meta, "status", None)

    # -- searching --------------------------------------------------------------
    def search(self, body: dict[str, Any], index: str | None, *,
               timeout: float | None) -> dict[str, Any]:
        return self._c(timeout).search(index=index, body=body).body

    def open_pit(self, index: str, keep_alive: str, *, timeout: float | None) -> str:
        return self._c(timeout).open_point_in_time(index=index, keep_alive=keep_alive)["id"]

    def close_pit(self, pit_id: str, *, timeout: float | None) -> None:
        self._c(timeout).options(ignore_status=404).close_point_in_time(id=pit_id)

    def count(self, index: str, *, timeout: float | None) -> int:
        return int(self._c(timeout).count(index=index)["count"])

    # -- documents --------------------------------------------------------------
    def mget(self, index: str, ids: list[str], *, source_includes: list[str] | None,
             source: bool, timeout: float | None) -> list[dict[str, Any]]:
        extra: dict[str, Any] = {"source_includes": source_includes} if source_includes else {}
        if not source:
            extra = {"source": False}
        return self._c(timeout).mget(index=index, ids=ids, realtime=True, **extra)["docs"]

    def streaming_bulk(self, actions: Iterable[dict[str, Any]], *, timeout: float | None,
                       **options: Any) -> Iterator[tuple[bool, dict[str, Any]]]:
        from elasticsearch import helpers

        return helpers.streaming_bulk(self._c(timeout), actions, **options)

    def refresh(self, index: str | list[str], *, timeout: float | None) -> None:
        self._c(timeout).indices.refresh(index=index)

    # -- indices ------------------------------------------------------------------
    def template_meta(self, name: str, *, timeout: float | None) -> dict[str, Any] | None:
        client = self._c(timeout)
        if not client.indices.exists_index_template(name=name):
            return None
        found = client.indices.get_index_template(name=name)["index_templates"]
        return (found[0]["index_template"].get("_meta") or {}) if found else None

    def put_template(self, name: str, body: dict[str, Any], *, timeout: float | None) -> None:
        self._c(timeout).indices.put_index_template(name=name, **body)

    def alias_targets(self, alias: str, *, timeout: float | None) -> dict[str, dict[str, Any]]:
        client = self._c(timeout)
        if not client.indices.exists_alias(name=alias):
            return {}
        found = client.indices.get_alias(name=alias).body
        return {index: spec.get("aliases", {}).get(alias, {}) for index, spec in found.items()}

    def resolve(self, name: str, *, timeout: float | None) -> dict[str, Any]:
        try:
            return self._c(timeout).indices.resolve_index(name=name, expand_wildcards="all").body
        except Exception as exc:
            if isinstance(self.translate(exc), IndexMissingError) or self._status(exc) == 404:
                return {}
            raise

    def create_index(self, name: str, settings: dict[str, Any], mappings: dict[str, Any], *,
                     timeout: float | None) -> bool:
        try:
            self._c(timeout).indices.create(index=name, settings=settings, mappings=mappings,
                                            wait_for_active_shards="1")
        except Exception as exc:
            error = self.translate(exc)
            if error is not None and error.kind == "resource_already_exists_exception":
                return False
            raise
        return True

    def wait_for_index(self, name: str, *, timeout: float | None) -> None:
        self._c(timeout).cluster.health(index=name, wait_for_status="yellow",
                                        timeout=f"{WAIT_FOR_INDEX_SECONDS}s")

    def update_aliases(self, actions: list[dict[str, Any]], *, timeout: float | None) -> None:
        self._c(timeout).indices.update_aliases(actions=actions)

    def list_indices(self, pattern: str, *, timeout: float | None) -> list[str]:
        return list(self._c(timeout).indices.get(index=pattern, allow_no_indices=True,
                                                 expand_wildcards="open"))

    def delete_index(self, name: str, *, timeout: float | None) -> bool:
        try:
            self._c(timeout).indices.delete(index=name, expand_wildcards="none",
                                            allow_no_indices=True)
        except Exception as exc:
            if self._status(exc) == 404:
                return False
            raise
        return True
