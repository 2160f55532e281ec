"""A private engine (the stack's: Elasticsearch or OpenSearch) and Tika, on their own ports
and folder, that a test may stop.

The shared stack serves every other test at the same time, so fault tests never stop it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, replace
from pathlib import Path

from infra.local import procs, services
from infra.local.procs import ProcessSpec
from infra.local.settings import StackSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrivateService:
    spec: ProcessSpec
    url: str

    def start(self) -> None:
        pid = procs.start(self.spec)
        procs.wait_healthy(self.spec, pid)

    def stop(self) -> None:
        procs.stop(self.spec.pidfile)


def private_settings(home: Path) -> StackSettings:
    base = StackSettings.from_env()
    # one node, whatever T4_STACK_NODES the shared stack runs with
    return replace(base, home=home, es_port=free_port(), tika_port=free_port(),
                   engine_proxy_port=free_port(), es_nodes=1)


def private_elasticsearch(settings: StackSettings) -> tuple[PrivateService, dict[str, str]]:
    for folder in (settings.home, settings.cache_dir, settings.state_dir, settings.log_dir,
                   settings.run_dir):
        folder.mkdir(parents=True, exist_ok=True)
    settings.home.chmod(0o755)
    (spec,) = services.engine_specs(settings)
    if settings.engine == "opensearch":  # loopback, no security plugin: no proxy needed here
        return PrivateService(spec, settings.engine_url), {}
    return PrivateService(spec, settings.es_url), settings.credentials()


def private_tika(settings: StackSettings) -> PrivateService:
    return PrivateService(services.tika_spec(settings), settings.tika_url)
