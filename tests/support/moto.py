"""The stack's moto server (``infra.local.moto_server``) run in the test's own process."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from infra.local import moto_server


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(threads: int, most: int = 2048, **options: Any) -> Iterator[tuple[str, Any]]:
    """moto behind the stack's server, on a free loopback port, in this process:
    (its endpoint, the server). ``options`` go to ``moto_server.make_server``."""
    port = free_port()
    server = moto_server.make_server("127.0.0.1", port, threads=threads, most=most, **options)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.stop()
        thread.join(timeout=10)
