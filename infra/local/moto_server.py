"""The local stack's moto server: moto's own application, served without its overheads.

Run as ``python -m infra.local.moto_server -H HOST -p PORT``. Everything AWS-shaped
is moto's (the same ``DomainDispatcherApplication`` that ``moto_server`` serves);
what changes is cost, never behaviour:

- The HTTP server. ``moto_server`` runs werkzeug's development server, which sends
  ``Connection: close`` on every response and starts a thread per connection, so
  every SDK call paid a TCP connect plus a thread start. cheroot serves the same
  WSGI application with HTTP/1.1 keep-alive and a pool of threads that grows
  while busy (an SQS long poll holds a thread for its whole wait, and the stack's
  worker keeps two long polls open per queue). Like
  werkzeug and moto's request handler, the gateway passes the raw request path
  (``RAW_URI``: keys with ``%2F`` or ``?``) and keeps the spelling of ``x-amz-meta-*``
  header names with underscores (S3 metadata keys such as ``my_key``).
- Connections. cheroot keeps at most 10 idle keep-alive connections by default and
  closes any more after their response; SDK clients each hold a pool of them, so
  most requests paid a new TCP connection. The limit is raised to 1,024.
- moto's own costs (dispatch, SQS): ``infra.local.moto_patches``, applied at start.
- SQS's two busiest calls (``ReceiveMessage``, ``DeleteMessageBatch``, the worker's
  per-batch calls) skip moto's per-request machinery: ``infra.local.sqs_lane``.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from infra.local.moto_patches import apply
from infra.local.sqs_lane import SqsLane


def _gateway():
    """cheroot's WSGI gateway plus what moto's own request handler adds to the environ:
    the original spelling of ``x-amz-meta-*`` headers with underscores in their names."""
    from cheroot.wsgi import Gateway_10
    from moto.core.request import (
        PRESERVED_HEADER_NAMES_ENVIRON_KEY,
        environ_key_for_header,
        should_preserve_original_header_name,
    )

    class MotoGateway(Gateway_10):
        version = Gateway_10.version

        def get_environ(self) -> dict[str, Any]:
            environ = super().get_environ()
            # moto reads S3 keys from the raw path (``%2F`` and ``?`` in keys): werkzeug's
            # name for it; cheroot's REQUEST_URI is the same raw bytes, latin-1 decoded.
            environ.setdefault("RAW_URI", environ["REQUEST_URI"])
            headers = [(k.decode("latin-1"), v.decode("latin-1"))
                       for k, v in self.req.inheaders.items()]
            dashed = {environ_key_for_header(name) for name, _ in headers if "_" not in name}
            names: dict[str, str] = {}
            values: dict[str, list[str]] = {}
            for name, value in headers:
                if not should_preserve_original_header_name(name):
                    continue
                key = environ_key_for_header(name)
                if key in dashed:
                    continue
                names.setdefault(key, name)
                values.setdefault(key, []).append(value.replace("\r\n", ""))
            for key, key_values in values.items():
                environ[key] = ",".join(key_values)
            environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
            return environ

    return MotoGateway


def _connection_class():
    """cheroot title-cases header names; keep the spelling of the ``x-amz-meta-*`` names
    moto preserves (those with underscores), as its own request handler does."""
    from cheroot import server
    from moto.core.request import should_preserve_original_header_name

    class Reader(server.HeaderReader):
        def _transform_key(self, key_name: bytes) -> bytes:
            name = key_name.strip()
            if should_preserve_original_header_name(name.decode("latin-1")):
                return name
            return super()._transform_key(key_name)

    class Request(server.HTTPRequest):
        header_reader = Reader()

    class Connection(server.HTTPConnection):
        RequestHandlerClass = Request

    return Connection


def _growing_pool(server: Any, threads: int, most: int) -> Any:
    """cheroot's thread pool, grown while busy: a long poll holds its thread for the wait."""
    from cheroot.workers.threadpool import ThreadPool

    class GrowingPool(ThreadPool):
        def put(self, obj: Any) -> None:
            if self.idle < 2 and len(self._threads) < self.max:
                self.grow(16)
            super().put(obj)

    return GrowingPool(server, min=threads, max=most)


KEEP_ALIVE_CONNECTIONS = 1024
"""Idle keep-alive connections the server keeps open (cheroot's default is 10)."""


def make_server(host: str, port: int, threads: int = 64, most: int = 2048, *,
                sqs_lane: bool = True) -> Any:
    """A cheroot server for moto's WSGI application (not started): ``threads`` request
    threads at first, grown by 16 whenever fewer than two are idle, up to ``most``;
    ``sqs_lane``: SQS's busiest calls answered by ``infra.local.sqs_lane``."""
    from cheroot import wsgi
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    os.environ.setdefault("MOTO_PORT", str(port))
    app: Any = DomainDispatcherApplication(create_backend_app)
    if sqs_lane:
        app = SqsLane(app)
    server = wsgi.Server((host, port), app, numthreads=threads, request_queue_size=256,
                         server_name=f"moto-{host}:{port}")
    server.gateway = _gateway()
    server.ConnectionClass = _connection_class()
    server.requests = _growing_pool(server, threads, most)
    # cheroot keeps at most 10 idle keep-alive connections and closes the 11th after its
    # response: SDK clients hold a pool of connections each (boto3: 10 by default), so
    # most requests paid a new TCP connection. Keep as many as clients hold open.
    server.keep_alive_conn_limit = KEEP_ALIVE_CONNECTIONS
    return server


def serve(host: str, port: int, threads: int = 64) -> None:
    """Serve until SIGTERM or Ctrl-C. moto keeps its state in memory only, so SIGTERM
    ends the process at once rather than waiting for long polls to finish."""
    server = make_server(host, port, threads)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f" * Running on http://{host}:{port} (moto {_moto_version()}, cheroot)", flush=True)
    try:
        server.start()
    except KeyboardInterrupt:
        os._exit(0)


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="moto server for the t4-search local stack")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=64,
                        help="request threads at start (grown while busy)")
    args = parser.parse_args(argv)
    apply()
    serve(args.host, args.port, args.threads)


if __name__ == "__main__":
    main()
