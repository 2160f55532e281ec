"""The index template: one for every bucket's concrete indices.

Only core field types and the ``standard`` analyzer: the distribution has no
analysis-common, mapper-extras, painless, ingest-common or reindex.
``dynamic: false`` keeps fields this version does not know in ``_source``
without indexing them, so a newer writer never gets a document rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from t4index import docmeta
from t4index import fields as f
from t4index.names import INDEX_PATTERN

MAPPING_VERSION = 3
"""Bump when the mapping changes incompatibly; a new concrete index is rolled out."""
HIGHLIGHT_MAX_ANALYZED_OFFSET = 1_000_000
"""``index.highlight.max_analyzed_offset``: stored text is capped at this length."""
KEYWORD_IGNORE_ABOVE = 1024
TOTAL_FIELDS_LIMIT = 200
NESTED_OBJECTS_LIMIT = 10_000

_KEYWORD = {"type": "keyword"}
_LONG_KEYWORD = {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}
_STORED_ONLY = {"type": "object", "enabled": False}


def mappings() -> dict[str, Any]:
    """The ``mappings`` body of every concrete index.

    Returns:
        A fresh dict (callers may mutate it).
    """
    return {
        "dynamic": False,
        "date_detection": False,
        "numeric_detection": False,
        "_meta": {"mapping_version": MAPPING_VERSION, "owner": "t4-search"},
        "properties": {
            f.BUCKET: dict(_KEYWORD),
            f.KEY: {"type": "keyword", "fields": {"text": {"type": "text"}}},
            f.KEY_TOKENS: {"type": "text"},
            f.EXTENSION: dict(_KEYWORD),
            f.CONTENT_TYPE: dict(_KEYWORD),
            f.SIZE: {"type": "long"},
            f.ETAG: dict(_KEYWORD),
            f.VERSION_ID: dict(_KEYWORD),
            f.IS_LATEST: {"type": "boolean"},
            f.LAST_MODIFIED: {"type": "date"},
            f.SEQUENCER: dict(_KEYWORD),
            f.DELETED: {"type": "boolean"},
            f.INDEXED_AT: {"type": "date"},
            f.USER_META: dict(_STORED_ONLY),
            f.META_PAIRS: {
                "type": "nested",
                "properties": {
                    f.PAIR_PATH: dict(_LONG_KEYWORD),
                    f.PAIR_TYPE: dict(_KEYWORD),
                    f.PAIR_STR: dict(_LONG_KEYWORD),
                    f.PAIR_NUM: {"type": "double"},
                    f.PAIR_BOOL: {"type": "boolean"},
                    f.PAIR_DATE: {"type": "date"},
                },
            },
            f.META_TEXT: {"type": "text"},
            f.META_TRUNCATED: {"type": "boolean"},
            f.META_STATUS: dict(_KEYWORD),
            f.META_ERROR: {"type": "keyword", "index": False, "doc_values": False},
            f.SOURCE_DIGEST: dict(_KEYWORD),
            f.OBSERVED_AT: {"type": "date"},
            f.AMZ_META: dict(_STORED_ONLY),
            f.AMZ_META_KV: dict(_LONG_KEYWORD),
            f.TEXT: {"type": "text"},
            f.EXTRACTION_STATUS: dict(_KEYWORD),
            f.EXTRACTION_ERROR: dict(_LONG_KEYWORD),
            f.EXTRACTION_TRUNCATED: {"type": "boolean"},
            f.EXTRACTOR: dict(_KEYWORD),
            f.EXTRACTOR_VERSION: dict(_KEYWORD),
            f.DOC: {"type": "object", "properties": docmeta.mapping_properties()},
            f.TAGS: dict(_STORED_ONLY),
            f.TAGS_KV: dict(_LONG_KEYWORD),
            f.STORAGE_CLASS: dict(_KEYWORD),
            f.RESTORE: dict(_KEYWORD),
        },
    }


_REPLICA_RANGE = re.compile(r"\d+-(\d+|all)")


@dataclass(frozen=True)
class IndexLayout:
    """Shards and replicas of each bucket's concrete index.

    Attributes:
        shards: primary shards (fixed at creation: changing it needs a reindex).
        replicas: a number (``"1"``: one copy of each shard on another node) or a range
            the engine adjusts to the cluster's data nodes (``"0-1"``: none on one node,
            so a single node is green; one from two nodes on, so a lost node loses no
            data). Dynamic: ``PUT <index>/_settings`` changes it on a live index.

    Raises:
        ValueError: shards outside 1..1024, or replicas neither a number nor a range.
    """

    shards: int = 1
    replicas: str = "0-1"

    def __post_init__(self) -> None:
        if isinstance(self.shards, bool) or not isinstance(self.shards, int) or \
                not 1 <= self.shards <= 1024:
            raise ValueError(f"index shards must be an integer 1..1024, got {self.shards!r}")
        if not isinstance(self.replicas, str) or not (
                self.replicas.isdigit() or _REPLICA_RANGE.fullmatch(self.replicas)):
            raise ValueError(f"index replicas must be a number ('1') or a range ('0-1', "
                             f"'0-all'), got {self.replicas!r}")

    def settings(self) -> dict[str, Any]:
        """The shard and replica part of an index's ``settings``."""
        if self.replicas.isdigit():
            return {"number_of_shards": self.shards, "number_of_replicas": int(self.replicas),
                    "auto_expand_replicas": False}
        return {"number_of_shards": self.shards, "auto_expand_replicas": self.replicas}


DEFAULT_LAYOUT = IndexLayout()
"""One shard, replicas 0-1: green on one node, one replica on two nodes or more."""


def index_settings(layout: IndexLayout = DEFAULT_LAYOUT) -> dict[str, Any]:
    """The ``settings`` body of every concrete index.

    Returns:
        A fresh dict: shards and replicas of ``layout`` (by default one shard, replicas
        auto-expanded 0-1: green on one node and on three), explicit field, nesting and
        highlight limits.
    """
    return {
        "index": {
            **layout.settings(),
            "mapping": {
                "total_fields": {"limit": TOTAL_FIELDS_LIMIT},
                "nested_objects": {"limit": NESTED_OBJECTS_LIMIT},
                "depth": {"limit": 5},
            },
            "highlight": {"max_analyzed_offset": HIGHLIGHT_MAX_ANALYZED_OFFSET},
        }
    }


def index_template(layout: IndexLayout = DEFAULT_LAYOUT) -> dict[str, Any]:
    """The composable index template (body of ``PUT _index_template/t4-data``).

    Returns:
        A fresh dict with ``index_patterns`` (concrete indices only), ``template``
        (settings and mappings) and ``_meta.mapping_version``.
    """
    return {
        "index_patterns": [INDEX_PATTERN],
        "priority": 200,
        "template": {"settings": index_settings(layout), "mappings": mappings()},
        "_meta": {"mapping_version": MAPPING_VERSION, "owner": "t4-search"},
    }


def field_types(mapping: dict[str, Any] | None = None) -> dict[str, str]:
    """Every indexed field of a mapping with its type, by full dotted name.

    Returns:
        ``{"key": "keyword", "key.text": "text", "meta_pairs.num": "double", ...}``;
        object fields with ``enabled: false`` map to ``"object"``.
    """
    out: dict[str, str] = {}

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            full = prefix + name
            out[full] = spec.get("type", "object")
            walk(spec.get("properties", {}), full + ".")
            walk(spec.get("fields", {}), full + ".")

    walk((mapping or mappings())["properties"], "")
    return out
