"""A local multi-node cluster on loopback: ``T4_STACK_NODES=3 ./dev up``.

Node ``es-1`` is the stack's ``elasticsearch`` service (its HTTP port is
``T4_STACK_ES_PORT``, its data the stack's ``es-data``); ``es-2`` ... ``es-N`` are
extra processes of the same distribution, each with its own configuration folder
(``ES_PATH_CONF``, a copy of the distribution's with the same file-realm users), data,
logs and pid file, on the next HTTP ports (``T4_STACK_ES_PORT`` + 1, + 2 ...). All are
master-eligible data nodes, so losing any one keeps a quorum. Transport ports are fixed
(``T4_STACK_ES_TRANSPORT_PORT`` + 0, + 1 ...) so that every node can name the others
as seeds. ``es-1`` bootstraps the cluster (``cluster.initial_master_nodes``) and the
others join it, which also lets a stack first started with one node grow to three.

Bound to loopback, the nodes run in development mode: transport TLS, which production
mode requires with security on, is not needed here (every request still authenticates
over HTTP).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from infra.local import procs
from infra.local.errors import StackError
from infra.local.procs import ProcessSpec
from infra.local.settings import StackSettings

FIRST = "es-1"
FIRST_SERVICE = "elasticsearch"
"""The stack's service name of node ``es-1`` (its pid file, log and status row)."""


def node_names(settings: StackSettings) -> list[str]:
    """``["es-1", ..., "es-N"]`` for ``settings.es_nodes`` nodes."""
    return [f"es-{i}" for i in range(1, settings.es_nodes + 1)]


def _number(name: str) -> int:
    try:
        number = int(name.removeprefix("es-"))
    except ValueError:
        number = 0
    if not name.startswith("es-") or number < 1:
        raise StackError(f"{name!r} is not a node name: the nodes are es-1, es-2, ...")
    return number


def service_name(name: str) -> str:
    """The stack's service (pid file, log) of node ``name``: ``elasticsearch`` for es-1."""
    return FIRST_SERVICE if _number(name) == 1 else name


def http_port(settings: StackSettings, name: str) -> int:
    return settings.es_port + _number(name) - 1


def node_url(settings: StackSettings, name: str) -> str:
    return f"http://{settings.host}:{http_port(settings, name)}"


def node_urls(settings: StackSettings) -> list[str]:
    """Every node's HTTP URL (give them all to a client that must survive a node's loss)."""
    return [node_url(settings, name) for name in node_names(settings)]


def discovery_yaml(settings: StackSettings, name: str) -> str:
    """The node's discovery lines of ``elasticsearch.yml``."""
    if settings.es_nodes == 1:
        return f"node.name: {name}\ndiscovery.type: single-node\ntransport.port: 0\n"
    seeds = ", ".join(f"{settings.host}:{settings.es_transport_port + i}"
                      for i in range(settings.es_nodes))
    return (f"node.name: {name}\n"
            f"transport.port: {settings.es_transport_port + _number(name) - 1}\n"
            f"discovery.seed_hosts: [{seeds}]\n"
            # Only read when no cluster has formed yet (an empty es-1 data folder): es-1
            # bootstraps, the others join. A stack grown from one node keeps its cluster.
            f"cluster.initial_master_nodes: [{FIRST}]\n")


def node_config(settings: StackSettings, es_home: Path, name: str, common_yaml: str) -> Path:
    """Write node ``name``'s configuration folder; its path (``ES_PATH_CONF``).

    ``common_yaml`` holds the settings every node shares (security, disk thresholds);
    the folder starts as a copy of the distribution's ``config`` (same users and roles).
    """
    folder = settings.state_dir / f"es-config-{name}"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(es_home / "config", folder)
    data, logs = node_paths(settings, name)
    (folder / "elasticsearch.yml").write_text(
        "# Written by `python -m infra.local up`; edits are overwritten.\n"
        + common_yaml + discovery_yaml(settings, name)
        + f"http.port: {http_port(settings, name)}\n"
        f"path.data: {data}\npath.logs: {logs}\n")
    return folder


def node_paths(settings: StackSettings, name: str) -> tuple[Path, Path]:
    """(data folder, log folder) of an extra node."""
    return settings.state_dir / f"es-data-{name}", settings.log_dir / name


def node_spec(settings: StackSettings, name: str, first: ProcessSpec, config: Path,
              healthy: Callable[[], bool]) -> ProcessSpec:
    """The process of extra node ``name``, shaped after node es-1's ``first``."""
    return ProcessSpec(
        name=name,
        argv=list(first.argv),
        log=settings.log_dir / f"{name}.out",
        pidfile=settings.run_dir / f"{name}.pid",
        healthy=healthy,
        port=http_port(settings, name),
        env={**first.env, "ES_PATH_CONF": str(config),
             "ES_TMPDIR": str(settings.state_dir / f"es-tmp-{name}")},
        cwd=first.cwd,
        user=first.user,
        health_timeout=first.health_timeout,
        port_env="T4_STACK_ES_PORT",
    )


def recorded_nodes(settings: StackSettings) -> list[str]:
    """Extra nodes with a pid file, whatever ``es_nodes`` says now (``down`` stops them)."""
    return sorted((p.stem for p in settings.run_dir.glob("es-*.pid")), key=_number)


def kill(pidfile: Path) -> bool:
    """SIGKILL the process group recorded in ``pidfile`` (no shutdown, as a lost machine);
    True when something was killed."""
    import signal
    import time

    pid = procs.running_pid(pidfile)
    pidfile.unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + 10
    while procs.pid_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    return True
