"""Document metadata: what extraction learns about a file, as typed, declared fields.

Extractors produce a small dict (title, authors, pages, columns ...); only the
fields declared in :data:`DOC_FIELDS` reach the index, each with one type, under
the document's ``doc`` object (``doc.pages``, ``doc.language`` ...). The mapping,
the document builder, the query model (``SearchQuery.doc``) and the hit all read
this table, so adding a field is one :class:`DocField` entry (and a mapping
version bump).

Queries: ``{"pages": {"gte": 20}, "language": "fr", "columns": "temperature",
"authors": {"exists": True}}``: a value matches exactly (any element of a list
field), operators are ``eq``, ``in``, ``exists`` and, on numbers and dates,
``gt``/``gte``/``lt``/``lte``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from t4index.dates import to_es_date
from t4index.errors import QueryError
from t4index.filters import in_values

__all__ = ["DOC_FIELDS", "DocField", "clean", "doc_clauses", "mapping_properties"]

Kind = Literal["keyword", "keywords", "title", "integer", "integers", "date"]
MAX_VALUE_CHARS = 1_000
"""A string value is cut to this many characters (titles, subjects, addresses)."""
MAX_LIST_ITEMS = 200
"""A list field (authors, columns, recipients) keeps this many values at most."""
_INT_LIMIT = 2**63 - 1


@dataclass(frozen=True)
class DocField:
    """One extracted metadata field: its name under ``doc``, its type, what it means.

    Kinds: ``keyword`` (one exact string), ``keywords`` (a list of them),
    ``title`` (a string also searchable word by word in ``doc.<name>.text``),
    ``integer`` (a whole number >= 0), ``integers`` (a list of them), ``date``.
    """

    name: str
    kind: Kind
    help: str


DOC_FIELDS: tuple[DocField, ...] = (
    DocField("title", "title", "the title the file declares (PDF, Office, HTML, EPUB; "
             "an e-mail's subject)"),
    DocField("authors", "keywords", "authors or creators the file declares"),
    DocField("subject", "title", "a declared subject or description"),
    DocField("created", "date", "when the file says it was created"),
    DocField("modified", "date", "when the file says it was last modified"),
    DocField("pages", "integer", "pages (PDF, Word) or slides (PowerPoint)"),
    DocField("language", "keyword", "the language of the text (ISO 639-1, e.g. en, fr), "
             "detected from the text or declared by the file"),
    DocField("detected_type", "keyword", "the content type detected from the bytes "
             "(which may differ from the one S3 stores)"),
    DocField("producer", "keyword", "the application that wrote the file"),
    DocField("encoding", "keyword", "the character encoding a text file was decoded from"),
    DocField("columns", "keywords", "column names of a table (CSV, TSV, Parquet)"),
    DocField("rows", "integer", "rows of a table (Parquet: all; CSV/TSV: when read whole)"),
    DocField("kernel", "keyword", "a notebook's kernel (python3, ir ...)"),
    DocField("kernel_language", "keyword", "a notebook's programming language"),
    DocField("from", "keyword", "an e-mail's sender"),
    DocField("to", "keywords", "an e-mail's recipients"),
    DocField("width", "integer", "an image's width in pixels"),
    DocField("height", "integer", "an image's height in pixels"),
    DocField("embedded", "integer", "documents embedded in this one (attachments, images)"),
    DocField("dtype", "keyword", "a NumPy array's element type"),
    DocField("shape", "integers", "a NumPy array's shape"),
)
"""Every document metadata field, in the order the docs list them."""
BY_NAME: dict[str, DocField] = {fld.name: fld for fld in DOC_FIELDS}
_SPACE = re.compile(r"\s+")


def mapping_properties() -> dict[str, Any]:
    """The mapping of the ``doc`` object's properties (keywords, integers, dates).

    Returns:
        A fresh dict.
    """
    types: dict[str, dict[str, Any]] = {
        "keyword": {"type": "keyword", "ignore_above": MAX_VALUE_CHARS},
        "keywords": {"type": "keyword", "ignore_above": MAX_VALUE_CHARS},
        "title": {"type": "keyword", "ignore_above": MAX_VALUE_CHARS,
                  "fields": {"text": {"type": "text"}}},
        "integer": {"type": "long"},
        "integers": {"type": "long"},
        "date": {"type": "date"},
    }
    return {fld.name: dict(types[fld.kind]) for fld in DOC_FIELDS}


def text_fields() -> list[str]:
    """Analysed sub-fields of ``doc`` that full-text search reads (``doc.title.text`` ...)."""
    return [f"doc.{fld.name}.text" for fld in DOC_FIELDS if fld.kind == "title"]


# --- values -------------------------------------------------------------------------------

def _string(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list | tuple):
        return None
    text = _SPACE.sub(" ", str(value).replace("\x00", "")).strip()
    return text[:MAX_VALUE_CHARS] or None


def _language(tag: str) -> str | None:
    """The primary subtag of a language tag, lower case (``en-GB`` -> ``en``)."""
    primary = re.split(r"[-_ ]", tag.strip(), maxsplit=1)[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and 0 <= value < _INT_LIMIT else None
    if isinstance(value, int):
        return value if 0 <= value < _INT_LIMIT else None
    match = re.match(r"\s*(\d{1,18})\b", str(value))
    return int(match.group(1)) if match else None


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def clean(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The declared fields of ``raw`` with values of their type (pure).

    Strings are trimmed, whitespace-collapsed and cut to ``MAX_VALUE_CHARS``; lists
    keep ``MAX_LIST_ITEMS`` distinct values; integers parse from text (``"12 pages"``);
    dates become ISO 8601 UTC. Undeclared names and values that do not fit their
    type are left out: extracted metadata never fails a document.

    Returns:
        ``{name: value}`` (empty when nothing fits).
    """
    out: dict[str, Any] = {}
    for name, value in (raw or {}).items():
        fld = BY_NAME.get(name)
        if fld is None or value is None:
            continue
        kept: Any = None
        if fld.kind in ("keyword", "title"):
            kept = _string(value[0] if isinstance(value, list | tuple) and value else value)
            if kept and name == "language":
                kept = _language(kept)
        elif fld.kind == "keywords":
            items = [s for s in (_string(v) for v in _as_list(value)) if s]
            kept = list(dict.fromkeys(items))[:MAX_LIST_ITEMS] or None
        elif fld.kind == "integer":
            kept = _integer(value[0] if isinstance(value, list | tuple) and value else value)
        elif fld.kind == "integers":
            numbers = [_integer(v) for v in _as_list(value)]
            kept = numbers[:MAX_LIST_ITEMS] if numbers and None not in numbers else None
        elif fld.kind == "date":
            first = value[0] if isinstance(value, list | tuple) and value else value
            kept = to_es_date(first) if isinstance(first, str | datetime | date) else None
        if kept is not None:
            out[name] = kept
    return out


# --- queries ------------------------------------------------------------------------------

Clause = dict[str, Any]
_RANGES = ("gt", "gte", "lt", "lte")
OPERATORS = ("eq", "in", "exists", *_RANGES)


def _field(name: str) -> DocField:
    fld = BY_NAME.get(name) if isinstance(name, str) else None
    if fld is None:
        raise QueryError(f"doc: unknown field {name!r}; the document metadata fields are "
                         f"{', '.join(BY_NAME)}")
    return fld


def _value(fld: DocField, value: Any) -> Any:
    if fld.kind in ("integer", "integers"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise QueryError(f"doc {fld.name!r} holds whole numbers, got {value!r}")
        return value
    if fld.kind == "date":
        iso = to_es_date(value) if isinstance(value, str | datetime | date) else None
        if iso is None:
            raise QueryError(f"doc {fld.name!r} holds dates: pass a datetime, a date or an "
                             f"ISO 8601 string, got {value!r}")
        return iso
    if not isinstance(value, str) or not value:
        raise QueryError(f"doc {fld.name!r} holds strings, got {value!r}")
    if len(value) > MAX_VALUE_CHARS:
        raise QueryError(f"doc {fld.name!r}: values are kept up to {MAX_VALUE_CHARS} "
                         f"characters (got {len(value)})")
    return value


def _clause(fld: DocField, spec: Any) -> tuple[Clause, bool]:
    path = f"doc.{fld.name}"
    if not isinstance(spec, Mapping):
        if isinstance(spec, list | tuple | set):
            raise QueryError(f"doc {fld.name!r}: a list is ambiguous; write "
                             f"{{'{fld.name}': {{'in': [...]}}}} to match any of the values")
        return {"term": {path: _value(fld, spec)}}, False
    if not spec:
        raise QueryError(f"doc {fld.name!r}: empty operator dict")
    unknown = [op for op in spec if op not in OPERATORS]
    if unknown:
        raise QueryError(f"doc {fld.name!r}: unknown operator {unknown[0]!r} "
                         f"(operators: {', '.join(OPERATORS)})")
    for alone in ("exists", "eq", "in"):
        if alone in spec and len(spec) > 1:
            raise QueryError(f"doc {fld.name!r}: {alone!r} cannot be combined with other "
                             f"operators, got {sorted(spec)}")
    if "exists" in spec:
        if not isinstance(spec["exists"], bool):
            raise QueryError(f"doc {fld.name!r}: 'exists' takes True or False, "
                             f"got {spec['exists']!r}")
        return {"exists": {"field": path}}, not spec["exists"]
    if "eq" in spec:
        return {"term": {path: _value(fld, spec["eq"])}}, False
    if "in" in spec:
        values = in_values(f"doc {fld.name!r}", spec["in"])
        return {"terms": {path: [_value(fld, v) for v in values]}}, False
    if fld.kind not in ("integer", "integers", "date"):
        raise QueryError(f"doc {fld.name!r} holds strings: ranges work on numbers and dates "
                         "(pages, rows, width, height, embedded, created, modified)")
    return {"range": {path: {op: _value(fld, bound) for op, bound in spec.items()}}}, False


def doc_clauses(doc: Mapping[str, Any]) -> tuple[list[Clause], list[Clause]]:
    """Translate a document metadata predicate dict (see the module's docstring).

    Returns:
        ``(filters, must_not)`` clauses on the ``doc.*`` fields.
    Raises:
        QueryError: an unknown field or operator, a value of the wrong type, a range
            on a string field.
    """
    if not isinstance(doc, Mapping):
        raise QueryError(f"doc must be a dict of field -> value or operators, got {doc!r}")
    filters: list[Clause] = []
    must_not: list[Clause] = []
    for name, spec in doc.items():
        clause, negate = _clause(_field(name), spec)
        (must_not if negate else filters).append(clause)
    return filters, must_not
