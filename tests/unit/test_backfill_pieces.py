"""Unit tests of the backfill's pure pieces: no service needed."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from indexer.backfill.checkpoint import Checkpoint, default_path
from indexer.backfill.cli import Bar, _parser
from indexer.backfill.enqueue import event_body
from indexer.backfill.inventory import InventoryError, parse_manifest, rows_to_objects
from indexer.backfill.listing import Listed, chunked, parse_s3_url
from indexer.backfill.progress import Progress, format_line
from indexer.backfill.verify import _merge
from indexer.events import parse_body
from t4index import fields as F

LM = datetime(2024, 5, 14, 10, 1, 2, 345000, tzinfo=UTC)

def test_merge_pairs_objects_and_documents_by_key_in_utf8_order():
    listed = [Listed(k, 1, "e", None) for k in ["a", "b", "d", "é", "\U0001f600"]]
    docs = [{F.KEY: k} for k in ["b", "c", "d", "z", "\U0001f600", "\U0001f601"]]
    pairs = [(o.key if o else None, d[F.KEY] if d else None)
             for o, d in _merge(iter(listed), iter(docs))]
    assert pairs == [("a", None), ("b", "b"), (None, "c"), ("d", "d"), (None, "z"),
                     ("é", None), ("\U0001f600", "\U0001f600"), (None, "\U0001f601")]


def test_chunked_is_lazy_and_exact():
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunked([], 3)) == []
    with pytest.raises(ValueError):
        list(chunked([1], 0))


def test_parse_s3_url():
    assert parse_s3_url("s3://b") == ("b", "")
    assert parse_s3_url("s3://b/some/prefix/") == ("b", "some/prefix/")
    for bad in ("b/x", "s3://", "http://b"):
        with pytest.raises(ValueError):
            parse_s3_url(bad)


def test_checkpoint_round_trip_belongs_to_its_source(tmp_path):
    path = tmp_path / "cp.json"
    cp = Checkpoint(path, "s3://b/p")
    assert cp.load() is None
    cp.save("k/0099", {"indexed": 3})
    assert Checkpoint(path, "s3://b/p").load() == "k/0099"
    assert Checkpoint(path, "s3://other").load() is None
    assert Checkpoint(path, "s3://b/p", mode="enqueue").load() is None
    cp.save(None, done=True)
    assert cp.load() is None
    cp.clear()
    assert not path.exists()
    assert default_path("s3://a") != default_path("s3://b")


def test_synthetic_event_round_trips_through_the_event_parser():
    key = "a b+c/ü.txt"
    body = event_body("bkt", [Listed(key, 3, '"e"', LM), Listed("x", 1, None, None)])
    record = json.loads(body)["Records"][0]
    assert record["s3"]["object"]["key"] == "a+b%2Bc%2F%C3%BC.txt"
    events = parse_body(body)
    assert [(e.bucket, e.key) for e in events] == [("bkt", key), ("bkt", "x")]


MANIFEST = {
    "sourceBucket": "src", "destinationBucket": "arn:aws:s3:::inv",
    "fileFormat": "CSV",
    "fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag",
    "files": [{"key": "inv/src/data/1.csv.gz", "size": 1, "MD5checksum": "x"}],
}


def test_inventory_manifest_and_rows():
    manifest = parse_manifest(json.dumps(MANIFEST))
    assert (manifest.source_bucket, manifest.destination_bucket) == ("src", "inv")
    assert manifest.files == ["inv/src/data/1.csv.gz"]
    rows = [["src", "a+b%2Fc.txt", "v1", "true", "false", "5", "2024-05-14T10:01:02.000Z", "e1"],
            ["src", "old.txt", "v0", "false", "false", "5", "2024-05-14T10:01:02.000Z", "e0"],
            ["src", "gone.txt", "v2", "true", "true", "", "2024-05-14T10:01:02.000Z", ""],
            ["src", "p/x.txt", "v3", "true", "false", "7", "2024-05-14T10:01:02.000Z", "e3"]]
    out = list(rows_to_objects(manifest.columns, iter(rows)))
    assert [(i, o.key, o.size, o.etag) for i, o in out] == [(0, "a b/c.txt", 5, "e1"),
                                                            (3, "p/x.txt", 7, "e3")]
    assert [o.key for _, o in rows_to_objects(manifest.columns, iter(rows), "p/")] == ["p/x.txt"]
    with pytest.raises(InventoryError):
        parse_manifest(json.dumps({**MANIFEST, "fileFormat": "ORC"}))
    with pytest.raises(InventoryError):
        parse_manifest("not json")


def test_progress_line_and_bar():
    p = Progress(objects=500, bytes=2048, indexed=10, unchanged=490, total_objects=1000)
    p.started -= 10
    line = format_line(p)
    assert "500/1,000 objects" in line and "2.0 KB" in line and "50/s" in line
    assert "ETA 0:00:10" in line and "unchanged 490" in line
    assert "ETA" not in format_line(Progress(objects=5))
    out = io.StringIO()
    bar = Bar(out)
    bar(p)
    bar.close(p)
    assert out.getvalue().count("objects") == 2


def test_cli_parses_the_three_commands():
    args = _parser().parse_args(["backfill", "s3://b/p", "--force", "--chunk", "50"])
    assert (args.command, args.url, args.force, args.chunk) == ("backfill", "s3://b/p", True, 50)
    assert _parser().parse_args(["repair", "s3://b"]).command == "repair"
    assert _parser().parse_args(["reindex", "b", "--to-version", "3"]).to_version == 3
