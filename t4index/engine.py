"""The one place a search engine client is made.

Everything else receives the client. A second engine (Amazon OpenSearch Service
through opensearch-py with SigV4) would be a second branch of ``connect``; the
pipeline and the query model would not change. ``elasticsearch`` is imported
only when a client is made, so this package stays light for the client side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EngineConfig:
    """How to reach the cluster: a URL or an Elastic Cloud id, and one way to authenticate."""

    url: str | None = None
    cloud_id: str | None = None
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    ca_certs: str | None = None
    request_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not (self.url or self.cloud_id):
            raise ValueError("an Elasticsearch URL or cloud id is needed")


def connect(config: EngineConfig, **options: Any) -> Any:
    """An ``elasticsearch.Elasticsearch`` client for ``config`` (no request is sent).

    ``options`` go to the client (``max_retries``, ``retry_on_timeout`` ...).
    """
    from elasticsearch import Elasticsearch

    auth: dict[str, Any] = {}
    if config.api_key:
        auth["api_key"] = config.api_key
    elif config.username:
        auth["basic_auth"] = (config.username, config.password or "")
    where: dict[str, Any] = ({"cloud_id": config.cloud_id} if config.cloud_id
                             else {"hosts": [config.url]})
    return Elasticsearch(**where, **auth, ca_certs=config.ca_certs,
                         request_timeout=config.request_timeout, **options)


def root_cause(exc: BaseException) -> tuple[str, str]:
    """The type and reason of the first root cause in an Elasticsearch error's body.

    Returns:
        ``("", "")`` when ``exc`` carries no Elasticsearch error body.
    """
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    causes = error.get("root_cause") or [error]
    first = causes[0] if isinstance(causes[0], dict) else error
    return str(first.get("type", "")), str(first.get("reason", ""))
