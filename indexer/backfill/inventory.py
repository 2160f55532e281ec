"""S3 Inventory as the source of objects instead of listing (CSV format).

``manifest.json`` names the source bucket, the column schema and the gzip CSV
data files (in the destination bucket). Rows are streamed (gzip over the GET's
body) so memory does not grow with the inventory. Keys in inventory files are
URL-encoded. Versioned inventories list every version: only current versions
that are not delete markers are kept. The resume position of a row is
``[file index, row index]``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from indexer.backfill.listing import RETRY, Listed, parse_s3_url


@dataclass(frozen=True)
class Manifest:
    """What an inventory ``manifest.json`` says."""

    source_bucket: str
    destination_bucket: str
    columns: list[str]
    files: list[str]


class InventoryError(ValueError):
    """The manifest is not a CSV S3 Inventory manifest this tool can read."""


def parse_manifest(raw: bytes | str) -> Manifest:
    """Parse ``manifest.json``.

    Raises:
        InventoryError: not JSON, not CSV, or missing the Key column.
    """
    try:
        data = json.loads(raw)
        fmt = data.get("fileFormat", "")
        if fmt.upper() != "CSV":
            raise InventoryError(f"inventory format {fmt!r} is not supported (only CSV)")
        columns = [c.strip() for c in data["fileSchema"].split(",")]
        destination = data["destinationBucket"].rsplit(":", 1)[-1]
        files = [f["key"] for f in data["files"]]
        source = data["sourceBucket"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, InventoryError):
            raise
        raise InventoryError(f"not an S3 Inventory manifest: {exc}") from exc
    if "Key" not in columns:
        raise InventoryError(f"inventory schema {columns} has no Key column")
    return Manifest(source, destination, columns, files)


def read_manifest(s3: Any, url: str) -> Manifest:
    """Read and parse the manifest at ``s3://bucket/path/manifest.json``."""
    bucket, key = parse_s3_url(url)
    return parse_manifest(RETRY.call(lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def rows_to_objects(columns: list[str], rows: Iterator[list[str]],
                    prefix: str = "") -> Iterator[tuple[int, Listed]]:
    """``(row index, object)`` for the current, live objects under ``prefix``."""
    at = {name: i for i, name in enumerate(columns)}

    def col(row: list[str], name: str) -> str | None:
        i = at.get(name)
        return row[i] if i is not None and i < len(row) and row[i] != "" else None

    for index, row in enumerate(rows):
        if (col(row, "IsLatest") or "true").lower() != "true":
            continue
        if (col(row, "IsDeleteMarker") or "false").lower() == "true":
            continue
        key = unquote_plus(col(row, "Key") or "")
        if not key or not key.startswith(prefix):
            continue
        size = col(row, "Size")
        yield index, Listed(key=key, size=int(size) if size else 0, etag=col(row, "ETag"),
                            last_modified=col(row, "LastModifiedDate"),
                            storage_class=col(row, "StorageClass"))


def iter_inventory(s3: Any, manifest: Manifest, prefix: str = "", *,
                   start: list[int] | None = None) -> Iterator[tuple[list[int], Listed]]:
    """Every object of the inventory after position ``start``, as ``(position, object)``."""
    first_file, first_row = start if start else (0, -1)
    for file_index, key in enumerate(manifest.files):
        if file_index < first_file:
            continue
        body = RETRY.call(lambda key=key: s3.get_object(Bucket=manifest.destination_bucket,
                                                         Key=key)["Body"])
        raw = gzip.GzipFile(fileobj=body) if key.endswith(".gz") else body
        with io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            for row_index, obj in rows_to_objects(manifest.columns, csv.reader(text), prefix):
                if file_index == first_file and row_index <= first_row:
                    continue
                yield [file_index, row_index], obj
