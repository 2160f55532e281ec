"""The command line on the real stack: an S3 Inventory as the source, then repair."""

from __future__ import annotations

import csv
import gzip
import io
import json

from indexer.backfill.cli import main
from t4index import fields as F
from tests.support.indexing import stored


def _inventory(s3, source: str, destination: str, keys: list[str]) -> str:
    """Write a CSV inventory of ``keys`` (in two data files) and return its manifest URL."""
    files = []
    for n, part in enumerate((keys[: len(keys) // 2], keys[len(keys) // 2:])):
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL)
        for key in part:
            head = s3.head_object(Bucket=source, Key=key)
            writer.writerow([source, key.replace(" ", "+"), str(head["ContentLength"]),
                             head["LastModified"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                             head["ETag"].strip('"')])
        data_key = f"inv/{source}/data/{n}.csv.gz"
        body = gzip.compress(text.getvalue().encode())
        s3.put_object(Bucket=destination, Key=data_key, Body=body)
        files.append({"key": data_key, "size": 1, "MD5checksum": "-"})
    manifest = {"sourceBucket": source, "destinationBucket": f"arn:aws:s3:::{destination}",
                "version": "2016-11-30", "fileFormat": "CSV",
                "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag", "files": files}
    s3.put_object(Bucket=destination, Key="inv/manifest.json", Body=json.dumps(manifest).encode())
    return f"s3://{destination}/inv/manifest.json"


def test_cli_backfills_from_an_inventory_and_repairs(es, s3, bucket, unique_name, drop_indices,
                                                     stack_env, tmp_path, capsys):
    drop_indices(bucket)
    destination = unique_name("inv")
    s3.create_bucket(Bucket=destination)
    keys = [f"reports/r {i:03d}.txt" for i in range(80)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=f"report {key}".encode())
    manifest = _inventory(s3, bucket, destination, keys)
    out = io.StringIO()
    argv = ["backfill", f"s3://{bucket}", "--inventory", manifest,
            "--checkpoint", str(tmp_path / "cp.json"), "--chunk", "30"]
    assert main(argv, out=out) == 0, out.getvalue()
    assert "indexed 80," in out.getvalue() and "failed 0" in out.getvalue()
    assert stored(es, bucket, "reports/r 007.txt")[F.TEXT] == "report reports/r 007.txt"
    assert "objects" in capsys.readouterr().err  # the progress line went to stderr

    out = io.StringIO()
    assert main(argv, out=out) == 0
    assert "indexed 0," in out.getvalue() and "unchanged 80" in out.getvalue()

    s3.delete_object(Bucket=bucket, Key=keys[5])
    out = io.StringIO()
    assert main(["repair", f"s3://{bucket}/reports/"], out=out) == 0
    assert "orphaned 1," in out.getvalue() and "tombstoned 1," in out.getvalue()
    assert stored(es, bucket, keys[5])[F.DELETED] is True


def test_cli_reindex_moves_the_alias_and_deletes_the_old_index(es, s3, bucket, drop_indices,
                                                               stack_env, capsys):
    from t4index.lifecycle import bucket_indices, ensure_bucket_index
    from t4index.names import alias_name

    drop_indices(bucket)
    for i in range(20):
        s3.put_object(Bucket=bucket, Key=f"doc-{i:02d}.txt", Body=f"fjord {i}".encode())
    assert main(["backfill", f"s3://{bucket}"], out=io.StringIO()) == 0
    before = ensure_bucket_index(es, bucket)

    # Not above the current version: refused with the versions named, nothing touched.
    assert main(["reindex", bucket, "--to-version", str(before.mapping_version),
                 "--grace", "0", "--delete-old"], out=io.StringIO()) == 2
    assert f"mapping version {before.mapping_version}" in capsys.readouterr().err
    assert set(bucket_indices(es, bucket)) == {before.write_index}

    out = io.StringIO()
    new_version = before.mapping_version + 1
    assert main(["reindex", bucket, "--to-version", str(new_version), "--grace", "0",
                 "--delete-old"], out=out) == 0, out.getvalue()
    assert "copied 20" in out.getvalue() and "old index deleted" in out.getvalue()
    after = ensure_bucket_index(es, bucket)
    assert after.mapping_version == new_version and after.write_index != before.write_index
    assert set(bucket_indices(es, bucket)) == {after.write_index}, "the old index is gone"
    assert not es.raw.indices.exists(index=before.write_index)
    es.refresh(alias_name(bucket))
    hits = es.search({"query": {"match": {F.TEXT: "fjord"}}, "size": 50}, alias_name(bucket))
    assert hits["hits"]["total"]["value"] == 20
    assert stored(es, bucket, "doc-07.txt")[F.TEXT] == "fjord 7"
