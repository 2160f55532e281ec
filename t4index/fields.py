"""Names of the document fields: every other module refers to these constants.

User metadata is kept twice: ``user_meta`` holds it as given (not indexed, for
display and round trips) and ``meta_pairs`` holds it flattened into typed
``(path, value)`` pairs in a ``nested`` field, one pair per leaf value, so that
any JSON shape is searchable without mapping conflicts (see "The index" in the README).
"""

from __future__ import annotations

BUCKET = "bucket"
KEY = "key"
"""The S3 key unchanged (``keyword``): exact match, prefix, sort."""
KEY_TEXT = "key.text"
"""The key analysed by the ``standard`` analyzer (multi-field of ``key``)."""
KEY_TOKENS = "key_tokens"
"""The key split in Python on ``/ . _ -``, case changes and digit runs (``text``)."""
EXTENSION = "extension"
CONTENT_TYPE = "content_type"
SIZE = "size"
ETAG = "etag"
VERSION_ID = "version_id"
IS_LATEST = "is_latest"
LAST_MODIFIED = "last_modified"
SEQUENCER = "sequencer"
DELETED = "deleted"
INDEXED_AT = "indexed_at"

USER_META = "user_meta"
"""User metadata as given (non-finite numbers as strings); stored, not indexed."""
META_PAIRS = "meta_pairs"
"""User metadata flattened into typed pairs (``nested``)."""
PAIR_PATH = "path"
PAIR_TYPE = "type"
PAIR_STR = "str"
PAIR_NUM = "num"
PAIR_BOOL = "bool"
PAIR_DATE = "date"
META_PATH = f"{META_PAIRS}.{PAIR_PATH}"
META_TYPE = f"{META_PAIRS}.{PAIR_TYPE}"
META_STR = f"{META_PAIRS}.{PAIR_STR}"
META_NUM = f"{META_PAIRS}.{PAIR_NUM}"
META_BOOL = f"{META_PAIRS}.{PAIR_BOOL}"
META_DATE = f"{META_PAIRS}.{PAIR_DATE}"
META_TEXT = "meta_text"
"""Metadata paths and values as one analysed text, for full-text search."""
META_TRUNCATED = "meta_truncated"
"""True when metadata had more leaves than ``document.MAX_META_PAIRS``."""

META_STATUS = "meta_status"
"""How the ``helium`` header read: ``none``, ``ok`` or ``unreadable`` (``t4index.helium``)."""
META_ERROR = "meta_error"
"""Why ``helium`` is unreadable; its raw text is then in ``meta_text`` (searchable)."""

SOURCE_DIGEST = "source_digest"
"""A digest of everything the document records from S3 (``indexer.freshness``)."""
OBSERVED_AT = "observed_at"
"""When the indexer read the object's state from S3 (the document shows S3 as of then)."""

AMZ_META = "amz_meta"
"""Plain ``x-amz-meta-*`` metadata (other than ``helium``) as given; stored, not indexed."""
AMZ_META_KV = "amz_meta_kv"
"""Plain metadata as ``name=value`` keywords, for exact match and existence."""

TEXT = "text"
"""Extracted text, capped below ``index.highlight.max_analyzed_offset``."""
EXTRACTION_STATUS = "extraction_status"
EXTRACTION_ERROR = "extraction_error"
EXTRACTION_TRUNCATED = "extraction_truncated"
EXTRACTOR = "extractor"
EXTRACTOR_VERSION = "extractor_version"

DOC = "doc"
"""Extracted document metadata, typed fields declared in ``t4index.docmeta`` (``doc.pages`` ...)."""
DOC_LANGUAGE = "doc.language"

TAGS = "tags"
"""S3 object tags as given (``{"project": "x"}``); stored, not indexed."""
TAGS_KV = "tags_kv"
"""Object tags as ``key=value`` keywords, for exact match and existence."""
STORAGE_CLASS = "storage_class"
"""The object's S3 storage class (``STANDARD`` when S3 names none)."""
RESTORE = "restore"
"""An archived object's restore: ``ongoing``, ``restored`` (a readable copy exists) or
``expired`` (the restored copy was removed; the text indexed from it is kept)."""

FULL_TEXT_FIELDS: tuple[str, ...] = (TEXT, KEY_TEXT, KEY_TOKENS, META_TEXT)
"""Fields a full-text query searches (and highlights)."""
SOURCE_EXCLUDES: tuple[str, ...] = (TEXT, META_PAIRS, META_TEXT, KEY_TOKENS, AMZ_META_KV,
                                     TAGS_KV)
"""Bulky or derived fields left out of search hits."""
