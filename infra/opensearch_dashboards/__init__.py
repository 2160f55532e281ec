"""OpenSearch Dashboards saved objects: ``saved_objects.ndjson``, made by
``python -m infra.opensearch_dashboards``.

The admin UI of an Amazon OpenSearch Service domain (or any OpenSearch 2.x/3.x) is
OpenSearch Dashboards, a fork of Kibana 7.10: it imports saved objects in Kibana 7.10's
format, not Kibana 8's. The objects are the same as Kibana's (``infra.kibana``: the
index pattern over every bucket's alias with time field ``indexed_at``, the saved
searches, the visualizations and the dashboard), converted here, so that a field, a
query or a panel is defined once for both UIs:

- ``migrationVersion`` per type instead of ``typeMigrationVersion`` /
  ``coreMigrationVersion`` (set to the newest migration of each type in Dashboards, so
  none runs on import);
- index pattern: ``fields`` empty (Dashboards reads them from the aliases on first use),
  no data view ``name``;
- pies: ``addLegend`` (Kibana 8 renamed it ``legendDisplay``); the histogram with the
  axes and series Dashboards' charts need;
- dashboard panels referenced as ``panel_<n>`` without a type in the panel.

Import: Dashboards Management > Saved objects > Import, or
``curl -X POST "$DASHBOARDS/api/saved_objects/_import?overwrite=true" -H "osd-xsrf: true"
--form file=@infra/opensearch_dashboards/saved_objects.ndjson``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from infra import kibana

NDJSON_PATH = Path(__file__).resolve().parent / "saved_objects.ndjson"
INDEX_PATTERN_ID = kibana.DATA_VIEW_ID
TIME_FIELD = kibana.TIME_FIELD
MIGRATION_VERSIONS = {"index-pattern": "7.6.0", "search": "7.9.3",
                      "visualization": "7.10.0", "dashboard": "7.9.3"}
"""The newest saved-object migration of each type in OpenSearch Dashboards 2.x (Kibana
7.10's): objects that claim them are imported as they are."""
PANEL_VERSION = "7.10.2"
_KIBANA8_ONLY = ("typeMigrationVersion", "coreMigrationVersion", "managed")
_PIE_KIBANA8_PARAMS = ("legendDisplay", "legendSize", "truncateLegend", "maxLegendLines",
                       "nestedLegend", "distinctColors", "palette", "emptySizeRatio")


def _histogram_params(metric_ids: list[str], labels: dict[str, str]) -> dict[str, Any]:
    """The vislib parameters of a vertical bar chart: one category axis, one value axis,
    one stacked series per metric aggregation."""
    return {
        "type": "histogram", "addTooltip": True, "addLegend": True, "legendPosition": "right",
        "times": [], "addTimeMarker": False,
        "grid": {"categoryLines": False},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom",
                          "show": True, "style": {}, "scale": {"type": "linear"},
                          "labels": {"show": True, "filter": True, "truncate": 100},
                          "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value",
                       "position": "left", "show": True, "style": {},
                       "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                       "title": {"text": labels[metric_ids[0]]}}],
        "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked",
                          "data": {"label": labels[i], "id": i}, "valueAxis": "ValueAxis-1",
                          "drawLinesBetweenPoints": True, "showCircles": True}
                         for i in metric_ids],
    }


def _visualization(attrs: dict[str, Any]) -> None:
    state = json.loads(attrs["visState"])
    params = state["params"]
    if state["type"] == "pie":
        for name in _PIE_KIBANA8_PARAMS:
            params.pop(name, None)
        params["addLegend"] = True
        params["labels"] = {k: v for k, v in params["labels"].items()
                            if k in ("show", "values", "last_level", "truncate")}
    elif state["type"] == "histogram":
        metrics = [a for a in state["aggs"] if a["schema"] == "metric"]
        state["params"] = _histogram_params(
            [a["id"] for a in metrics],
            {a["id"]: a["params"].get("customLabel", a["type"]) for a in metrics})
    attrs["visState"] = json.dumps(state)


def _dashboard(obj: dict[str, Any]) -> None:
    attrs = obj["attributes"]
    panels = json.loads(attrs["panelsJSON"])
    by_name = {r["name"]: r for r in obj["references"]}
    references = []
    for number, panel in enumerate(panels):
        ref = by_name[f"{panel['panelIndex']}:{panel['panelRefName']}"]
        panel.pop("type")
        panel["panelRefName"] = f"panel_{number}"
        panel["version"] = PANEL_VERSION
        references.append({"id": ref["id"], "name": f"panel_{number}", "type": ref["type"]})
    obj["references"] = references
    attrs["panelsJSON"] = json.dumps(panels)
    attrs["optionsJSON"] = json.dumps({"useMargins": True, "hidePanelTitles": False})
    attrs["hits"] = 0


def convert(obj: dict[str, Any]) -> dict[str, Any]:
    """One Kibana 8 saved object (``infra.kibana``) in OpenSearch Dashboards' format."""
    out = {k: v for k, v in copy.deepcopy(obj).items() if k not in _KIBANA8_ONLY}
    out["migrationVersion"] = {obj["type"]: MIGRATION_VERSIONS[obj["type"]]}
    attrs = out["attributes"]
    if obj["type"] == "index-pattern":
        out["attributes"] = {k: attrs[k] for k in ("title", "timeFieldName", "sourceFilters",
                                                    "fieldFormatMap")}
        out["attributes"]["fields"] = "[]"
    elif obj["type"] == "search":
        for name in ("grid", "hideChart", "isTextBasedQuery"):
            attrs.pop(name)
        attrs.update(hits=0, version=1)
    elif obj["type"] == "visualization":
        _visualization(attrs)
    elif obj["type"] == "dashboard":
        _dashboard(out)
    else:
        raise ValueError(f"no OpenSearch Dashboards form for a {obj['type']!r} object")
    return out


def saved_objects() -> list[dict[str, Any]]:
    """Every saved object, referenced objects before the objects that refer to them."""
    return [convert(obj) for obj in kibana.saved_objects()]


def render() -> str:
    """The NDJSON text of OpenSearch Dashboards' saved objects."""
    return kibana.to_ndjson(saved_objects())


def main() -> int:
    """Write ``saved_objects.ndjson`` next to this module."""
    return kibana.write_ndjson(NDJSON_PATH, saved_objects())
