"""The engine layer's first contact and its one translation of client errors.

Detection is checked against a tiny local HTTP server that answers ``GET /`` (and
``GET /_nodes/_local``) as each kind of server does: a stand-in for what the server
says about itself, nothing more. Everything else runs against the real engines in
``tests/integration``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from t4index.engine import EngineConfig, connect
from t4index.engine._backend import classify
from t4index.errors import (
    CursorExpiredError,
    EngineAccessDeniedError,
    EngineQueryError,
    EngineTimeoutError,
    EngineUnavailableError,
    IndexMissingError,
    QueryError,
    UnsupportedEngineError,
)

ES7_ROOT = {"name": "n", "version": {"number": "7.10.2", "build_flavor": "default"},
            "tagline": "You Know, for Search"}
OS1_ROOT = {"name": "n", "version": {"distribution": "opensearch", "number": "1.3.19"},
            "tagline": "The OpenSearch Project: https://opensearch.org/"}
OS2_ROOT = {"name": "n", "version": {"distribution": "opensearch", "number": "2.19.6"},
            "tagline": "The OpenSearch Project: https://opensearch.org/"}


class Answers(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, tuple[int, dict[str, str], Any]]


class _Handler(BaseHTTPRequestHandler):
    server: Answers

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        status, headers, body = self.server.routes.get(self.path.split("?")[0],
                                                       (404, {}, {"error": "no route"}))
        raw = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server() -> Iterator[Answers]:
    srv = Answers(("127.0.0.1", 0), _Handler)
    srv.routes = {}
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(srv: Answers) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.mark.parametrize("root, named", [(ES7_ROOT, "Elasticsearch 7.10.2"),
                                         (OS1_ROOT, "OpenSearch 1.3.19")])
def test_an_unsupported_server_gets_one_clear_error_at_first_contact(server, root, named):
    server.routes["/"] = (200, {"X-elastic-product": "Elasticsearch"}
                          if "opensearch" not in json.dumps(root) else {}, root)
    engine = connect(EngineConfig(url=url(server)))  # no request yet
    with pytest.raises(UnsupportedEngineError) as info:
        engine.search({"query": {"match_all": {}}}, "t4-x")
    message = str(info.value)
    assert named in message
    assert "Elasticsearch 8.x and 9.x, and OpenSearch 2.x and 3.x" in message
    with pytest.raises(UnsupportedEngineError):  # every later call says the same
        engine.count("t4-x")


def test_elasticsearch_7_names_the_aws_way_out(server):
    server.routes["/"] = (200, {"X-elastic-product": "Elasticsearch"}, ES7_ROOT)
    with pytest.raises(UnsupportedEngineError, match="upgrade the domain to OpenSearch"):
        connect(EngineConfig(url=url(server))).server  # noqa: B018 - the first contact


def test_elasticsearch_without_a_root_handler_is_detected_from_its_nodes(server):
    """The integ-test distribution answers GET / with 405; the header still names it."""
    server.routes["/"] = (405, {"X-elastic-product": "Elasticsearch"}, {"error": "405"})
    server.routes["/_nodes/_local"] = (200, {"X-elastic-product": "Elasticsearch"},
                                       {"nodes": {"a": {"version": "9.2.0"}}})
    info = connect(EngineConfig(url=url(server))).server
    assert (info.family, info.version) == ("elasticsearch", "9.2.0")
    server.routes["/_nodes/_local"] = (200, {"X-elastic-product": "Elasticsearch"},
                                       {"nodes": {"a": {"version": "7.17.0"}}})
    with pytest.raises(UnsupportedEngineError, match="Elasticsearch 7.17.0"):
        connect(EngineConfig(url=url(server))).server  # noqa: B018


def test_a_limited_elasticsearch_user_is_trusted_by_the_product_header(server):
    server.routes["/"] = (405, {"X-elastic-product": "Elasticsearch"}, {"error": "405"})
    server.routes["/_nodes/_local"] = (403, {}, {"error": {"type": "security_exception"}})
    info = connect(EngineConfig(url=url(server), username="u", password="p")).server
    assert (info.family, info.version) == ("elasticsearch", None)


def test_opensearch_is_detected_and_a_wrong_configured_family_refused(server):
    server.routes["/"] = (200, {}, OS2_ROOT)
    assert connect(EngineConfig(url=url(server))).family == "opensearch"
    with pytest.raises(UnsupportedEngineError, match="T4_ES_ENGINE=opensearch"):
        connect(EngineConfig(url=url(server), engine="elasticsearch")).server  # noqa: B018


def test_refused_credentials_and_no_server_are_typed(server):
    server.routes["/"] = (401, {}, {"error": {"type": "security_exception"}})
    with pytest.raises(EngineAccessDeniedError):
        connect(EngineConfig(url=url(server))).server  # noqa: B018
    with pytest.raises(EngineUnavailableError):
        connect(EngineConfig(url="http://127.0.0.1:9")).server  # noqa: B018


def test_serverless_is_refused_at_start_with_the_reason():
    with pytest.raises(UnsupportedEngineError, match="Serverless.*_refresh.*domain"):
        EngineConfig(url="https://x.us-east-1.aoss.amazonaws.com", sigv4_region="us-east-1",
                     sigv4_service="aoss")


def test_sigv4_is_one_way_to_authenticate_and_only_for_opensearch():
    with pytest.raises(ValueError, match="one way"):
        EngineConfig(url="https://d", sigv4_region="us-east-1", username="u")
    with pytest.raises(ValueError, match="OpenSearch Service"):
        EngineConfig(url="https://d", sigv4_region="us-east-1", engine="elasticsearch")


def _body(kind: str, reason: str = "r") -> dict[str, Any]:
    return {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": "x",
                      "reason": reason}}


@pytest.mark.parametrize("status, body, expected", [
    (404, _body("index_not_found_exception"), IndexMissingError),
    (404, _body("search_context_missing_exception"), CursorExpiredError),
    (401, _body("security_exception"), EngineAccessDeniedError),
    (403, _body("security_exception"), EngineAccessDeniedError),
    (429, _body("es_rejected_execution_exception"), EngineUnavailableError),
    (503, _body("no_shard_available_action_exception"), EngineUnavailableError),
    (400, _body("parsing_exception"), EngineQueryError),
])
def test_one_classification_of_engine_answers(status, body, expected):
    error = classify(status, body, "refused")
    assert type(error) is expected
    assert error.status == status and error.kind == body["error"]["root_cause"][0]["type"]


def test_a_bad_query_is_also_a_query_error():
    assert isinstance(classify(400, _body("parsing_exception"), "x"), QueryError)


def test_the_automaton_refusal_says_what_to_do():
    """OpenSearch 2.x answers a 1,000-byte prefix with Lucene's bare message."""
    body = {"error": {"root_cause": [{"type": "query_shard_exception",
                                      "reason": "input automaton is too large: 1001"}]}}
    error = classify(400, body, "search refused")
    assert isinstance(error, QueryError)
    assert "input automaton is too large" in str(error) and "at most 999 bytes" in str(error)
    assert "999 bytes" not in str(classify(400, _body("parsing_exception"), "x"))


def test_each_family_s_client_errors_become_the_same_types():
    from elastic_transport import ApiResponseMeta, ConnectionTimeout, HttpHeaders
    from elastic_transport import ConnectionError as EsConnectionError
    from elasticsearch import NotFoundError as EsNotFound
    from opensearchpy import ConnectionError as OsConnectionError
    from opensearchpy import ConnectionTimeout as OsConnectionTimeout
    from opensearchpy import NotFoundError as OsNotFound

    from t4index.engine._detect import ServerInfo
    from t4index.engine._elastic import ElasticsearchBackend
    from t4index.engine._opensearch import OpenSearchBackend

    config = EngineConfig(url="http://127.0.0.1:9")
    es = ElasticsearchBackend(config, ServerInfo("elasticsearch", "9.2.0"), {})
    opensearch = OpenSearchBackend(config, ServerInfo("opensearch", "2.19.6"), {})
    meta = ApiResponseMeta(404, "1.1", HttpHeaders(), 0.0, None)  # type: ignore[arg-type]
    missing = _body("index_not_found_exception")
    assert type(es.translate(EsNotFound("nf", meta, missing))) is IndexMissingError
    assert type(opensearch.translate(OsNotFound(404, "index_not_found_exception", missing))) \
        is IndexMissingError
    assert type(es.translate(ConnectionTimeout("slow"))) is EngineTimeoutError
    assert type(opensearch.translate(OsConnectionTimeout("TIMEOUT", "slow", None))) \
        is EngineTimeoutError
    assert type(es.translate(EsConnectionError("refused"))) is EngineUnavailableError
    assert type(opensearch.translate(OsConnectionError("N/A", "refused", None))) \
        is EngineUnavailableError
    assert es.translate(RuntimeError("ours")) is None


def test_both_families_keep_as_many_connections_open():
    """opensearch-py left urllib3's default of one kept connection: under the indexer's
    concurrent pollers every other request opened a new one ("Connection pool is full")."""
    from t4index.engine._detect import ServerInfo
    from t4index.engine._elastic import ElasticsearchBackend
    from t4index.engine._opensearch import OpenSearchBackend

    config = EngineConfig(url="http://127.0.0.1:9")
    es = ElasticsearchBackend(config, ServerInfo("elasticsearch", "9.2.0"), {})
    opensearch = OpenSearchBackend(config, ServerInfo("opensearch", "2.19.6"), {})
    (es_node,) = es.raw.transport.node_pool.all()
    os_node = opensearch.raw.transport.connection_pool.connection
    assert os_node.pool.pool.maxsize == es_node.pool.pool.maxsize == 10


def test_opensearch_speaks_its_own_dialect_of_the_same_body():
    from t4index.engine._opensearch import _adapt
    from t4index.query import SearchQuery, build_search_body

    body = build_search_body(SearchQuery(text="x", highlight=True))
    body["sort"] = [{"key": "asc"}, {"_shard_doc": "asc"}]
    adapted = _adapt(body)
    assert "max_analyzer_offset" in adapted["highlight"]
    assert "max_analyzed_offset" not in adapted["highlight"]
    assert adapted["sort"][-1] == {"_doc": "asc"}
    assert "max_analyzed_offset" in body["highlight"]  # the caller's body is left alone


def _dead_node() -> str:
    """A loopback URL nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_comma_separated_url_lists_the_clusters_nodes():
    config = EngineConfig(url="http://a:9200, http://b:9200,https://c:9200")
    assert config.url == "http://a:9200"
    assert config.more_urls == ("http://b:9200", "https://c:9200")


@pytest.mark.parametrize("bad", ["http://a:9200,", "http://a:9200,b:9200", ",http://a:9200"])
def test_a_node_list_with_an_empty_or_non_http_url_is_refused(bad):
    with pytest.raises(ValueError, match="every node URL must start with http"):
        EngineConfig(url=bad)


def test_first_contact_reaches_the_cluster_when_its_first_node_is_down(server):
    """A stack whose es-1 is stopped, or a listed node that died: detection asks the next."""
    server.routes = {"/": (200, {}, OS2_ROOT)}
    engine = connect(EngineConfig(url=f"{_dead_node()},{url(server)}"))
    assert str(engine.server) == "OpenSearch 2.19.6"


def test_no_node_answering_names_every_one_tried():
    dead = [_dead_node(), _dead_node()]
    with pytest.raises(EngineUnavailableError, match="none of the 2 nodes") as caught:
        connect(EngineConfig(url=",".join(dead), request_timeout=2)).server  # noqa: B018
    assert all(node in str(caught.value) for node in dead)
