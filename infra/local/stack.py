"""up / down / status / logs for the local stack."""

from __future__ import annotations

import time
from dataclasses import dataclass

from infra.local import procs, services
from infra.local.endpoints import Endpoints
from infra.local.errors import StackError
from infra.local.procs import ProcessSpec
from infra.local.settings import StackSettings

ORDER = ("moto", "elasticsearch", "tika", "worker", "search-api")


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
        "tika": settings.tika_url,
        "worker": f"polls SQS queues {settings.queue_prefix}* on moto",
        "search-api": f"{settings.search_api_url}/search (SigV4, like API Gateway)",
    }[name]


def _ensure(spec: ProcessSpec, say) -> None:
    pid = procs.running_pid(spec.pidfile)
    if pid is not None:
        if spec.healthy():
            say(f"{spec.name}: already running (pid {pid})")
            return
        say(f"{spec.name}: running (pid {pid}), waiting for health")
        procs.wait_healthy(spec, pid)
        return
    spec.pidfile.unlink(missing_ok=True)
    started = time.monotonic()
    pid = procs.start(spec)
    try:
        procs.wait_healthy(spec, pid)
    except StackError:
        procs.stop(spec.pidfile)
        raise
    say(f"{spec.name}: started (pid {pid}) in {time.monotonic() - started:.1f} s")


def up(settings: StackSettings, say=print) -> None:
    """Start whatever is not running yet and wait until all four services are healthy.

    Raises:
        StackError: a download, Java, a port or a health check failed; the message says what to do.
    """
    for folder in (settings.home, settings.cache_dir, settings.state_dir, settings.log_dir,
                   settings.run_dir):
        folder.mkdir(parents=True, exist_ok=True)
    settings.home.chmod(0o755)
    specs = {
        "moto": services.moto_spec(settings),
        "elasticsearch": services.elasticsearch_spec(settings),
        "tika": services.tika_spec(settings),
    }
    # Start the slow JVMs first, then wait for each in turn: they boot in parallel.
    pending = []
    for name in ("elasticsearch", "tika", "moto"):
        spec = specs[name]
        if procs.running_pid(spec.pidfile) is None:
            spec.pidfile.unlink(missing_ok=True)
            pending.append((spec, time.monotonic(), procs.start(spec)))
        else:
            _ensure(spec, say)
    for spec, started, pid in pending:
        try:
            procs.wait_healthy(spec, pid)
        except StackError:
            for other, _, _ in pending:
                procs.stop(other.pidfile)
            raise
        say(f"{spec.name}: started (pid {pid}) in {time.monotonic() - started:.1f} s")
    endpoints = Endpoints.resolve(settings)
    _ensure(services.worker_spec(settings, endpoints.es_env()), say)
    _ensure(services.search_api_spec(settings, endpoints.es_env()), say)


def down(settings: StackSettings, say=print) -> None:
    """Stop exactly the processes this stack recorded."""
    for name in reversed(ORDER):
        stopped = procs.stop(_pidfile(settings, name))
        say(f"{name}: {'stopped' if stopped else 'not running'}")


def status(settings: StackSettings) -> list[ServiceStatus]:
    out = []
    for name in ORDER:
        pid = procs.running_pid(_pidfile(settings, name))
        healthy = False
        if pid is not None:
            if name == "worker":
                healthy = services.worker_alive(services.worker_heartbeat(settings),
                                                _pidfile(settings, name))
            elif name == "elasticsearch":
                creds = settings.credentials() if settings.credentials_file.exists() else None
                auth = (creds["username"], creds["password"]) if creds else None
                healthy = services.http_ok(f"{settings.es_url}/_cluster/health", auth)
            elif name == "search-api":
                healthy = services.answers(settings.search_api_url)
            elif name == "tika":
                healthy = services.http_ok(f"{settings.tika_url}/version")
            else:
                healthy = services.http_ok(f"{settings.moto_url}/moto-api/")
        out.append(ServiceStatus(name, pid, healthy, _where(settings, name)))
    return out


def log_path(settings: StackSettings, name: str):
    return {
        "moto": settings.log_dir / "moto.log",
        "elasticsearch": settings.log_dir / "elasticsearch.out",
        "tika": settings.log_dir / "tika.log",
        "worker": settings.log_dir / "worker.log",
        "search-api": settings.log_dir / "search-api.log",
    }[name]
