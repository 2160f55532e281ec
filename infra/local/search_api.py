"""The search API on this machine: API Gateway's IAM check in front of the search Lambda.

A threaded HTTP server that, like an HTTP API route with IAM authorization,
verifies each request's SigV4 signature (service ``execute-api``, with
``infra.local.sigv4``, shared with the engine proxy) against the credentials it
knows, refuses unsigned, wrongly signed and expired (over 15 minutes of clock skew)
requests with 403, then builds the payload 2.0 event
(``requestContext.authorizer.iam`` with userArn, accessKey, accountId, callerId)
and calls ``lambdas.search.app.handler``, one request at a time as a single
Lambda container would (connections are accepted concurrently). The handler
reads its settings (``T4_ES_*``, ``T4_SEARCH_*``) from the environment.

Credentials file (JSON)::

    {"AKIDALICE": {"secret": "...", "arn": "arn:aws:iam::000000000000:user/alice"}}

Run: ``python -m infra.local.search_api --port 18080 --credentials FILE``.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from infra.local.sigv4 import (
    BodyTooLarge,
    Principal,
    SignatureRefused,
    load_credentials,
    read_signed,
    verify_signature,
)

log = logging.getLogger("t4.search_api")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
SERVICE = "execute-api"
MAX_SKEW_SECONDS = 15 * 60
MAX_BODY_BYTES = 10 * 1024 * 1024
"""API Gateway HTTP APIs refuse larger payloads."""
FUNCTION_TIMEOUT = 25.0
__all__ = ["SERVICE", "Principal", "SearchApiServer", "SignatureRefused", "build_event",
           "load_credentials", "serve", "verify_signature"]


def build_event(method: str, target: str, headers: Mapping[str, list[str]], body: bytes,
                principal: Principal, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """The API Gateway HTTP API (payload 2.0) event of an authenticated request.

    Returns:
        The event, ``requestContext.authorizer.iam`` filled from ``principal``.
    """
    parts = urlsplit(target)
    now = datetime.now(UTC)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    query = parse_qsl(parts.query, keep_blank_values=True)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {name: ",".join(values) for name, values in headers.items()},
        "queryStringParameters": {k: v for k, v in query} or None,
        "requestContext": {
            "accountId": principal.account_id or "000000000000",
            "apiId": "local",
            "authorizer": {"iam": {
                "accessKey": principal.access_key, "accountId": principal.account_id,
                "callerId": principal.caller_id, "cognitoIdentity": None,
                "principalOrgId": None, "userArn": principal.arn,
                "userId": principal.caller_id}},
            "domainName": (headers.get("host") or ["localhost"])[0],
            "domainPrefix": "local",
            "http": {"method": method, "path": parts.path, "protocol": "HTTP/1.1",
                     "sourceIp": source_ip,
                     "userAgent": (headers.get("user-agent") or [""])[0]},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class SearchApiServer(ThreadingHTTPServer):
    """The HTTP server; ``url`` is where it listens."""

    daemon_threads = True
    request_queue_size = 128
    """The listen backlog (the standard library's is 5): a burst of callers connecting at
    once was reset (``Connection reset by peer``) where API Gateway accepts them all."""

    def __init__(self, address: tuple[str, int], principals: Mapping[str, Principal],
                 region: str, handler: Handler | None = None,
                 function_timeout: float = FUNCTION_TIMEOUT) -> None:
        super().__init__(address, _RequestHandler)
        self.principals = dict(principals)
        self.region = region
        self.handler = handler
        self.function_timeout = function_timeout
        self.invoke_lock = threading.Lock()
        """One invocation at a time, as in one Lambda container: the powertools
        resolver keeps the current event on a module-level object."""

    @property
    def url(self) -> str:
        """``http://host:port`` of this server."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def lambda_handler(self) -> Handler:
        """The handler to call (``lambdas.search.app.handler`` unless one was given)."""
        if self.handler is None:
            from lambdas.search.app import handler

            self.handler = handler
        return self.handler


class _RequestHandler(BaseHTTPRequestHandler):
    server: SearchApiServer
    protocol_version = "HTTP/1.1"
    # headers and body leave in two writes: with Nagle on, the body waited for the
    # client's delayed ACK of the headers, 40 ms on a kept-alive connection
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        log.info("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        names = {k.lower() for k in (headers or {})}
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "content-type" not in names:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _message(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"message": message}).encode())

    def _handle(self) -> None:
        try:
            request = read_signed(self, self.server.principals, self.server.region, SERVICE,
                                  MAX_BODY_BYTES)
        except BodyTooLarge:
            self.close_connection = True
            self._message(413, "Request Entity Too Large")
            return
        except SignatureRefused as exc:
            log.info("refused %s %s: %s", self.command, self.path, exc)
            self._message(403, "Forbidden")
            return
        body, headers, principal = request.body, request.headers, request.principal
        from infra.local.worker import LambdaContext

        event = build_event(self.command, self.path, headers, body, principal,
                            self.client_address[0])
        context = LambdaContext("t4-search-api", self.server.function_timeout)
        try:
            with self.server.invoke_lock:
                result = self.server.lambda_handler()(event, context)
            status = int(result.get("statusCode", 200))
            out = result.get("body") or ""
            raw = base64.b64decode(out) if result.get("isBase64Encoded") else out.encode()
            self._send(status, raw, {k: str(v) for k, v in (result.get("headers") or {}).items()
                                     if k.lower() not in ("content-length", "connection")})
        except Exception:  # noqa: BLE001 - API Gateway answers 500 when the function fails
            log.exception("the search handler failed")
            self._message(500, "Internal Server Error")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


def serve(port: int, credentials_file: str | Path, *, host: str = "127.0.0.1",
          region: str | None = None, handler: Handler | None = None,
          function_timeout: float = FUNCTION_TIMEOUT) -> SearchApiServer:
    """Start the server in a daemon thread (``port=0`` picks a free port).

    Stop it with ``server.shutdown(); server.server_close()``.

    Returns:
        The running ``SearchApiServer`` (``server.url`` is its address).
    Raises:
        ValueError: the credentials file is not valid.
        OSError: the port cannot be bound.
    """
    region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    server = SearchApiServer((host, port), load_credentials(credentials_file), region,
                             handler, function_timeout)
    thread = threading.Thread(target=server.serve_forever, name="t4-search-api", daemon=True)
    thread.start()
    return server


def main(argv: list[str] | None = None) -> int:
    """``python -m infra.local.search_api``: serve until interrupted."""
    from infra.local.endpoints import Endpoints
    from infra.local.settings import StackSettings

    settings = StackSettings.from_env()
    parser = argparse.ArgumentParser(prog="python -m infra.local.search_api",
                                     description="The search API behind a SigV4 check.")
    parser.add_argument("--port", type=int, default=settings.search_api_port)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--credentials", required=True, help="JSON file of known access keys")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", settings.region))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for key, value in Endpoints.resolve(settings).es_env().items():
        if key.startswith("T4_ES_"):
            os.environ.setdefault(key, value)
    from lambdas.search.errors import ConfigurationError
    from lambdas.search.settings import Settings

    try:
        Settings.from_env()
        server = serve(args.port, args.credentials, host=args.host, region=args.region)
    except (ConfigurationError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"search API on {server.url} (region {args.region}, service {SERVICE})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
