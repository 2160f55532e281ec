"""up / down / status / logs for the local stack."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass

from indexer.extract import OcrSwitch, TikaClient
from infra.local import cluster, procs, services
from infra.local.endpoints import Endpoints
from infra.local.errors import StackError
from infra.local.procs import ProcessSpec
from infra.local.settings import StackSettings

ORDER = ("moto", "elasticsearch", "opensearch", "engine-proxy", "tika", "worker", "search-api")


def _names(settings: StackSettings) -> tuple[str, ...]:
    """The services this stack runs: its engine (with the SigV4 proxy for OpenSearch)."""
    skip = {"opensearch", "engine-proxy"} if settings.engine == "elasticsearch" else {
        "elasticsearch"}
    return tuple(name for name in ORDER if name not in skip)


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    healthy: bool
    where: str


def _pidfile(settings: StackSettings, name: str):
    return settings.run_dir / f"{name}.pid"


def _where(settings: StackSettings, name: str) -> str:
    return {
        "moto": settings.moto_url,
        "elasticsearch": settings.es_url,
        "opensearch": f"{settings.engine_url} (loopback, no security plugin)",
        "engine-proxy": f"{settings.engine_proxy_url} (SigV4, service es, like a domain)",
        "tika": settings.tika_url,
        "worker": f"polls SQS queues {settings.queue_prefix}* on moto",
        "search-api": f"{settings.search_api_url}/search (SigV4, like API Gateway)",
    }[name]


def _ensure(specs: list[ProcessSpec], say) -> None:
    """Start those of ``specs`` that do not run yet, all at once (they boot in parallel),
    then wait for each to be healthy; on a failure stop what this call started."""
    pending = []
    for spec in specs:
        pid = procs.running_pid(spec.pidfile)
        if pid is not None:
            say(f"{spec.name}: already running (pid {pid})" if spec.healthy()
                else f"{spec.name}: running (pid {pid}), waiting for health")
            pending.append((spec, None, pid))
            continue
        spec.pidfile.unlink(missing_ok=True)
        pending.append((spec, time.monotonic(), procs.start(spec)))
    for spec, started, pid in pending:
        try:
            procs.wait_healthy(spec, pid)
        except StackError:
            for other, other_started, _ in pending:
                if other_started is not None:
                    procs.stop(other.pidfile)
            raise
        if started is not None:
            say(f"{spec.name}: started (pid {pid}) in {time.monotonic() - started:.1f} s")


def up(settings: StackSettings, say=print) -> None:
    """Start whatever is not running yet and wait until every service is healthy.

    Raises:
        StackError: a download, Java, a port or a health check failed; the message says what to do.
    """
    for folder in (settings.home, settings.cache_dir, settings.state_dir, settings.log_dir,
                   settings.run_dir):
        folder.mkdir(parents=True, exist_ok=True)
    settings.home.chmod(0o755)
    # The slow JVMs first: they boot while moto starts.
    _ensure([*services.engine_specs(settings), services.tika_spec(settings),
             services.moto_spec(settings)], say)
    say(f"tika: {ocr_status(settings)}")
    if settings.engine == "opensearch":
        _ensure([services.engine_proxy_spec(settings)], say)
    env = Endpoints.resolve(settings).es_env()
    _ensure([services.worker_spec(settings, env), services.search_api_spec(settings, env)], say)


def ocr_status(settings: StackSettings) -> str:
    """One line: whether the stack's worker will OCR (``T4_OCR`` and the Tika server's
    tesseract), as the worker itself reports it when it builds its pipeline."""
    try:
        switch = OcrSwitch(os.environ.get("T4_OCR", "auto"),
                           TikaClient(settings.tika_url).ocr_types)
    except ValueError as exc:
        return f"OCR off: T4_OCR {exc}"
    line = switch.describe()
    if switch.mode == "auto" and not switch.image_types() and shutil.which("tesseract") is None:
        line += ("; tesseract is not installed here (./dev installs it as root with apt-get: "
                 "apt-get install tesseract-ocr), so images and scanned PDFs get no text")
    return line


def down(settings: StackSettings, say=print) -> None:
    """Stop exactly the processes this stack recorded."""
    extra_nodes = list(reversed(cluster.recorded_nodes(settings)))
    for name in reversed(ORDER):
        if name in ("elasticsearch", "opensearch"):  # a multi-node cluster's extra nodes first
            for node in extra_nodes:
                stopped = procs.stop(_pidfile(settings, node))
                say(f"{node}: {'stopped' if stopped else 'not running'}")
            extra_nodes = []
        stopped = procs.stop(_pidfile(settings, name))
        say(f"{name}: {'stopped' if stopped else 'not running'}")


def _engine_auth(settings: StackSettings) -> tuple[str, str] | None:
    """Basic auth for the local Elasticsearch's health (OpenSearch has none here)."""
    if settings.engine != "elasticsearch" or not settings.credentials_file.exists():
        return None
    creds = settings.credentials()
    return creds["username"], creds["password"]


def status(settings: StackSettings) -> list[ServiceStatus]:
    """One row per service, then one per extra node of a multi-node cluster."""
    out = []
    for name in _names(settings):
        pid = procs.running_pid(_pidfile(settings, name))
        healthy = False
        if pid is not None:
            if name == "worker":
                healthy = services.worker_alive(services.worker_heartbeat(settings),
                                                _pidfile(settings, name))
            elif name == "elasticsearch":
                healthy = services.http_ok(f"{settings.es_url}/_cluster/health",
                                           _engine_auth(settings))
            elif name == "opensearch":
                healthy = services.http_ok(f"{settings.engine_url}/_cluster/health")
            elif name in ("search-api", "engine-proxy"):
                healthy = services.answers(settings.search_api_url if name == "search-api"
                                           else settings.engine_proxy_url)
            elif name == "tika":
                healthy = services.http_ok(f"{settings.tika_url}/version")
            else:
                healthy = services.http_ok(f"{settings.moto_url}/moto-api/")
        out.append(ServiceStatus(name, pid, healthy, _where(settings, name)))
    for node_name in cluster.node_names(settings)[1:]:
        pid = procs.running_pid(_pidfile(settings, node_name))
        url = cluster.node_url(settings, node_name)
        healthy = pid is not None and services.http_ok(f"{url}/_cluster/health",
                                                       _engine_auth(settings))
        out.append(ServiceStatus(node_name, pid, healthy, f"{url} (node of the cluster)"))
    return out


def log_path(settings: StackSettings, name: str):
    """The log of service ``name``, or of an extra node of the cluster (``es-2``, ``os-2``).

    Raises:
        StackError: neither a service nor a node of this stack.
    """
    if name not in ORDER:
        cluster.check_node(settings, name)
        name = cluster.service_name(settings, name)  # node 1 is the engine's service
        if name not in ORDER:
            return settings.log_dir / f"{name}.out"
    return {
        "moto": settings.log_dir / "moto.log",
        "elasticsearch": settings.log_dir / "elasticsearch.out",
        "opensearch": settings.log_dir / "opensearch.out",
        "engine-proxy": settings.log_dir / "engine-proxy.log",
        "tika": settings.log_dir / "tika.log",
        "worker": settings.log_dir / "worker.log",
        "search-api": settings.log_dir / "search-api.log",
    }[name]


def node(settings: StackSettings, action: str, name: str, say=print) -> None:
    """Stop (SIGTERM, graceful), kill (SIGKILL) or start one node of the local cluster.

    Raises:
        StackError: not a node of this stack, or it did not become healthy.
    """
    cluster.check_node(settings, name)
    service = cluster.service_name(settings, name)
    if action == "stop":
        stopped = procs.stop(_pidfile(settings, service))
        say(f"{name}: {'stopped' if stopped else 'not running'}")
    elif action == "kill":
        killed = cluster.kill(_pidfile(settings, service))
        say(f"{name}: {'killed' if killed else 'not running'}")
    elif action == "start":
        spec = next(s for s in services.engine_specs(settings) if s.name == service)
        _ensure([spec], say)
    else:
        raise StackError(f"unknown node action {action!r}: stop, kill or start")
