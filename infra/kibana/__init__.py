"""Kibana saved objects for admins: ``saved_objects.ndjson``, made by ``python -m infra.kibana``.

The objects are written from Python (field names from ``t4index.fields``, the data
view pattern from ``t4index.names.ALIAS_PATTERN``) so they cannot drift from the
index; the NDJSON file is committed for import and a test checks it is current.

- data view ``t4-objects`` over every bucket's alias (not the concrete indices,
  so no document counts twice during a reindex), time field ``indexed_at``: every
  document has it, tombstones of deleted objects included (they have no
  ``last_modified``, so a data view on it hid every deletion);
- saved searches: recent changes, extraction failures;
- visualizations and a dashboard: objects and bytes by extension, changes over
  time, extraction outcomes.

Import: Stack Management > Saved objects > Import, or
``curl -X POST "$KIBANA/api/saved_objects/_import?overwrite=true" -H "kbn-xsrf: true"
--form file=@infra/kibana/saved_objects.ndjson`` (see "Deploying to AWS" in the README).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from t4index import fields as f
from t4index.names import ALIAS_PATTERN

NDJSON_PATH = Path(__file__).resolve().parent / "saved_objects.ndjson"
DATA_VIEW_ID = "t4-objects"
TIME_FIELD = f.INDEXED_AT
"""Set on every document the indexer writes, tombstones included (``build_document``)."""
FAILED_STATUSES = ("too_large", "timeout", "encrypted", "corrupt", "unreadable")
"""Extraction outcomes an admin should look at (``ok``, ``truncated`` and
``unsupported`` are normal)."""
LIVE = f"not {f.DELETED}:true"
"""KQL for objects that exist (tombstones of deleted objects left out)."""
WHOLE_CATALOG = {"from": "now-100y", "to": "now+1d"}
"""Panel time range of inventory panels: every object, whatever the dashboard's range."""
_CORE = "8.8.0"
_INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


def _search_source(query: str = "", *, index: bool = True) -> dict[str, Any]:
    source: dict[str, Any] = {"query": {"query": query, "language": "kuery"}, "filter": []}
    if index:
        source["indexRefName"] = _INDEX_REF
    return {"searchSourceJSON": json.dumps(source)}


def _index_ref() -> list[dict[str, str]]:
    return [{"id": DATA_VIEW_ID, "name": _INDEX_REF, "type": "index-pattern"}]


def data_view() -> dict[str, Any]:
    """The data view over every bucket's alias."""
    return {
        "id": DATA_VIEW_ID, "type": "index-pattern", "typeMigrationVersion": "8.0.0",
        "coreMigrationVersion": _CORE, "managed": False, "references": [],
        "attributes": {
            "title": ALIAS_PATTERN, "name": "t4-search objects", "timeFieldName": TIME_FIELD,
            # the bulky or derived fields stay out of Discover's documents
            "sourceFilters": json.dumps([{"value": v} for v in (f.TEXT, f.META_TEXT,
                                                                  f.KEY_TOKENS)]),
            "fieldFormatMap": json.dumps({f.SIZE: {"id": "bytes"}}),
            "fieldAttrs": "{}", "runtimeFieldMap": "{}", "allowHidden": False,
        },
    }


def saved_search(obj_id: str, title: str, description: str, query: str,
                 columns: list[str]) -> dict[str, Any]:
    """A Discover saved search over the data view, newest change first."""
    return {
        "id": obj_id, "type": "search", "typeMigrationVersion": "8.0.0",
        "coreMigrationVersion": _CORE, "managed": False, "references": _index_ref(),
        "attributes": {
            "title": title, "description": description, "columns": columns,
            "sort": [[TIME_FIELD, "desc"]], "grid": {}, "hideChart": False,
            "isTextBasedQuery": False, "kibanaSavedObjectMeta": _search_source(query),
        },
    }


def visualization(obj_id: str, title: str, vis_type: str, aggs: list[dict[str, Any]],
                  params: dict[str, Any], query: str = "") -> dict[str, Any]:
    """An aggregation-based visualization (``aggs``: ``(type, schema, params)`` dicts)."""
    vis_state = {
        "title": title, "type": vis_type, "params": params,
        "aggs": [{"id": str(i), "enabled": True, **agg} for i, agg in enumerate(aggs, 1)],
    }
    return {
        "id": obj_id, "type": "visualization", "typeMigrationVersion": "8.5.0",
        "coreMigrationVersion": _CORE, "managed": False, "references": _index_ref(),
        "attributes": {
            "title": title, "description": "", "version": 1, "uiStateJSON": "{}",
            "visState": json.dumps(vis_state), "kibanaSavedObjectMeta": _search_source(query),
        },
    }


def _terms(field: str, size: int, label: str) -> dict[str, Any]:
    return {"type": "terms", "schema": "bucket",
            "params": {"field": field, "size": size, "order": "desc", "orderBy": "1",
                       "missingBucket": True, "missingBucketLabel": "(none)",
                       "otherBucket": True, "otherBucketLabel": "(other)",
                       "customLabel": label}}


def dashboard(obj_id: str, title: str, panels: list[tuple[str, str, dict[str, int],
                                                          dict[str, Any]]]) -> dict[str, Any]:
    """A dashboard of ``(type, id, gridData, embeddableConfig)`` panels."""
    panels_json, references = [], []
    for number, (obj_type, ref_id, grid, config) in enumerate(panels, 1):
        index = str(number)
        panels_json.append({"type": obj_type, "panelIndex": index,
                            "gridData": {**grid, "i": index}, "embeddableConfig": config,
                            "panelRefName": f"panel_{index}"})
        references.append({"id": ref_id, "name": f"{index}:panel_{index}", "type": obj_type})
    return {
        "id": obj_id, "type": "dashboard", "typeMigrationVersion": "8.7.0",
        "coreMigrationVersion": _CORE, "managed": False, "references": references,
        "attributes": {
            "title": title, "description": "Objects, bytes, changes and extraction outcomes "
            "of every indexed bucket (aliases t4-objects-*).",
            "panelsJSON": json.dumps(panels_json),
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": False,
                                       "syncCursor": True, "syncTooltips": False,
                                       "hidePanelTitles": False}),
            "timeRestore": True, "timeFrom": "now-90d", "timeTo": "now",
            "refreshInterval": {"pause": True, "value": 60000}, "version": 1,
            "kibanaSavedObjectMeta": _search_source(index=False),
        },
    }


def saved_objects() -> list[dict[str, Any]]:
    """Every saved object, referenced objects before the objects that refer to them."""
    failures = " or ".join(FAILED_STATUSES)
    objects = [
        data_view(),
        saved_search(
            "t4-recent-changes", "t4: recent changes",
            "Newest object changes first (deletions included when tombstones are kept).",
            "", [f.BUCKET, f.KEY, f.SIZE, f.EXTENSION, f.EXTRACTION_STATUS, f.DELETED,
                 f.INDEXED_AT]),
        saved_search(
            "t4-extraction-failures", "t4: extraction failures",
            f"Objects whose text could not be extracted ({', '.join(FAILED_STATUSES)}).",
            f"{f.EXTRACTION_STATUS}:({failures}) and {LIVE}",
            [f.BUCKET, f.KEY, f.EXTRACTION_STATUS, f.EXTRACTION_ERROR, f.CONTENT_TYPE,
             f.SIZE, f.EXTRACTOR]),
        visualization(
            "t4-by-extension", "t4: objects and bytes by extension", "table",
            [{"type": "count", "schema": "metric", "params": {"customLabel": "objects"}},
             {"type": "sum", "schema": "metric",
              "params": {"field": f.SIZE, "customLabel": "bytes"}},
             _terms(f.EXTENSION, 25, "extension")],
            {"perPage": 25, "showTotal": True, "totalFunc": "sum", "showPartialRows": False,
             "showMetricsAtAllLevels": False, "percentageCol": ""},
            query=LIVE),
        visualization(
            "t4-changes-over-time", "t4: changes over time", "histogram",
            [{"type": "count", "schema": "metric", "params": {"customLabel": "changes"}},
             {"type": "date_histogram", "schema": "segment",
              "params": {"field": TIME_FIELD, "interval": "auto", "min_doc_count": 1,
                         "extended_bounds": {}, "customLabel": "indexed at"}},
             {**_terms(f.DELETED, 2, "deleted"), "schema": "group"}],
            {"type": "histogram", "addLegend": True, "legendPosition": "right",
             "legendSize": "auto", "truncateLegend": True, "maxLegendLines": 1,
             "addTooltip": True, "addTimeMarker": False}),
        visualization(
            "t4-outcomes", "t4: extraction outcomes", "pie",
            [{"type": "count", "schema": "metric", "params": {"customLabel": "objects"}},
             {**_terms(f.EXTRACTION_STATUS, 10, "outcome"), "schema": "segment"}],
            # Kibana 8 pies: legendDisplay replaced addLegend (its migration runs only on
            # objects older than typeMigrationVersion, so an import must use the new name)
            {"type": "pie", "legendDisplay": "show", "legendPosition": "right",
             "legendSize": "auto", "truncateLegend": True, "maxLegendLines": 1,
             "nestedLegend": False, "distinctColors": True,
             "palette": {"type": "palette", "name": "default"}, "isDonut": True,
             "emptySizeRatio": 0.3, "addTooltip": True,
             "labels": {"show": True, "values": True, "last_level": True, "truncate": 100,
                        "position": "default", "valuesFormat": "percent"}},
            query=LIVE),
    ]
    objects.append(dashboard("t4-dashboard", "t4-search: objects", [
        ("visualization", "t4-by-extension", {"x": 0, "y": 0, "w": 24, "h": 16},
         {"timeRange": WHOLE_CATALOG}),
        ("visualization", "t4-outcomes", {"x": 24, "y": 0, "w": 24, "h": 16},
         {"timeRange": WHOLE_CATALOG}),
        ("visualization", "t4-changes-over-time", {"x": 0, "y": 16, "w": 48, "h": 14}, {}),
        ("search", "t4-extraction-failures", {"x": 0, "y": 30, "w": 48, "h": 16}, {}),
        ("search", "t4-recent-changes", {"x": 0, "y": 46, "w": 48, "h": 16}, {}),
    ]))
    return objects


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    """Saved objects as NDJSON text: one object per line, keys sorted, newline-terminated."""
    return "".join(json.dumps(o, sort_keys=True) + "\n" for o in objects)


def write_ndjson(path: Path, objects: list[dict[str, Any]]) -> int:
    """Write ``objects`` to ``path`` as NDJSON and say so. Returns 0 (an exit status)."""
    path.write_text(to_ndjson(objects))
    print(f"wrote {path} ({len(objects)} saved objects)")
    return 0


def render() -> str:
    """The NDJSON text of Kibana's saved objects."""
    return to_ndjson(saved_objects())


def main() -> int:
    """Write ``saved_objects.ndjson`` next to this module."""
    return write_ndjson(NDJSON_PATH, saved_objects())

