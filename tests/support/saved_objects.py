"""Reading and checking saved-object NDJSON files (Kibana's and OpenSearch Dashboards').

Neither UI runs here: the files are checked structurally, and every field they name is
looked up in the index template with a type that fits its use.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}
AGGREGATABLE = NUMERIC | {"keyword", "boolean", "date", "ip"}
AGG_FIELD_TYPES = {"terms": AGGREGATABLE, "sum": NUMERIC, "avg": NUMERIC, "max": NUMERIC,
                   "min": NUMERIC, "date_histogram": {"date"}, "cardinality": AGGREGATABLE}
KQL_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*:")


def load_ndjson(path: Path) -> list[dict[str, Any]]:
    """The objects of an NDJSON export, each checked to have an id, type, title, references."""
    lines = path.read_text().splitlines()
    assert lines, "empty NDJSON"
    parsed = []
    for number, line in enumerate(lines, 1):
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {number} is not an object"
        assert {"id", "type", "attributes", "references"} <= obj.keys(), f"line {number}"
        assert obj["attributes"].get("title"), f"line {number} has no title"
        parsed.append(obj)
    return parsed


def by_type(objects: list[dict[str, Any]], obj_type: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["type"] == obj_type]


def search_source(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def field_uses(objects: list[dict[str, Any]]) -> list[tuple[str, str, set[str] | None]]:
    """(object id, field, allowed types or None for any indexed type) for every field named."""
    uses: list[tuple[str, str, set[str] | None]] = []
    for obj in objects:
        attrs, oid = obj["attributes"], obj["id"]
        if obj["type"] == "index-pattern":
            uses.append((oid, attrs["timeFieldName"], {"date"}))
            uses += [(oid, name, None) for name in json.loads(attrs["fieldFormatMap"])]
            uses += [(oid, s["value"], None) for s in json.loads(attrs["sourceFilters"])]
            continue
        if obj["type"] in {"search", "visualization"}:
            query = search_source(obj)["query"]["query"]
            uses += [(oid, name, None) for name in KQL_FIELD.findall(query)]
        if obj["type"] == "search":
            uses += [(oid, c, None) for c in attrs["columns"]]
            uses += [(oid, s[0], AGGREGATABLE) for s in attrs["sort"]]
        if obj["type"] == "visualization":
            for agg in json.loads(attrs["visState"])["aggs"]:
                if "field" in agg["params"]:
                    uses.append((oid, agg["params"]["field"], AGG_FIELD_TYPES[agg["type"]]))
                else:
                    assert agg["type"] == "count", agg
    return uses


def references_resolve_in_order(objects: list[dict[str, Any]]) -> None:
    """Ids are unique and every reference names an object earlier in the file (an import
    never dangles)."""
    keys = [(o["type"], o["id"]) for o in objects]
    assert len(keys) == len(set(keys))
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        names = [r["name"] for r in obj["references"]]
        assert len(names) == len(set(names)), obj["id"]
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in seen, f"{obj['id']} -> {ref}"
        seen.add((obj["type"], obj["id"]))
    assert {t for t, _ in keys} == {"index-pattern", "search", "visualization", "dashboard"}
