"""Parquet: the schema, read from the file's footer by ranged reads (never the data pages).

A Parquet file ends with its metadata (Thrift compact protocol), the metadata's
length and ``PAR1``. The last 64 KB are read first (usually the whole footer;
a small file is already in memory), then the rest of a larger footer by one
more ranged read, up to ``MAX_FOOTER_BYTES``. The footer is decoded here
(``_thrift``) rather than with pyarrow, which the Lambda package leaves out for
its size. Indexed text: one ``name: type`` line per top-level column, types
named as pyarrow names them (``int64``, ``string``, ``timestamp[us, tz=UTC]``,
``list<string>`` ...). A file with an encrypted footer (``PARE``) is ``encrypted``.
"""

from __future__ import annotations

import struct
from typing import Any

from indexer.extract._model import Extraction, ExtractLimits, Status, failed, finish
from indexer.extract._thrift import BINARY, I32, I64, LIST, CompactReader, ThriftError
from indexer.source import ObjectSource

MAX_COLUMNS_IN_METADATA = 1_000
MAX_NAME_CHARS = 256
TAIL_BYTES = 64 * 1024
MAX_FOOTER_BYTES = 16 * 2**20

_PHYSICAL = {0: "bool", 1: "int32", 2: "int64", 3: "int96", 4: "float", 5: "double",
             6: "binary", 7: "fixed_size_binary"}
_CONVERTED = {0: "string", 4: "string", 6: "date32", 7: "time32[ms]", 8: "time64[us]",
              9: "timestamp[ms]", 10: "timestamp[us]", 11: "uint8", 12: "uint16", 13: "uint32",
              14: "uint64", 15: "int8", 16: "int16", 17: "int32", 18: "int64", 19: "json",
              20: "bson", 21: "interval"}
_UNITS = {1: "ms", 2: "us", 3: "ns"}
# SchemaElement fields kept: type, type_length, name, num_children, converted_type,
# scale, precision, logicalType
_ELEMENT_FIELDS: dict[int, Any] = {1: None, 2: None, 4: None, 5: None, 6: None, 7: None,
                                   8: None, 10: None}


class ParquetFooterError(ValueError):
    """Bytes that do not end with a readable Parquet footer."""


def read_footer(source: ObjectSource) -> bytes:
    """The Thrift-encoded ``FileMetaData`` at the end of a Parquet object.

    Returns:
        The footer bytes.

    Raises:
        ParquetFooterError: no ``PAR1`` magic, a bad length, or a footer over
            ``MAX_FOOTER_BYTES``; ``PARE`` raises with ``encrypted`` in the message.
    """
    if source.size < 12:
        raise ParquetFooterError(f"{source.size} bytes is too short for Parquet")
    start = max(0, source.size - TAIL_BYTES)
    tail = source.read_range(start, source.size - 1)
    if tail[-4:] == b"PARE":
        raise ParquetFooterError("the Parquet footer is encrypted")
    if tail[-4:] != b"PAR1":
        raise ParquetFooterError("no Parquet magic bytes at the end of the file")
    (length,) = struct.unpack("<I", tail[-8:-4])
    if length > source.size - 12:
        raise ParquetFooterError(f"footer length {length} does not fit in {source.size} bytes")
    if length > MAX_FOOTER_BYTES:
        raise ParquetFooterError(f"footer of {length} bytes is over {MAX_FOOTER_BYTES}")
    if length + 8 <= len(tail):
        return tail[-8 - length:-8]
    footer_start = source.size - 8 - length
    return source.read_range(footer_start, start - 1) + tail[:-8]


def parse_file_metadata(footer: bytes) -> dict[str, Any]:
    """Schema elements, row and row-group counts and writer of a ``FileMetaData``.

    Returns:
        ``{"schema": [element dicts], "num_rows", "num_row_groups", "created_by",
        "key_value_keys"}``.

    Raises:
        ParquetFooterError: the bytes are not a ``FileMetaData`` struct.
    """
    reader = CompactReader(footer)
    out: dict[str, Any] = {"schema": [], "num_rows": None, "num_row_groups": 0,
                           "created_by": None, "key_value_keys": []}
    try:
        for fid, ttype in reader.fields():
            if fid == 2 and ttype == LIST:
                out["schema"] = reader.value(LIST, 0, _ELEMENT_FIELDS)
            elif fid == 3 and ttype in (I32, I64):
                out["num_rows"] = reader.zigzag()
            elif fid == 4 and ttype == LIST:
                out["num_row_groups"] = reader.count_list()
            elif fid == 5 and ttype == LIST:
                out["key_value_keys"] = [kv.get(1, b"").decode("utf-8", "replace")
                                         for kv in reader.value(LIST, 0, {1: None})]
            elif fid == 6 and ttype == BINARY:
                out["created_by"] = reader.binary().decode("utf-8", "replace")
            else:
                reader.skip(ttype)
    except (ThriftError, AttributeError, UnicodeDecodeError) as exc:
        raise ParquetFooterError(f"unreadable Parquet footer: {exc}") from exc
    if not out["schema"] or out["num_rows"] is None:
        raise ParquetFooterError("the Parquet footer lacks a schema or a row count")
    return out


def _name(element: dict[int, Any]) -> str:
    raw = element.get(4, b"")
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _logical(logical: dict[int, Any], element: dict[int, Any]) -> str | None:
    if 1 in logical:
        return "string"
    if 5 in logical:
        return f"decimal128({element.get(8, '?')}, {element.get(7, 0)})"
    if 6 in logical:
        return "date32"
    if 7 in logical or 8 in logical:
        spec = logical.get(7) or logical.get(8) or {}
        unit = _UNITS.get(next(iter(spec.get(2) or {1: None})), "?")
        if 7 in logical:
            return f"time{32 if unit == 'ms' else 64}[{unit}]"
        return f"timestamp[{unit}, tz=UTC]" if spec.get(1) else f"timestamp[{unit}]"
    if 10 in logical:
        spec = logical[10]
        return f"{'int' if spec.get(2) else 'uint'}{spec.get(1, 64)}"
    if 12 in logical:
        return "json"
    if 14 in logical:
        return "uuid"
    if 15 in logical:
        return "halffloat"
    return None


def _leaf_type(element: dict[int, Any]) -> str:
    logical = element.get(10)
    if isinstance(logical, dict):
        name = _logical(logical, element)
        if name:
            return name
    converted = element.get(6)
    if converted == 5:
        return f"decimal128({element.get(8, '?')}, {element.get(7, 0)})"
    if converted in _CONVERTED:
        return _CONVERTED[converted]
    physical = _PHYSICAL.get(element.get(1), "unknown")
    if physical == "fixed_size_binary":
        return f"fixed_size_binary[{element.get(2, '?')}]"
    return physical


def _types(schema: list[dict[int, Any]]) -> list[tuple[str, str]]:
    """(name, type) of the root's children, walking the depth-first element list."""
    pos = [1]

    def node(depth: int) -> tuple[str, str]:
        if pos[0] >= len(schema) or depth > 64:
            raise ParquetFooterError("the Parquet schema is cut short")
        element = schema[pos[0]]
        pos[0] += 1
        children = [node(depth + 1) for _ in range(int(element.get(5) or 0))]
        name = _name(element)
        if 1 in element or not children:
            return name, _leaf_type(element)
        logical = element.get(10) if isinstance(element.get(10), dict) else {}
        if element.get(6) == 3 or 3 in logical:  # LIST: group > repeated group > element
            inner = children[0][1]
            if inner.startswith("struct<") and inner.count(":") == 1:
                inner = inner[len("struct<"):-1].split(": ", 1)[1]
            return name, f"list<{inner}>"
        if element.get(6) in (1, 2) or 2 in logical:
            return name, "map"
        return name, "struct<" + ", ".join(f"{n}: {t}" for n, t in children) + ">"

    root_children = int(schema[0].get(5) or 0)
    return [node(1) for _ in range(root_children)]


def extract_parquet(source: ObjectSource, limits: ExtractLimits) -> Extraction:
    """Schema and counts of a Parquet object, from its footer.

    Returns:
        ``ok`` (``truncated`` past ``max_chars``); ``encrypted`` for an encrypted
        footer; ``corrupt`` when the footer cannot be read.

    Raises:
        SourceError: reading the object failed (the caller maps it).
    """
    try:
        meta = parse_file_metadata(read_footer(source))
        columns = _types(meta["schema"])
    except ParquetFooterError as exc:
        status = Status.ENCRYPTED if "encrypted" in str(exc) else Status.CORRUPT
        return failed("parquet", status, str(exc)[:500], content_type=source.content_type)
    metadata: dict[str, Any] = {
        "columns": [n[:MAX_NAME_CHARS] for n, _ in columns][:MAX_COLUMNS_IN_METADATA],
        "num_columns": len(columns),
        "num_rows": meta["num_rows"],
        "rows": meta["num_rows"],
        "num_row_groups": meta["num_row_groups"],
        "created_by": (meta["created_by"] or "")[:256],
    }
    if meta["created_by"]:
        metadata["producer"] = metadata["created_by"]
    lines = [f"{name}: {kind}" for name, kind in columns]
    return finish("parquet", "\n".join(lines), limits, content_type=source.content_type,
                  metadata=metadata)
