"""A SigV4-verifying proxy in front of the local OpenSearch: an OpenSearch Service domain's door.

The integ-test OpenSearch has no security plugin, so this proxy plays what an
Amazon OpenSearch Service domain with an IAM access policy does: it verifies each
request's SigV4 signature (service ``es``, the stack's region) against the
credentials it knows (``infra.local.sigv4``, shared with the local search API),
answers 403 to unsigned, wrongly signed, wrong-region or wrong-service requests,
and forwards the others to OpenSearch unchanged. The engine layer's signing path
(opensearch-py's ``Urllib3AWSV4SignerAuth``) is thereby tested, not just written.

Like a domain's endpoint, which balances over its data nodes, it may front several
nodes of one cluster (``--upstream`` once per node): requests take the nodes in turn,
and one a node cannot take (refused, reset: the node is down or going) goes to the
next node, so the stack's clients keep working while any one node is lost.

Run: ``python -m infra.local.engine_proxy --port P --upstream URL [--upstream URL2 ...]
--credentials FILE``.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import logging
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.local.sigv4 import (
    BodyTooLarge,
    Principal,
    SignatureRefused,
    load_credentials,
    read_signed,
)

log = logging.getLogger("t4.engine_proxy")

SERVICE = "es"
MAX_BODY_BYTES = 100 * 1024 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "content-length"}


class EngineProxy(ThreadingHTTPServer):
    """The proxy server; ``url`` is where it listens. ``upstream`` is one OpenSearch URL,
    or every node's of one cluster."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], upstream: str | Sequence[str],
                 principals: Mapping[str, Principal], region: str) -> None:
        super().__init__(address, _Handler)
        urls = [upstream] if isinstance(upstream, str) else list(upstream)
        if not urls:
            raise ValueError("the engine proxy needs at least one upstream URL")
        self.upstreams = [(parts.hostname or "127.0.0.1", parts.port or 9200)
                          for parts in map(urlsplit, urls)]
        self.principals = dict(principals)
        self.region = region
        self._local = threading.local()
        self._turn = itertools.count()

    def upstream_order(self) -> list[int]:
        """The upstreams' indices for the next request: each takes the first turn in turn."""
        first = next(self._turn) % len(self.upstreams)
        return [(first + i) % len(self.upstreams) for i in range(len(self.upstreams))]

    @property
    def url(self) -> str:
        """``http://host:port`` of this proxy."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def connection(self, index: int = 0, fresh: bool = False) -> http.client.HTTPConnection:
        """This thread's keep-alive connection to upstream ``index``."""
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        conn = conns.get(index)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(*self.upstreams[index], timeout=120)
            conns[index] = conn
        return conn


class _Handler(BaseHTTPRequestHandler):
    server: EngineProxy
    protocol_version = "HTTP/1.1"
    # headers and body leave in two writes: with Nagle on, the body waited for the
    # client's delayed ACK of the headers, 40 ms on a kept-alive connection
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _refuse(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"message": message}).encode(),
                   [("Content-Type", "application/json")])

    def _forward(self, body: bytes, headers: dict[str, list[str]]) -> None:
        out = {name: values[0] for name, values in headers.items()
               if name not in _HOP_BY_HOP and name != "authorization"}
        for index in self.server.upstream_order():
            # a kept-alive connection the node closed: once more, fresh; then the next node
            for attempt in (0, 1):
                conn = self.server.connection(index, fresh=attempt > 0)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=out)
                    resp = conn.getresponse()
                    data = resp.read()
                except TimeoutError:
                    # the node took the request and did not answer: another would repeat it
                    conn.close()
                    self._refuse(504, "the engine behind the proxy did not answer in time")
                    return
                except (http.client.HTTPException, OSError):
                    continue
                kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
                self._send(resp.status, data, kept)
                return
        self._refuse(502, "the engine behind the proxy cannot be reached")

    def _handle(self) -> None:
        try:
            request = read_signed(self, self.server.principals, self.server.region, SERVICE,
                                  MAX_BODY_BYTES)
        except BodyTooLarge:
            self.close_connection = True
            self._refuse(413, "Request Entity Too Large")
            return
        except SignatureRefused as exc:
            log.info("refused %s %s: %s", self.command, self.path, exc)
            # what a domain answers: 403 with a message, no engine error body
            self._refuse(403, f"The request signature was refused: {exc}")
            return
        self._forward(request.body, request.headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle


def serve(port: int, upstream: str | Sequence[str], credentials_file: str | Path, *,
          host: str = "127.0.0.1", region: str = "us-east-1") -> EngineProxy:
    """Start the proxy in a daemon thread (``port=0`` picks a free port) in front of
    ``upstream``: one OpenSearch URL, or every node's of one cluster.

    Stop it with ``server.shutdown(); server.server_close()``.

    Returns:
        The running ``EngineProxy``.
    Raises:
        ValueError: the credentials file is not valid, or no upstream was given.
        OSError: the port cannot be bound.
    """
    server = EngineProxy((host, port), upstream, load_credentials(credentials_file), region)
    threading.Thread(target=server.serve_forever, name="t4-engine-proxy", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    """``python -m infra.local.engine_proxy``: serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m infra.local.engine_proxy",
                                     description="SigV4 (service es) in front of OpenSearch.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--upstream", required=True, action="append",
                        help="an OpenSearch node's URL (once per node of the cluster)")
    parser.add_argument("--credentials", required=True, help="JSON file of known access keys")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        server = serve(args.port, args.upstream, args.credentials, host=args.host,
                       region=args.region)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"engine proxy on {server.url} -> {', '.join(args.upstream)} (region {args.region}, "
          f"service {SERVICE})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
