"""The local multi-node mode's configuration (``infra.local.cluster``), without starting it."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.local import cluster, stack
from infra.local.errors import StackError
from infra.local.settings import StackSettings


def _settings(tmp_path: Path, nodes: str, engine: str = "elasticsearch") -> StackSettings:
    return StackSettings.from_env({"T4_STACK_HOME": str(tmp_path), "T4_STACK_ES_PORT": "19400",
                                   "T4_STACK_NODES": nodes, "T4_STACK_ENGINE": engine})


@pytest.mark.parametrize("engine,first", [("elasticsearch", "es-1"), ("opensearch", "os-1")])
def test_one_node_stays_a_single_node_cluster(tmp_path: Path, engine: str, first: str) -> None:
    settings = _settings(tmp_path, "1", engine)
    assert cluster.node_names(settings) == [first]
    yaml = cluster.discovery_yaml(settings, first)
    assert "discovery.type: single-node" in yaml and "seed_hosts" not in yaml
    assert "initial_" not in yaml  # bootstrapping a cluster is refused with single-node


def test_three_nodes_name_each_other_and_es_1_bootstraps(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "3")
    assert cluster.node_names(settings) == ["es-1", "es-2", "es-3"]
    assert cluster.node_urls(settings) == [
        "http://127.0.0.1:19400", "http://127.0.0.1:19401", "http://127.0.0.1:19402"]
    assert settings.es_transport_port == 19600  # T4_STACK_ES_PORT + 200 unless set
    for i, name in enumerate(cluster.node_names(settings)):
        yaml = cluster.discovery_yaml(settings, name)
        assert "single-node" not in yaml
        assert f"node.name: {name}\n" in yaml
        assert f"transport.port: {19600 + i}\n" in yaml
        assert "discovery.seed_hosts: [127.0.0.1:19600, 127.0.0.1:19601, 127.0.0.1:19602]" in yaml
        assert "cluster.initial_master_nodes: [es-1]" in yaml
    assert [cluster.service_name(settings, n) for n in cluster.node_names(settings)] == [
        "elasticsearch", "es-2", "es-3"]


def test_three_opensearch_nodes_use_opensearch_names_and_bootstrap_setting(
        tmp_path: Path) -> None:
    settings = _settings(tmp_path, "3", "opensearch")
    assert cluster.node_names(settings) == ["os-1", "os-2", "os-3"]
    assert cluster.node_urls(settings) == [
        "http://127.0.0.1:19400", "http://127.0.0.1:19401", "http://127.0.0.1:19402"]
    for i, name in enumerate(cluster.node_names(settings)):
        yaml = cluster.discovery_yaml(settings, name)
        assert f"node.name: {name}\n" in yaml and f"transport.port: {19600 + i}\n" in yaml
        assert "discovery.seed_hosts: [127.0.0.1:19600, 127.0.0.1:19601, 127.0.0.1:19602]" in yaml
        # OpenSearch 2.x deprecates the "master" spelling; Elasticsearch knows only it
        assert "cluster.initial_cluster_manager_nodes: [os-1]" in yaml
        assert "initial_master_nodes" not in yaml
    assert [cluster.service_name(settings, n) for n in cluster.node_names(settings)] == [
        "opensearch", "os-2", "os-3"]


@pytest.mark.parametrize("engine,prefix,service,conf_env,tmp_env", [
    ("elasticsearch", "es", "elasticsearch", "ES_PATH_CONF", "ES_TMPDIR"),
    ("opensearch", "os", "opensearch", "OPENSEARCH_PATH_CONF", "OPENSEARCH_TMPDIR"),
])
def test_every_node_has_its_own_config_data_logs_and_port(
        tmp_path: Path, engine: str, prefix: str, service: str, conf_env: str,
        tmp_env: str) -> None:
    from infra.local.procs import ProcessSpec

    settings = _settings(tmp_path, "3", engine)
    dist = tmp_path / "dist"
    (dist / "config").mkdir(parents=True)
    (dist / "config" / "jvm.options").write_text("-Xss1m\n")
    common = "cluster.name: t4-local\n"
    first = ProcessSpec(name=service, argv=["bin/engine"], log=tmp_path / "x.out",
                        pidfile=tmp_path / "x.pid", healthy=lambda: True,
                        env={"JAVA": "j", tmp_env: "node-1-tmp"}, cwd=dist)
    seen = set()
    for i, name in enumerate(cluster.node_names(settings)):
        data, logs = cluster.node_paths(settings, name)
        text = cluster.node_yaml(settings, name, common)
        assert text.count("cluster.name: t4-local\n") == 1
        assert f"http.port: {19400 + i}\n" in text
        assert f"path.data: {data}\n" in text and f"path.logs: {logs}\n" in text
        seen.add((data, logs, cluster.tmp_dir(settings, name)))
        if i == 0:  # node 1 is the stack's engine service, in its usual folders
            assert data == settings.state_dir / f"{prefix}-data"
            assert logs == settings.log_dir / service
            continue
        config = cluster.node_config(settings, dist, name, common)
        assert (config / "jvm.options").read_text() == "-Xss1m\n"  # the distribution's copy
        file = {"elasticsearch": "elasticsearch.yml", "opensearch": "opensearch.yml"}[engine]
        assert (config / file).read_text() == text
        spec = cluster.node_spec(settings, name, first, config, healthy=lambda: True)
        assert spec.name == name and spec.pidfile == settings.run_dir / f"{name}.pid"
        assert spec.port == 19400 + i and spec.argv == first.argv
        assert spec.env == {"JAVA": "j", conf_env: str(config),
                            tmp_env: str(cluster.tmp_dir(settings, name))}
    assert len({path for triple in seen for path in triple}) == 9  # nothing shared


@pytest.mark.parametrize("raw", ["0", "10", "three"])
def test_a_bad_node_count_names_the_variable(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ValueError, match=f"T4_STACK_NODES={raw!r}"):
        _settings(tmp_path, raw)


def test_a_node_the_stack_does_not_have_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="the nodes are es-1, es-2, es-3"):
        stack.node(_settings(tmp_path, "3"), "stop", "es-4")
    with pytest.raises(StackError, match="not a node name"):
        cluster.service_name(_settings(tmp_path, "3"), "node-2")


@pytest.mark.parametrize("engine,wrong,other", [
    ("opensearch", "es-2", "Elasticsearch"), ("elasticsearch", "os-2", "OpenSearch")])
def test_the_other_engines_node_name_is_refused_saying_which_engine_runs(
        tmp_path: Path, engine: str, wrong: str, other: str) -> None:
    settings = _settings(tmp_path, "3", engine)
    own = cluster.flavor(settings)
    for action in ("stop", "kill", "start"):
        with pytest.raises(StackError) as refused:
            stack.node(settings, action, wrong)
        message = str(refused.value)
        assert f"would be an {other} node" in message
        assert f"T4_STACK_ENGINE={engine}" in message
        assert f"the nodes are {own.prefix}-1, {own.prefix}-2, {own.prefix}-3" in message


def test_down_stops_extra_nodes_recorded_even_when_the_count_changed(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "1")
    settings.run_dir.mkdir(parents=True)
    for name in ("es-3", "es-2", "es-10", "os-2"):
        (settings.run_dir / f"{name}.pid").write_text("999999999")
    (settings.run_dir / "engine-proxy.pid").write_text("999999999")
    assert cluster.recorded_nodes(settings) == ["es-2", "es-3", "es-10", "os-2"]
    stack.down(settings, say=lambda line: None)
    assert cluster.recorded_nodes(settings) == []


@pytest.mark.parametrize("engine,extra", [("elasticsearch", ["es-2", "es-3"]),
                                          ("opensearch", ["os-2", "os-3"])])
def test_status_lists_every_extra_node(tmp_path: Path, engine: str, extra: list[str]) -> None:
    rows = stack.status(_settings(tmp_path, "3", engine))
    nodes = [row for row in rows if row.name in extra]
    assert [row.name for row in nodes] == extra
    assert [row.where.split()[0] for row in nodes] == [
        "http://127.0.0.1:19401", "http://127.0.0.1:19402"]
    assert not any(row.healthy or row.pid for row in nodes)  # nothing runs here
    assert [row.name for row in stack.status(_settings(tmp_path, "1", engine))
            if row.name in extra] == []


def test_logs_of_a_node_and_a_refused_name(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "3", "opensearch")
    assert stack.log_path(settings, "os-2") == settings.log_dir / "os-2.out"
    assert stack.log_path(settings, "os-1") == stack.log_path(settings, "opensearch")
    with pytest.raises(StackError, match="the nodes are os-1, os-2, os-3"):
        stack.log_path(settings, "es-2")


@pytest.mark.parametrize("engine,nodes,expected", [
    ("elasticsearch", "1", "http://127.0.0.1:19400"),
    ("elasticsearch", "3",
     "http://127.0.0.1:19400,http://127.0.0.1:19401,http://127.0.0.1:19402"),
    ("opensearch", "3", None),  # the SigV4 proxy, which fronts every node
])
def test_the_stacks_clients_are_given_every_node(tmp_path: Path, monkeypatch, engine, nodes,
                                                 expected) -> None:
    """Stopping es-1 of a 3-node stack must not stop its worker and search API."""
    from infra.local.endpoints import Endpoints

    monkeypatch.delenv("T4_ES_URL", raising=False)
    settings = _settings(tmp_path, nodes, engine)
    given = Endpoints.resolve(settings).es_env()["T4_ES_URL"]
    assert given == (expected or settings.engine_proxy_url)
