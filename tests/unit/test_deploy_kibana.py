"""The Kibana saved objects: valid NDJSON, resolvable references, and every field they
name present in the index template with a type that fits its use (Kibana cannot run here)."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest

from infra.kibana import DATA_VIEW_ID, NDJSON_PATH, render
from t4index.mapping import field_types
from t4index.names import ALIAS_PATTERN, alias_name, index_name
from tests.support.saved_objects import (
    by_type,
    field_uses,
    load_ndjson,
    references_resolve_in_order,
    search_source,
)

TYPES = field_types()


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return load_ndjson(NDJSON_PATH)


def test_committed_file_is_current() -> None:
    assert NDJSON_PATH.read_text() == render(), "run `python -m infra.kibana` and commit"


def test_ids_unique_and_every_reference_resolves(objects) -> None:
    references_resolve_in_order(objects)


def test_search_sources_name_their_data_view_reference(objects) -> None:
    for obj in by_type(objects, "search") + by_type(objects, "visualization"):
        source = search_source(obj)
        refs = {r["name"]: r for r in obj["references"]}
        assert refs[source["indexRefName"]] == {"id": DATA_VIEW_ID, "type": "index-pattern",
                                                "name": source["indexRefName"]}
        assert source["query"]["language"] == "kuery"


def test_dashboard_panels_match_references(objects) -> None:
    (dash,) = by_type(objects, "dashboard")
    panels = json.loads(dash["attributes"]["panelsJSON"])
    json.loads(dash["attributes"]["optionsJSON"])
    refs = {r["name"]: r for r in dash["references"]}
    assert len(panels) == len(refs)
    titles = {o["id"]: o["attributes"]["title"] for o in objects}
    for panel in panels:
        ref = refs[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        assert ref["type"] == panel["type"] and ref["id"] in titles
        grid = panel["gridData"]
        assert grid["i"] == panel["panelIndex"] and grid["x"] + grid["w"] <= 48
    shown = {refs[f"{p['panelIndex']}:{p['panelRefName']}"]["id"] for p in panels}
    assert shown == {o["id"] for o in objects if o["type"] in {"search", "visualization"}}


def test_data_view_matches_aliases_not_concrete_indices(objects) -> None:
    (view,) = by_type(objects, "index-pattern")
    pattern = view["attributes"]["title"]
    assert view["id"] == DATA_VIEW_ID and pattern == ALIAS_PATTERN
    for bucket in ("data", "my.bucket-1", "Legacy_Bucket"):
        assert fnmatchcase(alias_name(bucket), pattern)
        assert not fnmatchcase(index_name(bucket, 1), pattern)
        assert not fnmatchcase(index_name(bucket, 2), pattern)


def test_every_field_exists_in_the_template_with_a_fitting_type(objects) -> None:
    uses = field_uses(objects)
    assert len(uses) > 20
    for oid, name, allowed in uses:
        assert name in TYPES, f"{oid}: field {name!r} is not in the index template"
        kind = TYPES[name]
        assert kind != "object" or name in {"user_meta", "amz_meta"}, (oid, name)
        if allowed is not None:
            assert kind in allowed, f"{oid}: {name!r} is {kind}, needs one of {sorted(allowed)}"


def test_failure_search_names_real_outcomes(objects) -> None:
    (failures,) = [o for o in objects if o["id"] == "t4-extraction-failures"]
    query = search_source(failures)["query"]["query"]
    assert "extraction_status:(" in query
    for status in re.search(r"\(([^)]*)\)", query)[1].split(" or "):
        assert status in {"too_large", "timeout", "encrypted", "corrupt", "unreadable"}


def test_the_time_field_is_on_every_document_tombstones_included(objects) -> None:
    """A data view's time field hides every document without it: on `last_modified`,
    which tombstones lack, deletions never showed in Discover or the deleted split."""
    from infra.kibana import TIME_FIELD
    from t4index.document import build_document

    (view,) = by_type(objects, "index-pattern")
    assert view["attributes"]["timeFieldName"] == TIME_FIELD
    # the tombstone a delete event writes (the pipeline builds it this way)
    tombstone = build_document(bucket="b", key="gone.csv", deleted=True, sequencer="0A")
    live = build_document(bucket="b", key="here.csv", size=3, last_modified="2024-01-02")
    assert TIME_FIELD in tombstone and TIME_FIELD in live
    assert TYPES[TIME_FIELD] == "date"
    for obj in by_type(objects, "search"):
        assert obj["attributes"]["sort"] == [[TIME_FIELD, "desc"]]


def test_legend_settings_use_current_kibana_names(objects) -> None:
    for obj in by_type(objects, "visualization"):
        state = json.loads(obj["attributes"]["visState"])
        params = state["params"]
        if state["type"] == "pie":
            # Kibana 8 replaced addLegend with legendDisplay; its migration would not run
            # on an object that claims typeMigrationVersion 8.5.0
            assert "addLegend" not in params and params["legendDisplay"] in {"show", "hide",
                                                                             "default"}
        if "legendPosition" in params:
            assert params["legendSize"] in {"auto", "small", "medium", "large", "xlarge"}
