"""The OpenSearch 2.x/3.x adapter, through opensearch-py; SigV4 for Amazon OpenSearch Service.

Where OpenSearch differs from Elasticsearch (checked on OpenSearch 2.19.6):

- point in time: ``POST /<index>/_search/point_in_time?keep_alive=`` answers
  ``pit_id``; it is closed with ``DELETE /_search/point_in_time`` and a list of ids.
  A search names it as ``{"pit": {"id": ...}}`` like Elasticsearch;
- no ``_shard_doc`` sort: a point-in-time scan's tiebreak is ``_doc``, which names one
  document per shard (every index of this project has one shard);
- the highlighter's per-request limit is ``max_analyzer_offset`` (Elasticsearch:
  ``max_analyzed_offset``);
- no API keys: basic auth (the security plugin) or SigV4 signing with the ambient
  AWS credentials (a Lambda's role), service ``es``;
- ``DELETE /<name>?expand_wildcards=none`` acknowledges a name that does not exist;
  without the parameter it answers 404 as Elasticsearch does;
- a query parameter named ``timeout`` is taken by opensearch-py as its own request
  timeout, so the server-side wait of ``_cluster/health`` keeps its default (30 s).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from t4index.engine._backend import WAIT_FOR_INDEX_SECONDS, Backend, classify, unreachable
from t4index.engine._detect import ServerInfo, base_url
from t4index.errors import EngineError, UnsupportedEngineError

if TYPE_CHECKING:
    from t4index.engine import EngineConfig


POOL_SIZE = 10
"""Connections kept open to the server, as elasticsearch-py's ``connections_per_node``."""


def sigv4_signer(config: EngineConfig) -> Any:
    """An opensearch-py ``AWSV4Signer`` over the ambient AWS credentials (boto3's chain).

    Raises:
        EngineAccessDeniedError: no AWS credentials are available.
    """
    import boto3
    from opensearchpy.helpers.signer import AWSV4Signer

    from t4index.errors import EngineAccessDeniedError

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise EngineAccessDeniedError("SigV4 signing needs AWS credentials (a role, "
                                      "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)")
    return AWSV4Signer(credentials, config.sigv4_region, config.sigv4_service)


def _adapt(body: dict[str, Any]) -> dict[str, Any]:
    """A search body in OpenSearch's dialect (see the module's notes)."""
    out = dict(body)
    highlight = out.get("highlight")
    if isinstance(highlight, dict) and "max_analyzed_offset" in highlight:
        highlight = dict(highlight)
        highlight["max_analyzer_offset"] = highlight.pop("max_analyzed_offset")
        out["highlight"] = highlight
    if isinstance(out.get("sort"), list):
        out["sort"] = [{"_doc": spec["_shard_doc"]} if isinstance(spec, dict)
                       and list(spec) == ["_shard_doc"] else spec for spec in out["sort"]]
    return out


class OpenSearchBackend(Backend):
    """OpenSearch, self-managed or an Amazon OpenSearch Service domain."""

    family = "opensearch"

    def __init__(self, config: EngineConfig, server: ServerInfo, options: dict[str, Any]) -> None:
        from opensearchpy import OpenSearch, Urllib3HttpConnection

        if config.api_key:
            raise UnsupportedEngineError("OpenSearch has no Elasticsearch-style API keys: use "
                                         "a username and password, or SigV4 (sigv4_region)")
        auth: dict[str, Any] = {}
        if config.username:
            auth["http_auth"] = (config.username, config.password or "")
        elif config.sigv4_region:
            from opensearchpy import Urllib3AWSV4SignerAuth

            signer = sigv4_signer(config)
            auth["http_auth"] = Urllib3AWSV4SignerAuth(signer.credentials, config.sigv4_region,
                                                       config.sigv4_service)
        tls: dict[str, Any] = {"ca_certs": config.ca_certs} if config.ca_certs else {}
        # urllib3 keeps one idle connection per host unless told otherwise, so the
        # indexer's concurrent calls reconnected every time; elasticsearch-py keeps 10
        options = {"pool_maxsize": POOL_SIZE, **options}
        self.raw = OpenSearch(hosts=[config.url, *config.more_urls],
                              connection_class=Urllib3HttpConnection,
                              timeout=config.request_timeout, **auth, **tls, **options)
        self.server = server
        self._url = base_url(config)

    def native_body(self, body: dict[str, Any]) -> dict[str, Any]:
        return _adapt(body)

    @staticmethod
    def _p(timeout: float | None, **params: Any) -> dict[str, Any]:
        """Keyword arguments for one call: query ``params`` and the request timeout."""
        out: dict[str, Any] = {"params": params} if params else {}
        if timeout is not None:
            out["request_timeout"] = timeout
        return out

    def translate(self, exc: BaseException) -> EngineError | None:
        from opensearchpy import ConnectionError, ConnectionTimeout, TransportError

        if isinstance(exc, EngineError):
            return exc
        if isinstance(exc, ConnectionError):
            return unreachable(exc, self._url, isinstance(exc, ConnectionTimeout))
        if isinstance(exc, TransportError):
            status = exc.status_code if isinstance(exc.status_code, int) else None
            return classify(status, exc.info, "OpenSearch refused the request")
        return None

    @staticmethod
    def _status(exc: BaseException) -> int | None:
        status = getattr(exc, "status_code", None)
        return status if isinstance(status, int) else None

    # -- searching --------------------------------------------------------------
    def search(self, body: dict[str, Any], index: str | None, *,
               timeout: float | None) -> dict[str, Any]:
        return self.raw.search(body=self.native_body(body), index=index, **self._p(timeout))

    def open_pit(self, index: str, keep_alive: str, *, timeout: float | None) -> str:
        return self.raw.create_pit(index=index, **self._p(timeout, keep_alive=keep_alive))[
            "pit_id"]

    def close_pit(self, pit_id: str, *, timeout: float | None) -> None:
        try:
            self.raw.delete_pit(body={"pit_id": [pit_id]}, **self._p(timeout))
        except Exception as exc:
            if self._status(exc) != 404:
                raise

    def count(self, index: str, *, timeout: float | None) -> int:
        return int(self.raw.count(index=index, **self._p(timeout))["count"])

    # -- documents --------------------------------------------------------------
    def mget(self, index: str, ids: list[str], *, source_includes: list[str] | None,
             source: bool, timeout: float | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"realtime": "true"}
        if not source:
            params["_source"] = "false"
        elif source_includes:
            params["_source_includes"] = ",".join(source_includes)
        return self.raw.mget(body={"ids": ids}, index=index, **self._p(timeout, **params))[
            "docs"]

    def streaming_bulk(self, actions: Iterable[dict[str, Any]], *, timeout: float | None,
                       **options: Any) -> Iterator[tuple[bool, dict[str, Any]]]:
        from opensearchpy import helpers

        if timeout is not None:
            options["request_timeout"] = timeout
        return helpers.streaming_bulk(self.raw, actions, **options)

    def refresh(self, index: str | list[str], *, timeout: float | None) -> None:
        names = index if isinstance(index, str) else ",".join(index)
        self.raw.indices.refresh(index=names, **self._p(timeout))

    # -- indices ------------------------------------------------------------------
    def template_meta(self, name: str, *, timeout: float | None) -> dict[str, Any] | None:
        if not self.raw.indices.exists_index_template(name=name, **self._p(timeout)):
            return None
        found = self.raw.indices.get_index_template(name=name, **self._p(timeout))[
            "index_templates"]
        return (found[0]["index_template"].get("_meta") or {}) if found else None

    def put_template(self, name: str, body: dict[str, Any], *, timeout: float | None) -> None:
        self.raw.indices.put_index_template(name=name, body=body, **self._p(timeout))

    def alias_targets(self, alias: str, *, timeout: float | None) -> dict[str, dict[str, Any]]:
        if not self.raw.indices.exists_alias(name=alias, **self._p(timeout)):
            return {}
        found = self.raw.indices.get_alias(name=alias, **self._p(timeout))
        return {index: spec.get("aliases", {}).get(alias, {}) for index, spec in found.items()}

    def resolve(self, name: str, *, timeout: float | None) -> dict[str, Any]:
        try:
            return self.raw.indices.resolve_index(
                name=name, **self._p(timeout, expand_wildcards="all"))
        except Exception as exc:
            if self._status(exc) == 404:
                return {}
            raise

    def create_index(self, name: str, settings: dict[str, Any], mappings: dict[str, Any], *,
                     timeout: float | None) -> bool:
        try:
            self.raw.indices.create(index=name, body={"settings": settings, "mappings": mappings},
                                    **self._p(timeout, wait_for_active_shards="1"))
        except Exception as exc:
            error = self.translate(exc)
            if error is not None and error.kind == "resource_already_exists_exception":
                return False
            raise
        return True

    def wait_for_index(self, name: str, *, timeout: float | None) -> None:
        self.raw.cluster.health(index=name, params={"wait_for_status": "yellow"},
                                request_timeout=timeout or WAIT_FOR_INDEX_SECONDS + 5)

    def update_aliases(self, actions: list[dict[str, Any]], *, timeout: float | None) -> None:
        self.raw.indices.update_aliases(body={"actions": actions}, **self._p(timeout))

    def list_indices(self, pattern: str, *, timeout: float | None) -> list[str]:
        return list(self.raw.indices.get(index=pattern, **self._p(
            timeout, allow_no_indices="true", expand_wildcards="open")))

    def delete_index(self, name: str, *, timeout: float | None) -> bool:
        try:
            # no expand_wildcards=none here: with it OpenSearch acknowledges a missing name
            self.raw.indices.delete(index=name, **self._p(timeout))
        except Exception as exc:
            if self._status(exc) == 404:
                return False
            raise
        return True
