"""The local multi-node mode's configuration (``infra.local.cluster``), without starting it."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.local import cluster, stack
from infra.local.errors import StackError
from infra.local.settings import StackSettings


def _settings(tmp_path: Path, nodes: str) -> StackSettings:
    return StackSettings.from_env({"T4_STACK_HOME": str(tmp_path), "T4_STACK_ES_PORT": "19400",
                                   "T4_STACK_NODES": nodes})


def test_one_node_stays_a_single_node_cluster(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "1")
    assert cluster.node_names(settings) == ["es-1"]
    yaml = cluster.discovery_yaml(settings, "es-1")
    assert "discovery.type: single-node" in yaml and "seed_hosts" not in yaml


def test_three_nodes_name_each_other_and_es_1_bootstraps(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "3")
    assert cluster.node_names(settings) == ["es-1", "es-2", "es-3"]
    assert cluster.node_urls(settings) == [
        "http://127.0.0.1:19400", "http://127.0.0.1:19401", "http://127.0.0.1:19402"]
    assert settings.es_transport_port == 19600  # T4_STACK_ES_PORT + 200 unless set
    for i, name in enumerate(cluster.node_names(settings)):
        yaml = cluster.discovery_yaml(settings, name)
        assert "single-node" not in yaml
        assert f"transport.port: {19600 + i}\n" in yaml
        assert "discovery.seed_hosts: [127.0.0.1:19600, 127.0.0.1:19601, 127.0.0.1:19602]" in yaml
        assert "cluster.initial_master_nodes: [es-1]" in yaml
    assert [cluster.service_name(n) for n in cluster.node_names(settings)] == [
        "elasticsearch", "es-2", "es-3"]


@pytest.mark.parametrize("raw", ["0", "10", "three"])
def test_a_bad_node_count_names_the_variable(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ValueError, match=f"T4_STACK_NODES={raw!r}"):
        _settings(tmp_path, raw)


def test_a_node_the_stack_does_not_have_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="the nodes are es-1, es-2, es-3"):
        stack.node(_settings(tmp_path, "3"), "stop", "es-4")
    with pytest.raises(StackError, match="not a node name"):
        cluster.service_name("node-2")


def test_down_stops_extra_nodes_recorded_even_when_the_count_changed(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "1")
    settings.run_dir.mkdir(parents=True)
    for name in ("es-3", "es-2", "es-10"):
        (settings.run_dir / f"{name}.pid").write_text("999999999")
    assert cluster.recorded_nodes(settings) == ["es-2", "es-3", "es-10"]
    stack.down(settings, say=lambda line: None)
    assert cluster.recorded_nodes(settings) == []
