"""Metadata predicates -> Elasticsearch clauses (used by ``t4index.query``).

A metadata dict maps a dotted path to either a value (exact match) or an
operator dict. Nested dicts are not paths: ``{"a": {"b": 1}}`` is an error
whose message says to write ``{"a.b": 1}``.

Values: None, bool, int, float and ``Decimal`` (finite: a stored NaN or infinity is
the string ``"NaN"`` / ``"Infinity"``), str, datetime and date. Anything else is a
``QueryError``, as is a path longer than the index keeps (``KEYWORD_IGNORE_ABOVE``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from t4index import fields as f
from t4index.dates import to_es_date
from t4index.errors import QueryError
from t4index.filters import in_values, prefix_clause
from t4index.mapping import KEYWORD_IGNORE_ABOVE

RANGE_OPERATORS = ("gt", "gte", "lt", "lte")
OPERATORS = ("eq", "in", "exists", *RANGE_OPERATORS)

Clause = dict[str, Any]


def meta_clauses(meta: Mapping[str, Any]) -> tuple[list[Clause], list[Clause]]:
    """Translate a user-metadata predicate dict.

    Returns:
        ``(filters, must_not)`` clauses, each a ``nested`` query on ``meta_pairs``.
    Raises:
        QueryError: bad path, unknown operator, wrong value type.
    """
    if not isinstance(meta, Mapping):
        raise QueryError(f"meta must be a dict of path -> value or operators, got {meta!r}")
    filters: list[Clause] = []
    must_not: list[Clause] = []
    for path, spec in meta.items():
        if not isinstance(path, str) or not path:
            raise QueryError(f"metadata path must be a non-empty string, got {path!r}")
        if len(path) > KEYWORD_IGNORE_ABOVE:
            raise QueryError(f"metadata path {path[:40]!r}... is {len(path)} characters; the "
                             f"index keeps paths of at most {KEYWORD_IGNORE_ABOVE}")
        if isinstance(spec, Mapping):
            clause, negate = _operators(path, spec)
            (must_not if negate else filters).append(clause)
        elif isinstance(spec, list | tuple | set):
            raise QueryError(
                f"metadata path {path!r}: a list is ambiguous; "
                f"write {{{path!r}: {{'in': [...]}}}} to match any of the values"
            )
        else:
            filters.append(_nested(path, _value(path, spec)))
    return filters, must_not


def _nested(path: str, value_clause: Clause | None) -> Clause:
    inner: list[Clause] = [{"term": {f.META_PATH: path}}]
    if value_clause is not None:
        inner.append(value_clause)
    return {"nested": {"path": f.META_PAIRS, "query": {"bool": {"filter": inner}}}}


def _operators(path: str, spec: Mapping[str, Any]) -> tuple[Clause, bool]:
    if not spec:
        raise QueryError(f"metadata path {path!r}: empty operator dict")
    unknown = [op for op in spec if op not in OPERATORS]
    if unknown:
        raise QueryError(
            f"metadata path {path!r}: unknown operator {unknown[0]!r} (operators: "
            f"{', '.join(OPERATORS)}); to match a nested key write the dotted path, "
            f"e.g. {{{f'{path}.{unknown[0]}'!r}: ...}}"
        )
    for alone in ("exists", "eq", "in"):
        if alone in spec and len(spec) > 1:
            raise QueryError(f"metadata path {path!r}: {alone!r} cannot be combined with "
                             f"other operators, got {sorted(spec)}")
    if "exists" in spec:
        flag = spec["exists"]
        if not isinstance(flag, bool):
            raise QueryError(f"metadata path {path!r}: 'exists' takes True or False, got {flag!r}")
        under = {"bool": {"should": [{"term": {f.META_PATH: path}},
                                     prefix_clause(f.META_PATH, path + ".")],
                          "minimum_should_match": 1}}
        clause = {"nested": {"path": f.META_PAIRS, "query": under}}
        return clause, not flag
    if "eq" in spec:
        return _nested(path, _value(path, spec["eq"])), False
    if "in" in spec:
        values = in_values(f"metadata path {path!r}", spec["in"])
        any_of = {"bool": {"should": [_value(path, v) for v in values], "minimum_should_match": 1}}
        return _nested(path, any_of), False
    return _nested(path, _range(path, spec)), False


def _value(path: str, value: Any) -> Clause:
    """The clause matching one pair value exactly (typed: 3 does not match "3")."""
    if value is None:
        return {"term": {f.META_TYPE: "null"}}
    if isinstance(value, bool):
        return {"term": {f.META_BOOL: value}}
    if isinstance(value, int | float | Decimal):
        if not _finite(value):
            raise QueryError(f"metadata path {path!r}: {value!r} is not a number a query can "
                             "match; a stored NaN or infinity is the string 'NaN', 'Infinity' "
                             "or '-Infinity': match that string")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isfinite(number):
            return {"term": {f.META_NUM: number}}
        if isinstance(value, int):
            return {"term": {f.META_STR: str(value)}}
        raise QueryError(f"metadata path {path!r}: {value!r} is beyond a double's range")
    if isinstance(value, datetime | date):
        iso = to_es_date(value)
        if iso is None:
            raise QueryError(f"metadata path {path!r}: {value!r} is not a date the index holds")
        return {"term": {f.META_DATE: iso}}
    if isinstance(value, str):
        if len(value) > KEYWORD_IGNORE_ABOVE:
            raise QueryError(f"metadata path {path!r}: exact match works on strings of at most "
                             f"{KEYWORD_IGNORE_ABOVE} characters (got {len(value)})")
        return {"term": {f.META_STR: value}}
    raise QueryError(f"metadata path {path!r}: cannot match a value of type "
                     f"{type(value).__name__} ({value!r}); use str, int, float, Decimal, "
                     "bool, None, datetime, date or an operator dict")


def _finite(number: int | float | Decimal) -> bool:
    if isinstance(number, Decimal):
        return number.is_finite()
    return isinstance(number, int) or math.isfinite(number)


def _range(path: str, spec: Mapping[str, Any]) -> Clause:
    """A range on ``num`` (number bounds), ``date`` (dates) or ``str`` (other strings)."""
    kinds = set()
    bounds: dict[str, Any] = {}
    for op, bound in spec.items():
        if isinstance(bound, bool) or bound is None:
            kinds.add("invalid")
        elif isinstance(bound, int | float | Decimal):
            if not _finite(bound):
                raise QueryError(f"metadata path {path!r}: {op!r} bound must be finite")
            kinds.add("num")
            try:
                bounds[op] = float(bound)
            except OverflowError:
                raise QueryError(f"metadata path {path!r}: {op!r} bound is beyond a double's "
                                 "range") from None
        elif isinstance(bound, datetime | date) or (
            isinstance(bound, str) and to_es_date(bound) is not None
        ):
            kinds.add("date")
            bounds[op] = to_es_date(bound)
            if bounds[op] is None:
                raise QueryError(f"metadata path {path!r}: {op!r} bound {bound!r} is not a "
                                 "date the index holds")
        elif isinstance(bound, str):
            kinds.add("str")
            bounds[op] = bound
        else:
            kinds.add("invalid")
        if "invalid" in kinds:
            raise QueryError(f"metadata path {path!r}: {op!r} bound must be a number, a date "
                             f"or a string, got {bound!r}")
    if len(kinds) != 1:
        raise QueryError(f"metadata path {path!r}: range bounds mix numbers, dates and "
                         f"strings: {dict(spec)!r}")
    field = {"num": f.META_NUM, "date": f.META_DATE, "str": f.META_STR}[kinds.pop()]
    return {"range": {field: bounds}}


def amz_meta_clauses(amz_meta: Mapping[str, Any], *, field: str = f.AMZ_META_KV,
                     what: str = "amz_meta") -> tuple[list[Clause], list[Clause]]:
    """Translate a plain ``x-amz-meta-*`` predicate dict (exact string or exists).

    With ``field=tags_kv, what="tags"`` it translates object tag predicates (tag
    keys are case sensitive; metadata names are lower-cased as S3 stores them).

    Returns:
        ``(filters, must_not)`` clauses on ``field``.
    Raises:
        QueryError: a name that is not a string, or a value that is not a string
            or ``{"exists": bool}``.
    """
    if not isinstance(amz_meta, Mapping):
        raise QueryError(f"{what} must be a dict of name -> value, got {amz_meta!r}")
    filters: list[Clause] = []
    must_not: list[Clause] = []
    for name, spec in amz_meta.items():
        if not isinstance(name, str) or not name or "=" in name:
            raise QueryError(f"{what} name must be a non-empty string without '=', got {name!r}")
        if what == "amz_meta":
            name = name.lower().removeprefix("x-amz-meta-")
        if isinstance(spec, str):
            filters.append({"term": {field: f"{name}={spec}"}})
        elif isinstance(spec, Mapping) and list(spec) == ["exists"] and isinstance(
            spec["exists"], bool
        ):
            clause = prefix_clause(field, f"{name}=")
            (filters if spec["exists"] else must_not).append(clause)
        else:
            raise QueryError(f"{what} {name!r}: expected a string or {{'exists': bool}}, "
                             f"got {spec!r}")
    return filters, must_not
