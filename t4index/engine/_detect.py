"""First contact: which product and version the server is, and whether this project supports it.

One plain HTTP request (``GET /``) with the configured authentication answers both
for OpenSearch and for Elasticsearch clusters. Elasticsearch's integ-test
distribution has no ``GET /`` handler (405), so the fallback is
``GET /_nodes/_local``, whose answer carries the version and whose
``X-elastic-product`` header names the product. A user limited to some indices
may be refused both (403): Elasticsearch still names itself in that header (the
version stays unknown and is taken as supported: such credentials only search);
otherwise an explicitly
configured family is trusted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from t4index.errors import (
    EngineAccessDeniedError,
    EngineError,
    EngineUnavailableError,
    UnsupportedEngineError,
)

if TYPE_CHECKING:
    from t4index.engine import EngineConfig

FAMILIES = ("elasticsearch", "opensearch")
SUPPORTED: dict[str, tuple[int, ...]] = {"elasticsearch": (8, 9), "opensearch": (2, 3)}
SUPPORTED_TEXT = ("t4-search supports Elasticsearch 8.x and 9.x, and OpenSearch 2.x and 3.x "
                  "(self-managed or Amazon OpenSearch Service domains)")
_NAMES = {"elasticsearch": "Elasticsearch", "opensearch": "OpenSearch"}


@dataclass(frozen=True)
class ServerInfo:
    """What the server said it is.

    Attributes:
        family: ``"elasticsearch"`` or ``"opensearch"``.
        version: e.g. ``"9.2.0"``; ``None`` when the credentials may not read it.
    """

    family: str
    version: str | None

    @property
    def major(self) -> int | None:
        """The major version number, when known."""
        head = (self.version or "").split(".")[0]
        return int(head) if head.isdigit() else None

    def __str__(self) -> str:
        return f"{_NAMES.get(self.family, self.family)} {self.version or '(version unknown)'}"


def base_url(config: EngineConfig) -> str:
    """The HTTP address of ``config``'s cluster (an Elastic Cloud id decoded)."""
    if config.url:
        return config.url.rstrip("/")
    from elastic_transport.client_utils import parse_cloud_id

    cloud = parse_cloud_id(config.cloud_id or "")
    if cloud.es_address is None:
        raise ValueError("the Elastic Cloud id names no Elasticsearch address")
    host, port = cloud.es_address
    return f"https://{host}:{port}"


def _auth_headers(config: EngineConfig, method: str, url: str) -> dict[str, str]:
    import base64

    headers = {"Accept": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"ApiKey {config.api_key}"
    elif config.username:
        token = base64.b64encode(f"{config.username}:{config.password or ''}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    elif config.sigv4_region:
        from t4index.engine._opensearch import sigv4_signer

        headers = sigv4_signer(config).sign(method, url, None, headers)
    return headers


def _get(config: EngineConfig, path: str) -> tuple[int, dict[str, str], Any]:
    """``GET path``: status, headers (lower-case names) and JSON body (or None)."""
    import urllib3

    url = base_url(config) + path
    kwargs: dict[str, Any] = {"ca_certs": config.ca_certs} if config.ca_certs else {}
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(total=min(config.request_timeout, 30)),
                               retries=False, **kwargs)
    try:
        resp = pool.request("GET", url, headers=_auth_headers(config, "GET", url))
    except urllib3.exceptions.HTTPError as exc:
        raise EngineUnavailableError(f"the search engine at {base_url(config)} cannot be "
                                     f"reached ({exc})") from exc
    finally:
        pool.clear()
    try:
        body = json.loads(resp.data or b"null")
    except ValueError:
        body = None
    return resp.status, {k.lower(): v for k, v in resp.headers.items()}, body


def _from_root(headers: dict[str, str], body: Any) -> ServerInfo | None:
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, dict) or not version.get("number"):
        return None
    if version.get("distribution") == "opensearch":
        return ServerInfo("opensearch", str(version["number"]))
    if headers.get("x-elastic-product") == "Elasticsearch" or "for Search" in str(
            body.get("tagline", "")):
        return ServerInfo("elasticsearch", str(version["number"]))
    return None


def probe(config: EngineConfig) -> ServerInfo:
    """Ask the server what it is.

    Returns:
        Its ``ServerInfo``.
    Raises:
        EngineAccessDeniedError: the credentials were refused (401), or (403) the
            product cannot be told and no family is configured.
        EngineUnavailableError: no answer.
        UnsupportedEngineError: the server is neither Elasticsearch nor OpenSearch.
    """
    where = base_url(config)
    status, headers, body = _get(config, "/")
    if status == 401:
        raise EngineAccessDeniedError(f"the search engine at {where} refused the credentials "
                                      "(401)", status=401)
    if status == 200:
        info = _from_root(headers, body)
        if info is None:
            raise UnsupportedEngineError(f"the server at {where} is neither Elasticsearch nor "
                                         f"OpenSearch (GET / answered {str(body)[:200]}); "
                                         f"{SUPPORTED_TEXT}")
        return info
    # Elasticsearch's integ-test distribution: no GET / handler (405, but the header names
    # the product); or a limited user.
    product = headers.get("x-elastic-product")
    status, headers, body = _get(config, "/_nodes/_local?filter_path=nodes.*.version")
    product = headers.get("x-elastic-product") or product
    if status == 200 and isinstance(body, dict):
        versions = [n.get("version") for n in (body.get("nodes") or {}).values()]
        if product == "Elasticsearch" and versions and versions[0]:
            return ServerInfo("elasticsearch", str(versions[0]))
    if product == "Elasticsearch":
        return ServerInfo("elasticsearch", None)
    if status in (401, 403) and config.engine in FAMILIES:
        return ServerInfo(config.engine, None)
    if status in (401, 403):
        raise EngineAccessDeniedError(
            f"the search engine at {where} would not say what it is ({status}); set the "
            "engine explicitly (T4_ES_ENGINE=elasticsearch or opensearch)", status=status)
    raise EngineError(f"the server at {where} answered GET / with {status}, and is not "
                      f"recognised as Elasticsearch or OpenSearch; {SUPPORTED_TEXT}",
                      status=status)


def check_supported(info: ServerInfo, config: EngineConfig) -> None:
    """Refuse a server this project does not support, or one other than configured.

    Raises:
        UnsupportedEngineError: the message names the server and what is supported.
    """
    where = base_url(config)
    if config.engine in FAMILIES and config.engine != info.family:
        raise UnsupportedEngineError(
            f"the engine is set to {_NAMES[config.engine]} but the server at {where} is "
            f"{info}; set T4_ES_ENGINE={info.family} (or auto)")
    if info.major is not None and info.major not in SUPPORTED[info.family]:
        hint = ""
        if info.family == "elasticsearch" and info.major < 8:
            hint = (" (Amazon OpenSearch Service offers Elasticsearch only up to 7.10: "
                    "upgrade the domain to OpenSearch 2.x or later)")
        raise UnsupportedEngineError(f"the server at {where} is {info}, which is not "
                                     f"supported: {SUPPORTED_TEXT}{hint}")


def detect(config: EngineConfig) -> ServerInfo:
    """Probe the server and check it is supported.

    Returns:
        Its ``ServerInfo``.
    Raises:
        UnsupportedEngineError, EngineAccessDeniedError, EngineUnavailableError.
    """
    info = _probe_any_node(config)
    check_supported(info, config)
    return info


def _probe_any_node(config: EngineConfig) -> ServerInfo:
    """``probe`` each node of ``config`` in turn (``url``, then ``more_urls``) until one
    answers: a cluster is reached while any of its listed nodes is up."""
    if not config.more_urls:
        return probe(config)
    from dataclasses import replace

    nodes = (config.url, *config.more_urls)
    failures = []
    for node in nodes:
        try:
            return probe(replace(config, url=node, more_urls=()))
        except EngineUnavailableError as exc:
            failures.append(exc)
    raise EngineUnavailableError(f"none of the {len(nodes)} nodes of the search engine "
                                 f"answered: " + "; ".join(map(str, failures)))
