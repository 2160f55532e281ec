"""Documents: key tokens, extensions, metadata flattening, text caps."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from t4index import fields as f
from t4index.document import (
    MAX_TEXT_CHARS,
    build_document,
    cap_text,
    extension_of,
    flatten_metadata,
    key_tokens,
)
from t4index.errors import DocumentError
from t4index.metadata import MAX_META_DEPTH, MAX_META_PAIRS


@pytest.mark.parametrize(("key", "expected"), [
    ("report.final.csv", ["report", "final", "csv"]),
    ("data/run_2023/x-y.txt", ["data", "run", "2023", "x", "y", "txt"]),
    ("reportFinal.csv", ["reportfinal", "report", "final", "csv"]),
    ("HTMLParser", ["htmlparser", "html", "parser"]),
    ("run2023b", ["run2023b", "run", "2023", "b"]),
    ("ünïcode/日本語.txt", ["ünïcode", "日本語", "txt"]),
    ("a b+c", ["a", "b", "c"]),
    ("///", []),
])
def test_key_tokens(key: str, expected: list[str]) -> None:
    assert key_tokens(key) == expected


@pytest.mark.parametrize(("key", "ext"), [
    ("a.csv", "csv"), ("dir.d/A.CSV", "csv"), ("a.csv.gz", "csv.gz"), ("a.tar.gz", "tar.gz"),
    ("a.gz", "gz"), (".bashrc", ""), ("dir/noext", ""), ("a.", ""), ("a.b c", ""),
    ("x.verylongextension17", ""), ("folder/", ""), ("report.final.csv", "csv"),
])
def test_extension_of(key: str, ext: str) -> None:
    assert extension_of(key) == ext


def pairs_by_path(meta) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for pair in flatten_metadata(meta).pairs:
        out.setdefault(pair[f.PAIR_PATH], []).append(pair)
    return out


def test_flatten_types_each_value() -> None:
    got = pairs_by_path({
        "s": "thor", "n": 3, "x": 2.5, "b": True, "none": None, "d": "2023-01-31",
        "dt": "2023-01-31T10:00:00+02:00", "o": {"a": {"b": 1}}, "l": [1, "two", [3]],
        "e": {}, "el": [],
    })
    assert got["s"] == [{"path": "s", "type": "string", "str": "thor"}]
    assert got["n"] == [{"path": "n", "type": "number", "num": 3.0}]
    assert got["b"] == [{"path": "b", "type": "boolean", "bool": True}]
    assert got["none"] == [{"path": "none", "type": "null"}]
    assert got["d"][0]["date"] == "2023-01-31T00:00:00.000Z"
    assert got["d"][0]["str"] == "2023-01-31"
    assert got["dt"][0]["date"] == "2023-01-31T08:00:00.000Z"
    assert got["o.a.b"] == [{"path": "o.a.b", "type": "number", "num": 1.0}]
    assert [p.get("num", p.get("str")) for p in got["l"]] == [1.0, "two", 3.0]
    assert got["e"] == [{"path": "e", "type": "object"}]
    assert got["el"] == [{"path": "el", "type": "array"}]


def test_flatten_keeps_unrepresentable_numbers_as_strings() -> None:
    big = 2**64 + 1
    huge = 10**400
    flat = flatten_metadata({"big": big, "huge": huge, "nan": math.nan, "inf": -math.inf})
    got = {p["path"]: p for p in flat.pairs}
    assert got["big"]["num"] == float(big)
    assert got["huge"] == {"path": "huge", "type": "number", "str": str(huge)}
    assert got["nan"] == {"path": "nan", "type": "number", "str": "NaN"}
    assert got["inf"] == {"path": "inf", "type": "number", "str": "-Infinity"}
    assert flat.stored == {"big": big, "huge": huge, "nan": "NaN", "inf": "-Infinity"}
    json.dumps(flat.stored, allow_nan=False)


def test_flatten_never_raises_on_odd_values() -> None:
    deep: list = []
    node = deep
    for _ in range(2000):
        node.append([])
        node = node[0]
    odd = {1: "int key", "": "empty", "a.b": "dotted", "bad": "\ud800x", "deep": deep,
           "set": {1}, "bytes": b"\x00", "dt": datetime(2020, 1, 1), "day": date(2020, 1, 2),
           "obj": object}
    flat = flatten_metadata(odd)
    json.dumps(flat.stored, allow_nan=False)
    json.dumps(flat.pairs, allow_nan=False)
    paths = {p["path"] for p in flat.pairs}
    assert {"1", "", "a.b", "bad", "deep", "set", "bytes", "dt", "day", "obj"} <= paths
    assert flat.stored["bad"] == "?x"
    deep_pair = next(p for p in flat.pairs if p["path"] == "deep")
    assert deep_pair["type"] == "string"
    depth = 0
    value = flat.stored["deep"]
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    assert depth <= MAX_META_DEPTH + 1


def test_flatten_caps_pairs_and_says_so() -> None:
    flat = flatten_metadata({f"p{i}": i for i in range(MAX_META_PAIRS + 10)})
    assert len(flat.pairs) == MAX_META_PAIRS
    assert flat.truncated
    assert len(flat.stored) == MAX_META_PAIRS + 10


@pytest.mark.parametrize("meta", [None, 3, "s", [1, {"a": 2}], True])
def test_flatten_accepts_any_top_level_shape(meta) -> None:
    flat = flatten_metadata(meta)
    assert flat.stored == meta
    if meta is not None:
        assert flat.pairs and all(p["path"] in ("", "a") for p in flat.pairs)


def test_cap_text_counts_utf16_units_and_never_splits_a_pair() -> None:
    assert cap_text("abc", 5) == ("abc", False)
    assert cap_text("a😀b", 3) == ("a😀", True)
    assert cap_text("a😀b", 2) == ("a", True)
    text, cut = cap_text("x" * (MAX_TEXT_CHARS + 5))
    assert cut and len(text) == MAX_TEXT_CHARS
    assert cap_text("\udc80ok") == ("?ok", False)


def test_build_document_fields() -> None:
    doc = build_document(
        bucket="b", key="dir/Report.Final.CSV", version_id="v1", size=10, etag='"abc"',
        last_modified=datetime(2023, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=1))),
        content_type="Text/CSV; charset=utf-8", user_meta={"n": 1}, amz_meta={"Owner": "me"},
        text="hello", extraction_status="ok", extractor="csv", extractor_version="1",
        sequencer="0055AED6DCD90281E5", indexed_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    assert doc[f.KEY] == "dir/Report.Final.CSV"
    assert doc[f.KEY_TOKENS] == "dir report final csv"
    assert doc[f.EXTENSION] == "csv"
    assert doc[f.CONTENT_TYPE] == "text/csv"
    assert doc[f.ETAG] == "abc"
    assert doc[f.LAST_MODIFIED] == "2023-01-02T02:04:05.123Z"
    assert doc[f.INDEXED_AT] == "2024-01-01T00:00:00.000Z"
    assert doc[f.AMZ_META] == {"owner": "me"}
    assert doc[f.AMZ_META_KV] == ["owner=me"]
    assert doc[f.USER_META] == {"n": 1}
    assert doc[f.META_PAIRS] == [{"path": "n", "type": "number", "num": 1.0}]
    assert "owner me" in doc[f.META_TEXT] and "n 1" in doc[f.META_TEXT]
    assert doc[f.IS_LATEST] is True and doc[f.DELETED] is False
    assert doc[f.EXTRACTION_TRUNCATED] is False
    json.dumps(doc, allow_nan=False)


def test_build_document_caps_text_and_records_it() -> None:
    doc = build_document(bucket="b", key="k", text="y" * (MAX_TEXT_CHARS + 1))
    assert len(doc[f.TEXT]) == MAX_TEXT_CHARS
    assert doc[f.EXTRACTION_TRUNCATED] is True


def test_build_document_for_a_tombstone_is_minimal() -> None:
    doc = build_document(bucket="b", key="k", deleted=True, is_latest=True)
    assert doc[f.DELETED] is True
    assert f.TEXT not in doc and f.USER_META not in doc


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bucket": "", "key": "k"}, "bucket"),
    ({"bucket": "b", "key": ""}, "key"),
    ({"bucket": "b", "key": "k" * 40_000}, "longer than"),
    ({"bucket": "b", "key": "k", "size": -1}, "size"),
    ({"bucket": "b", "key": "k", "size": 1.5}, "size"),
    ({"bucket": "b", "key": "k", "last_modified": "yesterday"}, "last_modified"),
])
def test_build_document_refuses_bad_values(kwargs, message) -> None:
    with pytest.raises(DocumentError, match=message):
        build_document(**kwargs)
