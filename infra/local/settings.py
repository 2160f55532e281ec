"""Where the local stack lives and listens: every knob is an environment variable.

``StackSettings.from_env()`` is the one place that reads them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ES_VERSION = "9.2.0"
OPENSEARCH_VERSION = "2.19.6"
ENGINES = ("elasticsearch", "opensearch")
TIKA_VERSION = "3.2.2"


def _default_home() -> Path:
    # Elasticsearch runs as an unprivileged user when we are root, and that user
    # cannot enter /root: keep the stack outside the home folder in that case.
    if os.geteuid() == 0:
        return Path("/var/cache/t4-search")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "t4-search"


@dataclass(frozen=True)
class StackSettings:
    """Ports, paths and versions of the local stack."""

    home: Path
    host: str = "127.0.0.1"
    es_port: int = 19200
    tika_port: int = 19998
    moto_port: int = 15000
    search_api_port: int = 18080
    es_version: str = ES_VERSION
    engine: str = "elasticsearch"
    opensearch_version: str = OPENSEARCH_VERSION
    engine_proxy_port: int = 20200
    tika_version: str = TIKA_VERSION
    es_heap: str = "512m"
    es_user: str = "t4search"
    es_nodes: int = 1
    es_transport_port: int = 19300
    queue_prefix: str = "t4-events"
    region: str = "us-east-1"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> StackSettings:
        """Read the settings from ``T4_STACK_*`` environment variables (defaults otherwise)."""
        env = dict(os.environ if env is None else env)

        def port(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None:
                return default
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise ValueError(f"{name}={raw!r} is not a TCP port (1-65535)")
            return int(raw)

        engine = (env.get("T4_STACK_ENGINE") or "elasticsearch").strip().lower()
        if engine not in ENGINES:
            raise ValueError(f"T4_STACK_ENGINE={engine!r} must be one of {', '.join(ENGINES)}")
        nodes_raw = env.get("T4_STACK_NODES") or "1"
        if not nodes_raw.isdigit() or not 1 <= int(nodes_raw) <= 9:
            raise ValueError(f"T4_STACK_NODES={nodes_raw!r} must be a number of nodes, 1-9")
        es_port = port("T4_STACK_ES_PORT", 19200)
        return cls(
            home=Path(env.get("T4_STACK_HOME") or _default_home()),
            es_port=es_port,
            engine=engine,
            opensearch_version=env.get("T4_STACK_OPENSEARCH_VERSION", OPENSEARCH_VERSION),
            engine_proxy_port=port("T4_STACK_ENGINE_PROXY_PORT", es_port + 1000),
            es_nodes=int(nodes_raw),
            # nodes name each other as seeds: fixed transport ports, one per node
            es_transport_port=port("T4_STACK_ES_TRANSPORT_PORT", es_port + 200),
            tika_port=port("T4_STACK_TIKA_PORT", 19998),
            moto_port=port("T4_STACK_MOTO_PORT", 15000),
            search_api_port=port("T4_STACK_SEARCH_API_PORT", 18080),
            es_version=env.get("T4_STACK_ES_VERSION", ES_VERSION),
            tika_version=env.get("T4_STACK_TIKA_VERSION", TIKA_VERSION),
            es_heap=env.get("T4_STACK_ES_HEAP", "512m"),
            es_user=env.get("T4_STACK_ES_USER", "t4search"),
        )

    def sibling_env(self, engine: str) -> dict[str, str]:
        """``T4_STACK_*`` variables of a second stack running ``engine`` beside this one:
        its own home (``<home>-<engine>``) and every port 100 higher, so both run at once."""
        return {
            "T4_STACK_ENGINE": engine,
            "T4_STACK_HOME": f"{self.home}-{engine}",
            "T4_STACK_ES_PORT": str(self.es_port + 100),
            "T4_STACK_TIKA_PORT": str(self.tika_port + 100),
            "T4_STACK_MOTO_PORT": str(self.moto_port + 100),
            "T4_STACK_SEARCH_API_PORT": str(self.search_api_port + 100),
            "T4_STACK_ENGINE_PROXY_PORT": str(self.engine_proxy_port + 100),
        }

    # -- paths -------------------------------------------------------------
    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def credentials_file(self) -> Path:
        return self.state_dir / "credentials.json"

    # -- endpoints ---------------------------------------------------------
    @property
    def engine_url(self) -> str:
        """Where the engine process itself listens."""
        return f"http://{self.host}:{self.es_port}"

    @property
    def engine_proxy_url(self) -> str:
        """The SigV4-verifying proxy in front of the local OpenSearch."""
        return f"http://{self.host}:{self.engine_proxy_port}"

    @property
    def es_url(self) -> str:
        """Where clients reach the engine: Elasticsearch itself (basic auth), or the
        SigV4 proxy in front of OpenSearch (which has no security plugin here)."""
        return self.engine_proxy_url if self.engine == "opensearch" else self.engine_url

    @property
    def local_aws_credentials_file(self) -> Path:
        """The stack's one local IAM identity, known to the search API and the engine proxy."""
        return self.state_dir / "search-api-credentials.json"

    @property
    def tika_url(self) -> str:
        return f"http://{self.host}:{self.tika_port}"

    @property
    def moto_url(self) -> str:
        return f"http://{self.host}:{self.moto_port}"

    @property
    def search_api_url(self) -> str:
        return f"http://{self.host}:{self.search_api_port}"

    def credentials(self) -> dict[str, str]:
        """The generated Elasticsearch credentials: ``{"username": ..., "password": ...}``."""
        return json.loads(self.credentials_file.read_text())
