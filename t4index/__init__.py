"""t4index: the one definition of t4-search's index, shared by ``t4`` and ``indexer``.

Names (``names``), document fields (``fields``), the mapping (``mapping``),
documents (``document``), the query model (``query``) and, with an injected
client, the index lifecycle (``lifecycle``). Everything but ``lifecycle`` is
pure and imports nothing beyond the standard library.
"""

from t4index.document import build_document, flatten_metadata, key_tokens
from t4index.errors import (
    DocumentError,
    IndexStateError,
    InvalidBucketName,
    PartialResultsError,
    QueryError,
    T4IndexError,
)
from t4index.mapping import MAPPING_VERSION, index_template
from t4index.names import ALIAS_PATTERN, TEMPLATE_NAME, alias_name, doc_id, index_name, index_part
from t4index.query import (
    Cursor,
    Facets,
    Hit,
    Partial,
    SearchPage,
    SearchQuery,
    build_search_body,
    parse_response,
)

__all__ = [
    "ALIAS_PATTERN",
    "MAPPING_VERSION",
    "TEMPLATE_NAME",
    "Cursor",
    "DocumentError",
    "Facets",
    "Hit",
    "IndexStateError",
    "InvalidBucketName",
    "Partial",
    "PartialResultsError",
    "QueryError",
    "SearchPage",
    "SearchQuery",
    "T4IndexError",
    "alias_name",
    "build_document",
    "build_search_body",
    "doc_id",
    "flatten_metadata",
    "index_name",
    "index_part",
    "index_template",
    "key_tokens",
    "parse_response",
]
