"""The OpenSearch Dashboards saved objects (the admin UI of an OpenSearch Service domain):
the same checks as Kibana's, in Dashboards' own format (Kibana 7.10's), which Kibana 8's
export is not (Dashboards cannot run here: the file is validated structurally)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import kibana
from infra.opensearch_dashboards import (
    INDEX_PATTERN_ID,
    MIGRATION_VERSIONS,
    NDJSON_PATH,
    TIME_FIELD,
    render,
)
from t4index.names import ALIAS_PATTERN
from tests.support.saved_objects import (
    by_type,
    field_uses,
    load_ndjson,
    references_resolve_in_order,
    search_source,
)


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return load_ndjson(NDJSON_PATH)


def test_committed_file_is_current() -> None:
    assert NDJSON_PATH.read_text() == render(), (
        "run `python -m infra.opensearch_dashboards` and commit")


def test_same_objects_as_kibana(objects) -> None:
    """One definition for both UIs: same ids, titles, queries and fields, so the checks of
    test_deploy_kibana (every field in the index template with a fitting type, the data
    view over the aliases only, the time field on tombstones) hold here too."""
    ours = {(o["type"], o["id"]): o for o in objects}
    theirs = {(o["type"], o["id"]): o for o in kibana.saved_objects()}
    assert list(ours) == list(theirs)
    for key, obj in theirs.items():
        assert ours[key]["attributes"]["title"] == obj["attributes"]["title"]
        if key[0] in {"search", "visualization"}:
            assert search_source(ours[key]) == search_source(obj)
            refs = {r["name"]: r for r in ours[key]["references"]}
            assert refs[search_source(obj)["indexRefName"]]["id"] == INDEX_PATTERN_ID
    (pattern,) = by_type(objects, "index-pattern")
    assert pattern["attributes"]["title"] == ALIAS_PATTERN
    assert pattern["attributes"]["timeFieldName"] == TIME_FIELD == "indexed_at"
    assert sorted(map(str, field_uses(objects))) == sorted(
        map(str, field_uses(kibana.saved_objects())))


def test_ids_unique_and_every_reference_resolves(objects) -> None:
    references_resolve_in_order(objects)


def test_written_in_dashboards_format_not_kibana_8s(objects) -> None:
    for obj in objects:
        assert obj["migrationVersion"] == {obj["type"]: MIGRATION_VERSIONS[obj["type"]]}
        # keys Dashboards' import schema does not know
        assert not {"typeMigrationVersion", "coreMigrationVersion", "managed"} & obj.keys()
    (pattern,) = by_type(objects, "index-pattern")
    assert set(pattern["attributes"]) == {"title", "timeFieldName", "fields", "sourceFilters",
                                          "fieldFormatMap"}
    assert json.loads(pattern["attributes"]["fields"]) == []  # read from the aliases on use
    for obj in by_type(objects, "search"):
        assert not {"grid", "hideChart", "isTextBasedQuery"} & obj["attributes"].keys()


def test_dashboard_panels_match_references(objects) -> None:
    (dash,) = by_type(objects, "dashboard")
    panels = json.loads(dash["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in dash["references"]}
    assert len(panels) == len(refs) == 5
    for number, panel in enumerate(panels):
        # Dashboards 2.x: `panel_<n>` references, no type inside the panel
        assert panel["panelRefName"] == f"panel_{number}" and "type" not in panel
        assert refs[panel["panelRefName"]]["type"] in {"visualization", "search"}
        grid = panel["gridData"]
        assert grid["i"] == panel["panelIndex"] and grid["x"] + grid["w"] <= 48
    shown = {r["id"] for r in refs.values()}
    assert shown == {o["id"] for o in objects if o["type"] in {"search", "visualization"}}
    assert dash["attributes"]["timeRestore"] is True


def test_charts_carry_the_parameters_dashboards_draws_with(objects) -> None:
    for obj in by_type(objects, "visualization"):
        state = json.loads(obj["attributes"]["visState"])
        params = state["params"]
        if state["type"] == "pie":
            assert params["addLegend"] is True and "legendDisplay" not in params
        if state["type"] == "histogram":
            metrics = [a["id"] for a in state["aggs"] if a["schema"] == "metric"]
            assert [s["data"]["id"] for s in params["seriesParams"]] == metrics
            axes = {a["id"] for a in params["valueAxes"]}
            assert all(s["valueAxis"] in axes for s in params["seriesParams"])
            assert params["categoryAxes"][0]["position"] == "bottom"
