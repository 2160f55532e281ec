"""The engine proxy in front of several nodes: requests take the nodes in turn, and one
that a node cannot take (down: refused) goes to the next, as a domain endpoint does."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from infra.local import engine_proxy

REGION = "us-east-1"


class _Node(ThreadingHTTPServer):
    """An HTTP upstream that answers with its own name: which node took a request."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = name.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once closed


@pytest.fixture
def nodes() -> Iterator[list[_Node]]:
    made = [_Node("node-a"), _Node("node-b")]
    yield made
    for node in made:
        node.shutdown()
        node.server_close()


def _proxy(tmp_path: Path, upstreams: list[str]) -> engine_proxy.EngineProxy:
    known = tmp_path / "credentials.json"
    known.write_text(json.dumps({"AKIDLOCAL": {"secret": "s3cret",
                                               "arn": "arn:aws:iam::000000000000:user/t"}}))
    return engine_proxy.serve(0, upstreams, known, region=REGION)


def _get(proxy: engine_proxy.EngineProxy, path: str = "/_cluster/health") -> tuple[int, str]:
    request = AWSRequest(method="GET", url=proxy.url + path)
    SigV4Auth(Credentials("AKIDLOCAL", "s3cret"), "es", REGION).add_auth(request)
    prepared = urllib.request.Request(proxy.url + path, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(prepared, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_requests_take_every_node_in_turn(tmp_path: Path, nodes: list[_Node]) -> None:
    proxy = _proxy(tmp_path, [node.url for node in nodes])
    try:
        answers = [_get(proxy) for _ in range(6)]
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert {status for status, _ in answers} == {200}
    assert sorted(body for _, body in answers) == ["node-a"] * 3 + ["node-b"] * 3


def test_a_node_that_is_down_passes_its_requests_to_the_next(
        tmp_path: Path, nodes: list[_Node]) -> None:
    down = _closed_port_url()
    proxy = _proxy(tmp_path, [down, nodes[0].url, down])
    try:
        answers = [_get(proxy) for _ in range(9)]
        unsigned = urllib.request.Request(proxy.url + "/")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned, timeout=10)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert answers == [(200, "node-a")] * 9  # not one 502 while a live node remains
    assert refused.value.code == 403  # still the domain's door: unsigned is refused


def test_every_node_down_is_a_502_that_says_so(tmp_path: Path) -> None:
    proxy = _proxy(tmp_path, [_closed_port_url(), _closed_port_url()])
    try:
        status, body = _get(proxy)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert status == 502 and "cannot be reached" in body


def test_no_upstream_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one upstream"):
        _proxy(tmp_path, [])
