"""A local multi-node cluster on loopback: ``T4_STACK_NODES=3 ./dev up``, on either engine.

One module for both engines: what differs between an Elasticsearch and an OpenSearch
node (node names, the configuration file and its folder's variable, the bootstrap
setting) is one ``Flavor`` each; everything else (ports, seeds, folders, the process
of an extra node, SIGKILL) is shared.

Node 1 (``es-1``, or ``os-1`` on OpenSearch) is the stack's engine service
(``elasticsearch`` or ``opensearch``: its HTTP port is ``T4_STACK_ES_PORT``, its data
the stack's ``es-data`` / ``os-data``); nodes 2 ... N are extra processes of the same
distribution, each with its own configuration folder (a copy of the distribution's:
on Elasticsearch the same file-realm users), data, logs and pid file, on the next HTTP
ports (``T4_STACK_ES_PORT`` + 1, + 2 ...). All are master (cluster-manager) eligible
data nodes, so losing any one keeps a quorum. Transport ports are fixed
(``T4_STACK_ES_TRANSPORT_PORT`` + 0, + 1 ...) so that every node can name the others as
seeds. Node 1 bootstraps the cluster and the others join it, which also lets a stack
first started with one node grow to three.

Bound to loopback, the nodes run in development mode: transport TLS, which
Elasticsearch's production mode requires with security on, is not needed here (every
request still authenticates over HTTP). The local OpenSearch has no security plugin
(its integ-test distribution has none): its clients come through the SigV4 proxy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.local import procs
from infra.local.errors import StackError
from infra.local.procs import ProcessSpec
from infra.local.settings import StackSettings


@dataclass(frozen=True)
class Flavor:
    """What an engine's nodes are called and how they are configured."""

    engine: str
    label: str
    prefix: str
    """Node names: ``<prefix>-1`` ... ``<prefix>-N``."""
    first_service: str
    """The stack's service (pid file, log, status row) of node 1."""
    config_file: str
    conf_env: str
    """The variable naming a node's configuration folder."""
    tmp_env: str
    bootstrap_setting: str
    """The nodes that may elect the first cluster manager (master) of a new cluster."""


FLAVORS = {
    "elasticsearch": Flavor("elasticsearch", "Elasticsearch", "es", "elasticsearch",
                            "elasticsearch.yml", "ES_PATH_CONF", "ES_TMPDIR",
                            "cluster.initial_master_nodes"),
    "opensearch": Flavor("opensearch", "OpenSearch", "os", "opensearch", "opensearch.yml",
                         "OPENSEARCH_PATH_CONF", "OPENSEARCH_TMPDIR",
                         "cluster.initial_cluster_manager_nodes"),
}


def flavor(settings: StackSettings) -> Flavor:
    """The ``Flavor`` of the stack's engine (``T4_STACK_ENGINE``)."""
    return FLAVORS[settings.engine]


def first_node(settings: StackSettings) -> str:
    """Node 1's name: ``es-1`` or ``os-1``."""
    return f"{flavor(settings).prefix}-1"


def node_names(settings: StackSettings) -> list[str]:
    """``["es-1", ..., "es-N"]`` (``os-`` on OpenSearch) for ``settings.es_nodes`` nodes."""
    return [f"{flavor(settings).prefix}-{i}" for i in range(1, settings.es_nodes + 1)]


def _parse(name: str) -> tuple[Flavor, int] | None:
    """(flavor, number) of a node name of either engine; None when it is none."""
    prefix, _, number = name.partition("-")
    for candidate in FLAVORS.values():
        if candidate.prefix == prefix and number.isdigit() and int(number) >= 1:
            return candidate, int(number)
    return None


def _number(settings: StackSettings, name: str) -> int:
    own = flavor(settings)
    parsed = _parse(name)
    if parsed is None or parsed[0] != own:
        hint = ""
        if parsed is not None:
            hint = (f" ({name} would be an {parsed[0].label} node; this stack runs "
                    f"{own.label}, T4_STACK_ENGINE={own.engine})")
        raise StackError(f"{name!r} is not a node name of this stack{hint}: the nodes are "
                         f"{', '.join(node_names(settings))}")
    return parsed[1]


def check_node(settings: StackSettings, name: str) -> None:
    """Refuse a name that is not one of this stack's nodes.

    Raises:
        StackError: the name is not a node of this stack's engine, or beyond
            ``T4_STACK_NODES``; the message lists the nodes there are.
    """
    _number(settings, name)
    if name not in node_names(settings):
        raise StackError(f"{name!r} is not a node of this stack: the nodes are "
                         f"{', '.join(node_names(settings))} (T4_STACK_NODES="
                         f"{settings.es_nodes})")


def service_name(settings: StackSettings, name: str) -> str:
    """The stack's service (pid file, log) of node ``name``: ``elasticsearch`` or
    ``opensearch`` for node 1, the node's own name for the others."""
    return flavor(settings).first_service if _number(settings, name) == 1 else name


def http_port(settings: StackSettings, name: str) -> int:
    return settings.es_port + _number(settings, name) - 1


def node_url(settings: StackSettings, name: str) -> str:
    return f"http://{settings.host}:{http_port(settings, name)}"


def node_urls(settings: StackSettings) -> list[str]:
    """Every node's HTTP URL (give them all to a client that must survive a node's loss)."""
    return [node_url(settings, name) for name in node_names(settings)]


def discovery_yaml(settings: StackSettings, name: str) -> str:
    """The node's name and discovery lines of its configuration file."""
    if settings.es_nodes == 1:
        return f"node.name: {name}\ndiscovery.type: single-node\ntransport.port: 0\n"
    seeds = ", ".join(f"{settings.host}:{settings.es_transport_port + i}"
                      for i in range(settings.es_nodes))
    return (f"node.name: {name}\n"
            f"transport.port: {settings.es_transport_port + _number(settings, name) - 1}\n"
            f"discovery.seed_hosts: [{seeds}]\n"
            # Only read when no cluster has formed yet (an empty node-1 data folder): node 1
            # bootstraps, the others join. A stack grown from one node keeps its cluster.
            f"{flavor(settings).bootstrap_setting}: [{first_node(settings)}]\n")


def node_yaml(settings: StackSettings, name: str, common_yaml: str) -> str:
    """The whole configuration file of node ``name``: ``common_yaml`` (what every node
    shares: cluster name, security, disk thresholds), its discovery lines, port and folders."""
    data, logs = node_paths(settings, name)
    return ("# Written by `python -m infra.local up`; edits are overwritten.\n"
            + common_yaml + discovery_yaml(settings, name)
            + f"http.port: {http_port(settings, name)}\n"
            f"path.data: {data}\npath.logs: {logs}\n")


def node_config(settings: StackSettings, dist_home: Path, name: str, common_yaml: str) -> Path:
    """Write extra node ``name``'s configuration folder; its path (the flavor's
    ``conf_env``). The folder starts as a copy of the distribution's ``config``
    (on Elasticsearch: the same users and roles)."""
    folder = settings.state_dir / f"{flavor(settings).prefix}-config-{name}"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(dist_home / "config", folder)
    (folder / flavor(settings).config_file).write_text(node_yaml(settings, name, common_yaml))
    return folder


def node_paths(settings: StackSettings, name: str) -> tuple[Path, Path]:
    """(data folder, log folder) of node ``name``; node 1's are the stack's own."""
    own = flavor(settings)
    if _number(settings, name) == 1:
        return settings.state_dir / f"{own.prefix}-data", settings.log_dir / own.first_service
    return settings.state_dir / f"{own.prefix}-data-{name}", settings.log_dir / name


def tmp_dir(settings: StackSettings, name: str) -> Path:
    """Node ``name``'s temporary folder (the flavor's ``tmp_env``)."""
    prefix = flavor(settings).prefix
    if _number(settings, name) == 1:
        return settings.state_dir / f"{prefix}-tmp"
    return settings.state_dir / f"{prefix}-tmp-{name}"


def node_spec(settings: StackSettings, name: str, first: ProcessSpec, config: Path,
              healthy: Callable[[], bool]) -> ProcessSpec:
    """The process of extra node ``name``, shaped after node 1's ``first``."""
    own = flavor(settings)
    return ProcessSpec(
        name=name,
        argv=list(first.argv),
        log=settings.log_dir / f"{name}.out",
        pidfile=settings.run_dir / f"{name}.pid",
        healthy=healthy,
        port=http_port(settings, name),
        env={**first.env, own.conf_env: str(config),
             own.tmp_env: str(tmp_dir(settings, name))},
        cwd=first.cwd,
        user=first.user,
        health_timeout=first.health_timeout,
        port_env="T4_STACK_ES_PORT",
    )


def recorded_nodes(settings: StackSettings) -> list[str]:
    """Extra nodes of either engine with a pid file, whatever ``es_nodes`` says now
    (``down`` stops them)."""
    found = []
    for pidfile in settings.run_dir.glob("*-*.pid"):
        parsed = _parse(pidfile.stem)
        if parsed is not None and parsed[1] > 1:
            found.append((parsed[0].prefix, parsed[1], pidfile.stem))
    return [name for _, _, name in sorted(found)]


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
