"""The filterable document fields, declared once.

Each :class:`Filter` names a ``SearchQuery`` attribute (also its name in the
search API's JSON), the keyword ``Bucket.search`` takes it by, the command-line
option of ``t4 search``, the index field it filters and how (its ``kind``).
The query model builds the filter clauses from this table, the search API's
request schema and the client's wire encoding are derived from it, and so are
``Bucket.search``'s keyword arguments and ``t4 search``'s options.

Adding a filterable field: add the field to the mapping and the document builder
(``t4index.mapping``, ``t4index.document``, and the value where documents are
built), an attribute of ``SearchQuery``, and one ``Filter`` here.

Kinds:

- ``terms``: any of a list of strings (normalised by ``normalize``; ``Bucket.search``
  and ``t4 search`` also take one string);
- ``term``: exactly this non-empty string;
- ``prefix``: strings starting with this one (case sensitive, any length);
- ``min`` / ``max``: an integer >= 0, inclusive bound;
- ``since`` / ``before``: a datetime, date or ISO 8601 string; ``>=`` / ``<``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from t4index import fields as f
from t4index import outcomes
from t4index.dates import to_es_date
from t4index.errors import QueryError
from t4index.s3 import normalize_extension

__all__ = ["FILTERS", "MAX_IN_VALUES", "MAX_PREFIX_QUERY_CHARS", "Filter", "by_keyword",
           "filter_clauses", "in_values", "prefix_clause"]

Kind = Literal["terms", "term", "prefix", "min", "max", "since", "before"]
MAX_TERMS = 100
"""Values a ``terms`` filter takes at most."""
MAX_IN_VALUES = 1_000
"""Values an ``in`` operator of a metadata predicate takes at most."""
MAX_PREFIX_QUERY_CHARS = 1_000
"""Elasticsearch's default ``index.max_regex_length``: longer prefixes become a range."""
_TOP = "\U0010ffff"
_MAX_KEY_CHARS = 1_024


def _status(value: str) -> str:
    status = value.strip().lower()
    if status not in outcomes.ALL:
        raise QueryError(f"status {value!r} is not an extraction outcome; the outcomes are "
                         f"{', '.join(sorted(outcomes.ALL))}")
    return status


@dataclass(frozen=True)
class Filter:
    """One filterable field: where it lives on each side and what values it takes."""

    name: str
    """The ``SearchQuery`` attribute and the search API's JSON field."""
    keyword: str
    """``Bucket.search``'s keyword argument."""
    option: str
    """``t4 search``'s command-line option."""
    field: str
    """The index field."""
    kind: Kind
    help: str
    normalize: Callable[[str], str] | None = None

    @property
    def json_type(self) -> str:
        """The JSON type of the value on the wire: ``string``, ``integer`` or ``array``."""
        return {"terms": "array", "min": "integer", "max": "integer"}.get(self.kind, "string")


FILTERS: tuple[Filter, ...] = (
    Filter("extensions", "extensions", "--ext", f.EXTENSION, "terms",
           "any of these extensions (csv, .CSV, csv.gz)", normalize_extension),
    Filter("min_size", "min_size", "--min-size", f.SIZE, "min", "at least this many bytes"),
    Filter("max_size", "max_size", "--max-size", f.SIZE, "max", "at most this many bytes"),
    Filter("modified_since", "modified_since", "--modified-since", f.LAST_MODIFIED, "since",
           "last modified at or after (ISO 8601)"),
    Filter("modified_before", "modified_before", "--modified-before", f.LAST_MODIFIED,
           "before", "last modified before (ISO 8601)"),
    Filter("key", "key", "--key", f.KEY, "term", "exactly this key"),
    Filter("key_prefix", "prefix", "--prefix", f.KEY, "prefix", "keys starting with this"),
    Filter("content_type", "content_type", "--content-type", f.CONTENT_TYPE, "term",
           "exactly this content type (as S3 stores it)"),
    Filter("meta_status", "meta_status", "--meta-status", f.META_STATUS, "term",
           "how the helium metadata read: none, ok or unreadable"),
    Filter("statuses", "status", "--status", f.EXTRACTION_STATUS, "terms",
           "any of these extraction outcomes (ok, truncated, unreadable ...)", _status),
    Filter("storage_class", "storage_class", "--storage-class", f.STORAGE_CLASS, "term",
           "exactly this S3 storage class (STANDARD, GLACIER ...)"),
)
"""Every filter, in the order the command line and the docs list them."""


def by_keyword() -> dict[str, Filter]:
    """The filters by ``Bucket.search`` keyword."""
    return {flt.keyword: flt for flt in FILTERS}


def prefix_clause(field: str, prefix: str) -> dict[str, Any]:
    """Values of keyword ``field`` starting with ``prefix``, whatever its length.

    Elasticsearch refuses a ``prefix`` query longer than ``index.max_regex_length``
    (1,000 by default) while S3 keys reach 1,024 bytes; a longer prefix becomes the
    equivalent range: from the prefix up to the prefix followed by the highest code
    point as many times as a key can still hold characters (UTF-8 byte order is code
    point order, so every such key lies between the two).
    """
    if len(prefix) <= MAX_PREFIX_QUERY_CHARS:
        return {"prefix": {field: prefix}}
    top = prefix + _TOP * max(1, _MAX_KEY_CHARS - len(prefix.encode()))
    return {"range": {field: {"gte": prefix, "lte": top}}}


def in_values(where: str, values: Any) -> list[Any]:
    """The values of an ``in`` operator, checked (``where`` names the predicate).

    Raises:
        QueryError: not a non-empty list, tuple or set, or more than ``MAX_IN_VALUES``.
    """
    if not isinstance(values, list | tuple | set) or not values:
        raise QueryError(f"{where}: 'in' takes a non-empty list, got {values!r}")
    if len(values) > MAX_IN_VALUES:
        raise QueryError(f"{where}: 'in' takes at most {MAX_IN_VALUES} values")
    return list(values)


def _string(flt: Filter, value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not empty):
        raise QueryError(f"{flt.name} must be a non-empty string, got {value!r}")
    return value


def _strings(flt: Filter, values: Any) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence | set | frozenset):
        raise QueryError(f"{flt.name} must be a list of strings, got {values!r}")
    out = []
    for value in values:
        if not isinstance(value, str):
            raise QueryError(f"{flt.name} must be strings, got {value!r}")
        out.append(flt.normalize(value) if flt.normalize else value)
    if not out:
        raise QueryError(f"{flt.name} is empty: pass None for any {flt.name}")
    if len(out) > MAX_TERMS:
        raise QueryError(f"{flt.name} has {len(out)} values; the limit is {MAX_TERMS}")
    return out


def _size(flt: Filter, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QueryError(f"{flt.name} must be an integer >= 0, got {value!r}")
    return value


def _date(flt: Filter, value: Any) -> str:
    iso = to_es_date(value) if isinstance(value, str | datetime | date) else None
    if iso is None:
        raise QueryError(f"{flt.name} must be a datetime or an ISO 8601 string, got {value!r}")
    return iso


_RANGE_OPS = {"min": ("gte", _size), "max": ("lte", _size),
              "since": ("gte", _date), "before": ("lt", _date)}


def filter_clauses(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The filter clauses of the declared filters set in ``values`` (name -> value).

    Returns:
        The clauses (ranges on one field merged).
    Raises:
        QueryError: a value of the wrong type, or bounds that exclude everything.
    """
    clauses: list[dict[str, Any]] = []
    ranges: dict[str, dict[str, Any]] = {}
    for flt in FILTERS:
        value = values.get(flt.name)
        if value is None:
            continue
        if flt.kind == "terms":
            clauses.append({"terms": {flt.field: _strings(flt, value)}})
        elif flt.kind == "term":
            clauses.append({"term": {flt.field: _string(flt, value)}})
        elif flt.kind == "prefix":
            prefix = _string(flt, value, empty=True)
            if prefix:
                clauses.append(prefix_clause(flt.field, prefix))
        else:
            op, check = _RANGE_OPS[flt.kind]
            ranges.setdefault(flt.field, {})[op] = check(flt, value)
    for field, bounds in ranges.items():
        low, high = bounds.get("gte"), bounds.get("lte")
        if low is not None and high is not None and low > high:
            names = [flt.name for flt in FILTERS if flt.field == field]
            raise QueryError(f"{names[0]} {low} is greater than {names[-1]} {high}")
        clauses.append({"range": {field: bounds}})
    return clauses
