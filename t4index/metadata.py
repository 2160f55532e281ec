"""User metadata of any JSON shape, flattened into typed path/value pairs.

Each leaf becomes one pair ``{"path", "type", and one or more of "str", "num",
"bool", "date"}`` stored in a ``nested`` field, so the same path may hold a
number in one document and an object in the next without a mapping conflict,
and a pair's path and value always match together.

- Paths join object keys with ``.``; list elements keep their parent's path
  (``{"tags": ["a", "b"]}`` gives two pairs with path ``tags``). A key holding
  a dot and a nested key are therefore the same path.
- Strings get ``str`` (exact match, when at most 1,024 characters) and, when
  they read as ISO 8601 dates, also ``date``.
- Numbers get ``num`` (a double). NaN, infinities and integers beyond a double's
  range get no ``num`` but ``str`` (``"NaN"``, ``"Infinity"``, the digits) instead.
- ``null``, ``{}`` and ``[]`` give a pair with only a type, so existence works.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from t4index import fields as f
from t4index.dates import to_es_date
from t4index.mapping import KEYWORD_IGNORE_ABOVE

MAX_META_PAIRS = 5_000
"""Leaves indexed per document (a pair is a nested document; the limit is 10,000)."""
MAX_META_DEPTH = 32
"""Deeper values are kept as their JSON text at the path where the limit is hit."""
MAX_META_TEXT_CHARS = 65_536


@dataclass
class FlatMetadata:
    """The result of ``flatten_metadata``.

    Attributes:
        pairs: the typed pairs (dicts ready for the ``meta_pairs`` field).
        stored: a JSON-safe copy of the input for ``_source`` (non-finite numbers
            as strings, non-string keys as strings, dates as ISO strings).
        text: paths and values as one string for full-text search (bounded).
        truncated: more leaves than ``MAX_META_PAIRS``; the rest are not indexed.
    """

    pairs: list[dict[str, Any]] = field(default_factory=list)
    stored: Any = None
    text: str = ""
    truncated: bool = False


def flatten_metadata(meta: Any) -> FlatMetadata:
    """Flatten arbitrary JSON-like metadata into typed pairs; never raises on content.

    Returns:
        A ``FlatMetadata``; ``meta=None`` gives no pairs and ``stored=None``.
    """
    out = FlatMetadata()
    if meta is None:
        return out
    text_parts: list[str] = []
    out.stored = _walk(meta, "", 0, out, text_parts)
    out.text = " ".join(text_parts)[:MAX_META_TEXT_CHARS]
    return out


def clean_string(text: str) -> str:
    """Replace lone surrogates (which no JSON parser accepts) with ``?``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _add(out: FlatMetadata, text_parts: list[str], pair: dict[str, Any], words: str) -> None:
    if len(out.pairs) >= MAX_META_PAIRS:
        out.truncated = True
        return
    out.pairs.append(pair)
    if sum(map(len, text_parts)) < MAX_META_TEXT_CHARS:
        text_parts.append(words)


def _walk(value: Any, path: str, depth: int, out: FlatMetadata, text_parts: list[str]) -> Any:
    if depth > MAX_META_DEPTH and isinstance(value, Mapping | list | tuple | set | frozenset):
        value = _json_text(value)
    if isinstance(value, Mapping):
        if not value:
            _add(out, text_parts, {f.PAIR_PATH: path, f.PAIR_TYPE: "object"}, path)
        stored = {}
        for raw_key, child in value.items():
            key = clean_string(str(raw_key))
            child_path = f"{path}.{key}" if path else key
            stored[key] = _walk(child, child_path, depth + 1, out, text_parts)
        return stored
    if isinstance(value, list | tuple | set | frozenset):
        if not value:
            _add(out, text_parts, {f.PAIR_PATH: path, f.PAIR_TYPE: "array"}, path)
        return [_walk(child, path, depth + 1, out, text_parts) for child in value]
    pair, stored = _leaf(value)
    pair[f.PAIR_PATH] = path
    shown = pair.get(f.PAIR_STR, stored if isinstance(stored, str) else json.dumps(stored))
    _add(out, text_parts, pair, f"{path} {shown}")
    return stored


def _leaf(value: Any) -> tuple[dict[str, Any], Any]:
    """The pair (without path) and the JSON-safe stored value of one leaf."""
    if value is None:
        return {f.PAIR_TYPE: "null"}, None
    if isinstance(value, bool):
        return {f.PAIR_TYPE: "boolean", f.PAIR_BOOL: value}, value
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, datetime | date):
        iso = value.isoformat()
        return {f.PAIR_TYPE: "string", f.PAIR_STR: iso, f.PAIR_DATE: to_es_date(value)}, iso
    text = clean_string(value if isinstance(value, str) else str(value))
    pair: dict[str, Any] = {f.PAIR_TYPE: "string"}
    if len(text) <= KEYWORD_IGNORE_ABOVE:
        pair[f.PAIR_STR] = text
    as_date = to_es_date(text)
    if as_date is not None:
        pair[f.PAIR_DATE] = as_date
    return pair, text


def _number(value: int | float | Decimal) -> tuple[dict[str, Any], Any]:
    pair: dict[str, Any] = {f.PAIR_TYPE: "number"}
    try:
        as_float = float(value)
    except OverflowError:
        as_float = math.inf
    if math.isfinite(as_float):
        pair[f.PAIR_NUM] = as_float
        stored: Any = value if isinstance(value, int) else as_float
        return pair, stored
    if isinstance(value, int) or (isinstance(value, Decimal) and value.is_finite()):
        digits = _int_text(int(value))
        pair[f.PAIR_STR] = digits
        return pair, int(value) if digits[0] != "<" else digits
    name = "NaN" if math.isnan(as_float) else ("Infinity" if as_float > 0 else "-Infinity")
    pair[f.PAIR_STR] = name
    return pair, name


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # beyond sys.get_int_max_str_digits()
        return f"<integer of {value.bit_length()} bits>"


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, default=str, allow_nan=True)
    except (RecursionError, ValueError, TypeError):
        return f"<value nested deeper than {MAX_META_DEPTH} levels>"
