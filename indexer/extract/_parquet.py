"""Parquet: the schema, read from the file's footer by ranged reads (never the data pages).

pyarrow reads the footer through a :class:`RangedFile`, so a Parquet object of
any size costs two or three small ranged GETs. Indexed text: one line per column,
``name: type``. Metadata: column names, row and row-group counts, the writer.
"""

from __future__ import annotations

from typing import Any

from indexer.extract._model import Extraction, ExtractLimits, Status, failed, finish
from indexer.extract._ranged import RangedFile
from indexer.source import ObjectSource, SourceError

MAX_COLUMNS_IN_METADATA = 1_000
MAX_NAME_CHARS = 256


def extract_parquet(source: ObjectSource, limits: ExtractLimits) -> Extraction:
    """Schema and counts of a Parquet object.

    Returns:
        ``ok`` (``truncated`` past ``max_chars``); ``corrupt`` when pyarrow
        refuses the footer; ``unsupported`` when pyarrow is not installed.

    Raises:
        SourceError: reading the object failed (the caller maps it).
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return failed("parquet", Status.UNSUPPORTED,
                      "pyarrow is not installed (pip install 't4-search[data]')")
    raw = RangedFile(source)
    try:
        meta = pq.ParquetFile(raw).metadata
        schema = meta.schema.to_arrow_schema()
    except SourceError:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError ... for bad footers
        cause = exc.__context__
        if isinstance(cause, SourceError):
            raise cause from exc
        return failed("parquet", Status.CORRUPT, f"not a readable Parquet footer: {exc}"[:500],
                      content_type=source.content_type)
    lines = [f"{field.name}: {field.type}" for field in schema]
    metadata: dict[str, Any] = {
        "columns": [f.name[:MAX_NAME_CHARS] for f in schema][:MAX_COLUMNS_IN_METADATA],
        "num_columns": len(schema),
        "num_rows": meta.num_rows,
        "num_row_groups": meta.num_row_groups,
        "created_by": (meta.created_by or "")[:256],
        "footer_bytes_read": raw.bytes_read,
    }
    return finish("parquet", "\n".join(lines), limits, content_type=source.content_type,
                  metadata=metadata)
