"""CSV and TSV: the header and the leading rows of a bounded prefix.

The delimiter is a tab for TSV; for CSV it is sniffed among ``, ; | tab`` from
the first 64 KB (a comma when the sniffer cannot tell). The header's column
names go to the metadata. A file the csv module refuses (a field over its size
limit, a NUL byte) is indexed as plain text.
"""

from __future__ import annotations

import csv
import io
import itertools

from indexer.extract._model import Extraction, ExtractLimits, finish
from indexer.extract._text import decode, drop_partial_line, extract_text, read_prefix
from indexer.source import ObjectSource

MAX_COLUMNS_IN_METADATA = 1_000
MAX_NAME_CHARS = 256
_SNIFF_BYTES = 64 * 1024


def _delimiter(sample: str, tsv: bool) -> str:
    if tsv:
        return "\t"
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;|\t").delimiter
    except csv.Error:
        return ","


def extract_table(source: ObjectSource, limits: ExtractLimits, *, tsv: bool = False) -> Extraction:
    """Header and the first ``limits.table_rows`` rows of a CSV or TSV object.

    Returns:
        ``ok``; ``truncated`` when the prefix, the row bound or ``max_chars`` was hit.
    """
    name = "tsv" if tsv else "csv"
    data, more = read_prefix(source, limits.text_prefix_bytes)
    if more:
        data = drop_partial_line(data)
    text, encoding = decode(data, complete=not more)
    delimiter = _delimiter(text[:_SNIFF_BYTES], tsv)
    lines: list[str] = []
    header: list[str] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = list(itertools.islice(reader, limits.table_rows + 2))
    except csv.Error as exc:
        fallback = extract_text(source, limits)
        return finish("text", fallback.text, limits, truncated=fallback.truncated,
                      error=f"not parsed as {name} ({exc}); indexed as text",
                      content_type=source.content_type, metadata=fallback.metadata)
    if rows:
        header = rows[0]
    cut_rows = len(rows) > limits.table_rows + 1
    for row in rows[: limits.table_rows + 1]:
        lines.append("\t".join(cell.strip() for cell in row))
    truncated = more or cut_rows
    error = None
    if cut_rows:
        error = f"indexed the header and table_rows={limits.table_rows} rows"
    elif more:
        error = f"read the first text_prefix_bytes={limits.text_prefix_bytes}"
    metadata = {
        "columns": [c.strip()[:MAX_NAME_CHARS] for c in header[:MAX_COLUMNS_IN_METADATA]],
        "delimiter": delimiter,
        "rows_indexed": max(0, min(len(rows), limits.table_rows + 1) - 1),
        "encoding": encoding,
    }
    if not truncated:  # the whole table was read: its row count is known
        metadata["rows"] = metadata["rows_indexed"]
    return finish(name, "\n".join(lines), limits, truncated=truncated, error=error,
                  content_type=source.content_type, metadata=metadata)
