"""The stack's four services and how each is prepared, started and checked."""

from __future__ import annotations

import base64
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from infra.local import cluster, fetch, java
from infra.local.errors import StackError
from infra.local.procs import ProcessSpec
from infra.local.settings import StackSettings

ES_ADMIN = "t4admin"
REPO_ROOT = Path(__file__).resolve().parents[2]


def http_ok(url: str, auth: tuple[str, str] | None = None, timeout: float = 2.0) -> bool:
    """True when ``url`` answers 2xx."""
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


# -- Elasticsearch ------------------------------------------------------------

def _es_run_user(settings: StackSettings) -> str | None:
    """Elasticsearch refuses root: as root, run it as an unprivileged user (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(settings.es_user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        settings.es_user], check=True, capture_output=True)
    return settings.es_user


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def _es_common_yaml(settings: StackSettings) -> str:
    """The settings every node of the local cluster shares."""
    return (
        "cluster.name: t4-local\n"
        f"network.host: {settings.host}\n"
        # These machines have been seen with 287 MB free: at the flood stage indices turn
        # read-only and every write gets 429 forever.
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
        "xpack.security.enabled: true\n"
        "xpack.security.http.ssl.enabled: false\n"
        "xpack.security.transport.ssl.enabled: false\n"
        "xpack.ml.enabled: false\n"
        "action.destructive_requires_name: true\n"
    )


def _node_folders(settings: StackSettings, name: str, user: str | None, *own: Path) -> None:
    """Make node ``name``'s data, log and temporary folders; when it runs as the
    unprivileged ``user``, hand them (and ``own``: its distribution or configuration
    folder) to that user, and let it reach them through every parent."""
    data, logs = cluster.node_paths(settings, name)
    folders = (data, logs, cluster.tmp_dir(settings, name))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    if user:
        for parent in (settings.home, settings.state_dir, settings.log_dir, settings.cache_dir):
            parent.chmod(parent.stat().st_mode | 0o711)
        for tree in (*own, *folders):
            _chown_tree(tree, user)


def _write_heap(config: Path, heap: str) -> None:
    (config / "jvm.options.d").mkdir(exist_ok=True)
    (config / "jvm.options.d" / "t4-heap.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")


def _write_first_node_config(settings: StackSettings, dist_home: Path, common_yaml: str) -> None:
    """Node 1's configuration, in the distribution's own ``config`` folder."""
    config = dist_home / "config"
    (config / cluster.flavor(settings).config_file).write_text(
        cluster.node_yaml(settings, cluster.first_node(settings), common_yaml))
    _write_heap(config, settings.es_heap)


def es_credentials(settings: StackSettings, es_home: Path, java_home: Path) -> dict[str, str]:
    """The admin credentials of the local cluster, made at first start (file realm user)."""
    if settings.credentials_file.is_file():
        creds = settings.credentials()
        users_file = es_home / "config" / "users"
        users = users_file.read_text() if users_file.exists() else ""
        if users.startswith(f"{creds['username']}:") or f"\n{creds['username']}:" in users:
            return creds
    password = secrets.token_urlsafe(24)
    tool = str(es_home / "bin" / "elasticsearch-users")
    env = {**os.environ, "ES_JAVA_HOME": str(java_home)}
    proc = subprocess.run([tool, "useradd", ES_ADMIN, "-p", password, "-r", "superuser"],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0 and "already exists" in proc.stdout + proc.stderr:
        proc = subprocess.run([tool, "passwd", ES_ADMIN, "-p", password],
                              capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise StackError("could not create the Elasticsearch admin user: "
                         f"{proc.stdout}{proc.stderr}")
    creds = {"username": ES_ADMIN, "password": password}
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh)
    os.chmod(settings.credentials_file, 0o600)
    return creds


def elasticsearch_spec(settings: StackSettings) -> ProcessSpec:
    """Fetch, configure and describe the Elasticsearch process."""
    min_java = 21 if int(settings.es_version.split(".")[0]) >= 9 else 17
    java_home = java.find_java(min_java, f"Elasticsearch {settings.es_version}")
    es_home = fetch.fetch_elasticsearch(settings.es_version, settings.cache_dir)
    user = _es_run_user(settings)
    _write_first_node_config(settings, es_home, _es_common_yaml(settings))
    creds = es_credentials(settings, es_home, java_home)
    _node_folders(settings, cluster.first_node(settings), user, es_home)
    auth = (creds["username"], creds["password"])
    return ProcessSpec(
        name="elasticsearch",
        argv=[str(es_home / "bin" / "elasticsearch")],
        log=settings.log_dir / "elasticsearch.out",
        pidfile=settings.run_dir / "elasticsearch.pid",
        healthy=lambda: http_ok(f"{settings.es_url}/_cluster/health?wait_for_status=yellow"
                                "&timeout=1s", auth),
        port=settings.es_port,
        env={"ES_JAVA_HOME": str(java_home),
             "ES_TMPDIR": str(cluster.tmp_dir(settings, cluster.first_node(settings)))},
        cwd=es_home,
        user=user,
        health_timeout=float(os.environ.get("T4_STACK_ES_TIMEOUT", "180")),
        port_env="T4_STACK_ES_PORT",
    )


# -- OpenSearch and its SigV4 proxy ---------------------------------------------

def _os_common_yaml(settings: StackSettings) -> str:
    """The settings every OpenSearch node of the local cluster shares (no security plugin:
    the integ-test distribution has none; clients come through the SigV4 proxy)."""
    return (
        "cluster.name: t4-local\n"
        f"network.host: {settings.host}\n"
        # as for Elasticsearch: no read-only indices when the disk is nearly full
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
        "action.destructive_requires_name: true\n"
    )


def opensearch_spec(settings: StackSettings) -> ProcessSpec:
    """Fetch, configure and describe the OpenSearch process (loopback only, no security
    plugin: the integ-test distribution has none; clients come through the SigV4 proxy)."""
    major = int(settings.opensearch_version.split(".")[0])
    # 2.x runs on 17 (seen failing at start on Java 25); 3.x needs 21 or newer
    java_home = java.find_java(21 if major >= 3 else 17,
                               f"OpenSearch {settings.opensearch_version}",
                               max_major=None if major >= 3 else 21)
    home = fetch.fetch_opensearch(settings.opensearch_version, settings.cache_dir)
    user = _es_run_user(settings)
    _write_first_node_config(settings, home, _os_common_yaml(settings))
    _node_folders(settings, cluster.first_node(settings), user, home)
    return ProcessSpec(
        name="opensearch",
        argv=[str(home / "bin" / "opensearch")],
        log=settings.log_dir / "opensearch.out",
        pidfile=settings.run_dir / "opensearch.pid",
        healthy=lambda: http_ok(f"{settings.engine_url}/_cluster/health?wait_for_status=yellow"
                                "&timeout=1s"),
        port=settings.es_port,
        env={"OPENSEARCH_JAVA_HOME": str(java_home),
             "OPENSEARCH_TMPDIR": str(cluster.tmp_dir(settings, cluster.first_node(settings)))},
        cwd=home,
        user=user,
        health_timeout=float(os.environ.get("T4_STACK_ES_TIMEOUT", "180")),
        port_env="T4_STACK_ES_PORT",
    )


def engine_proxy_spec(settings: StackSettings) -> ProcessSpec:
    """The SigV4-verifying proxy in front of OpenSearch (an OpenSearch Service domain's
    IAM check, service ``es``), knowing the stack's local identity; it fronts every node
    of a multi-node cluster and passes a request over a node that is down."""
    search_api_callers(settings)  # the one local identity, made at first start
    return ProcessSpec(
        name="engine-proxy",
        argv=[sys.executable, "-m", "infra.local.engine_proxy", "--host", settings.host,
              "--port", str(settings.engine_proxy_port),
              # every node, as a domain's endpoint balances over its data nodes
              *(arg for url in cluster.node_urls(settings) for arg in ("--upstream", url)),
              "--credentials", str(settings.local_aws_credentials_file),
              "--region", settings.region],
        log=settings.log_dir / "engine-proxy.log",
        pidfile=settings.run_dir / "engine-proxy.pid",
        healthy=lambda: answers(settings.engine_proxy_url),
        port=settings.engine_proxy_port,
        env={"PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"},
        cwd=REPO_ROOT,
        health_timeout=30.0,
        port_env="T4_STACK_ENGINE_PROXY_PORT",
    )


def engine_specs(settings: StackSettings) -> list[ProcessSpec]:
    """Every node of the stack's engine (``T4_STACK_ENGINE``): node 1, the
    ``elasticsearch`` or ``opensearch`` service, then nodes 2 ... N when ``T4_STACK_NODES``
    asks for more (``infra.local.cluster``), each configured like node 1."""
    if settings.engine == "opensearch":
        first, common, auth = opensearch_spec(settings), _os_common_yaml(settings), None
    else:
        first, common = elasticsearch_spec(settings), _es_common_yaml(settings)
        creds = settings.credentials()
        auth = (creds["username"], creds["password"])
    if first.cwd is None:
        raise StackError(f"{first.name}: no distribution folder to copy node configs from")
    specs = [first]
    for name in cluster.node_names(settings)[1:]:
        config = cluster.node_config(settings, Path(first.cwd), name, common)
        _write_heap(config, settings.es_heap)
        _node_folders(settings, name, first.user, config)
        url = cluster.node_url(settings, name)
        specs.append(cluster.node_spec(
            settings, name, first, config,
            healthy=lambda url=url: http_ok(f"{url}/_cluster/health?wait_for_status=yellow"
                                            "&timeout=1s", auth)))
    return specs


# -- Tika, moto, worker --------------------------------------------------------

def tika_spec(settings: StackSettings) -> ProcessSpec:
    java_home = java.find_java(11, f"Tika server {settings.tika_version}")
    jar = fetch.fetch_tika(settings.tika_version, settings.cache_dir)
    return ProcessSpec(
        name="tika",
        argv=[str(java_home / "bin" / "java"), "-Xmx1g", "-jar", str(jar),
              "-h", settings.host, "-p", str(settings.tika_port)],
        log=settings.log_dir / "tika.log",
        pidfile=settings.run_dir / "tika.pid",
        healthy=lambda: http_ok(f"{settings.tika_url}/version"),
        port=settings.tika_port,
        health_timeout=float(os.environ.get("T4_STACK_TIKA_TIMEOUT", "120")),
        port_env="T4_STACK_TIKA_PORT",
        # tesseract's OpenMP threads: a page took 8-12 s here with the default, 1 s with one
        env={"OMP_THREAD_LIMIT": "1"},
    )


def moto_spec(settings: StackSettings) -> ProcessSpec:
    return ProcessSpec(
        name="moto",
        argv=[sys.executable, "-m", "infra.local.moto_server", "-H", settings.host, "-p",
              str(settings.moto_port)],
        log=settings.log_dir / "moto.log",
        pidfile=settings.run_dir / "moto.pid",
        healthy=lambda: http_ok(f"{settings.moto_url}/moto-api/"),
        port=settings.moto_port,
        health_timeout=60.0,
        port_env="T4_STACK_MOTO_PORT",
    )


def worker_heartbeat(settings: StackSettings) -> Path:
    return settings.run_dir / "worker.heartbeat"


def worker_alive(heartbeat: Path, pidfile: Path, max_age: float = 30.0) -> bool:
    """The worker writes its pid to the heartbeat file every loop: fresh and ours means alive."""
    try:
        fresh = time.time() - heartbeat.stat().st_mtime < max_age
        return fresh and heartbeat.read_text().strip() == pidfile.read_text().strip()
    except OSError:
        return False


WORKER_PROCESSES = 2
"""The stack's worker processes (two pollers per queue each): Lambda runs concurrent
invocations in separate environments, and one process's threads share one interpreter
lock. Two match the two cores these machines have."""


def worker_spec(settings: StackSettings, service_env: dict[str, str]) -> ProcessSpec:
    heartbeat = worker_heartbeat(settings)

    pidfile = settings.run_dir / "worker.pid"

    def healthy() -> bool:
        return worker_alive(heartbeat, pidfile)

    env = {
        **service_env,
        # the stack's local identity when the engine verifies SigV4 (OpenSearch's proxy)
        "AWS_ACCESS_KEY_ID": service_env.get("AWS_ACCESS_KEY_ID")
        or os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": service_env.get("AWS_SECRET_ACCESS_KEY")
        or os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        # failed messages back within seconds while developing (deployments: 30 s doubling)
        "T4_RETRY_BASE_S": os.environ.get("T4_RETRY_BASE_S", "1"),
        "T4_RETRY_MAX_S": os.environ.get("T4_RETRY_MAX_S", "8"),
    }
    return ProcessSpec(
        name="worker",
        argv=[sys.executable, "-m", "infra.local.worker", "--queue-prefix", settings.queue_prefix,
              "--heartbeat", str(heartbeat), "--processes", str(WORKER_PROCESSES)],
        log=settings.log_dir / "worker.log",
        pidfile=pidfile,
        healthy=healthy,
        env=env,
        cwd=REPO_ROOT,
        health_timeout=60.0,
    )


# -- the search API ------------------------------------------------------------

LOCAL_CALLER_ARN = "arn:aws:iam::000000000000:user/t4-local"
LOCAL_ACCESS_KEY = "AKIAT4LOCALSTACK0001"


def _private_json(path: Path, make) -> dict:
    """The JSON in ``path``, made by ``make()`` and stored owner-only the first time."""
    if path.is_file():
        return json.loads(path.read_text())
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(value, fh)
    return value


def search_api_callers(settings: StackSettings) -> dict:
    """The access keys the local search API knows: one local caller allowed every bucket."""
    return _private_json(settings.state_dir / "search-api-credentials.json", lambda: {
        LOCAL_ACCESS_KEY: {"secret": secrets.token_urlsafe(30), "arn": LOCAL_CALLER_ARN}})


def search_api_spec(settings: StackSettings, service_env: dict[str, str]) -> ProcessSpec:
    search_api_callers(settings)
    cursor = _private_json(settings.state_dir / "search-api-cursor.json",
                           lambda: {"secret": secrets.token_urlsafe(32)})
    env = {
        **service_env,
        "T4_SEARCH_ACCESS": json.dumps({LOCAL_CALLER_ARN: ["*"]}),
        "T4_SEARCH_CURSOR_SECRET": cursor["secret"],
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    return ProcessSpec(
        name="search-api",
        argv=[sys.executable, "-m", "infra.local.search_api", "--host", settings.host,
              "--port", str(settings.search_api_port), "--credentials",
              str(settings.state_dir / "search-api-credentials.json")],
        log=settings.log_dir / "search-api.log",
        pidfile=settings.run_dir / "search-api.pid",
        healthy=lambda: answers(settings.search_api_url),
        port=settings.search_api_port,
        env=env,
        cwd=REPO_ROOT,
        health_timeout=60.0,
        port_env="T4_STACK_SEARCH_API_PORT",
    )


def answers(url: str) -> bool:
    """True when something answers HTTP at ``url`` (an unsigned request is refused: fine)."""
    try:
        with urllib.request.urlopen(url + "/search", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def add_file_realm_user(settings: StackSettings, username: str, password: str,
                        role: str, indices: list[str], privileges: list[str]) -> None:
    """Add a role (on ``indices``, which may be aliases) and a user holding it to the file realm.

    Elasticsearch rereads both files within seconds. This distribution cannot store
    API keys or native users (its ``.security`` index needs analysis-common), so
    limited credentials for the direct route are file-realm users.
    """
    es_home = fetch.fetch_elasticsearch(settings.es_version, settings.cache_dir)
    roles = es_home / "config" / "roles.yml"
    block = (f"{role}:\n  indices:\n    - names: {json.dumps(indices)}\n"
             f"      privileges: {json.dumps(privileges)}\n")
    with open(roles, "a") as fh:
        fh.write(block)
    java_home = java.find_java(21 if int(settings.es_version.split(".")[0]) >= 9 else 17,
                               "elasticsearch-users")
    proc = subprocess.run([str(es_home / "bin" / "elasticsearch-users"), "useradd", username,
                           "-p", password, "-r", role], capture_output=True, text=True,
                          env={**os.environ, "ES_JAVA_HOME": str(java_home)})
    if proc.returncode != 0:
        raise StackError(f"could not add user {username}: {proc.stdout}{proc.stderr}")
    user = _es_run_user(settings)
    if user:
        for name in ("roles.yml", "users", "users_roles"):
            shutil.chown(es_home / "config" / name, user, user)


def remove_file_realm_user(settings: StackSettings, username: str, role: str) -> None:
    """Undo ``add_file_realm_user``: the user and its role block leave the file realm."""
    es_home = fetch.fetch_elasticsearch(settings.es_version, settings.cache_dir)
    java_home = java.find_java(21 if int(settings.es_version.split(".")[0]) >= 9 else 17,
                               "elasticsearch-users")
    subprocess.run([str(es_home / "bin" / "elasticsearch-users"), "userdel", username],
                   capture_output=True, text=True,
                   env={**os.environ, "ES_JAVA_HOME": str(java_home)})
    roles = es_home / "config" / "roles.yml"
    lines = roles.read_text().splitlines(keepends=True)
    kept, skipping = [], False
    for line in lines:
        if line.startswith(f"{role}:"):
            skipping = True
            continue
        if skipping and line.startswith((" ", "\t")):
            continue
        skipping = False
        kept.append(line)
    roles.write_text("".join(kept))
