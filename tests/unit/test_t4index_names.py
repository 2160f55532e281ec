"""Names: aliases, concrete indices, bucket name mapping, document ids."""

from __future__ import annotations

import fnmatch
import re

import pytest

import t4index
from t4index import names
from t4index.errors import InvalidBucketName

VALID_INDEX = re.compile(r"[a-z0-9][a-z0-9._+-]*")


@pytest.mark.parametrize("bucket", ["data", "my.bucket.with.dots", "a-b-c", "x" * 63,
                                    "Legacy_Bucket", "UPPER", "a_b", "A" * 255])
def test_names_are_valid_lower_case_index_names(bucket: str) -> None:
    for name in (names.alias_name(bucket), names.index_name(bucket, 7)):
        assert VALID_INDEX.fullmatch(name), name
        assert name == name.lower()
        assert len(name.encode()) <= names.MAX_INDEX_NAME_BYTES
        assert name not in (".", "..")


def test_modern_bucket_names_are_kept_unchanged() -> None:
    assert names.index_part("my.bucket-1") == "my.bucket-1"
    assert names.alias_name("my.bucket-1") == "t4-objects-my.bucket-1"
    assert names.index_name("my.bucket-1", 3) == "t4-data-v3-my.bucket-1"


def test_legacy_bucket_names_map_one_to_one() -> None:
    buckets = ["MyBucket", "mybucket", "my_bucket", "My_bucket", "_mybucket", "my__bucket"]
    parts = {names.index_part(b) for b in buckets}
    assert len(parts) == len(buckets)


def test_long_legacy_names_are_hashed_and_stay_distinct() -> None:
    a, b = "A" * 254 + "B", "A" * 254 + "C"
    assert names.index_part(a) != names.index_part(b)


@pytest.mark.parametrize("bad", ["", "a b", "a/b", "a*b", "ü", None, 3])
def test_invalid_bucket_names_are_refused(bad) -> None:
    with pytest.raises(InvalidBucketName, match="not a valid S3 bucket name"):
        names.alias_name(bad)


@pytest.mark.parametrize("bad", [0, -1, True, "1", 1_000_000])
def test_invalid_mapping_versions_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="mapping_version"):
        names.index_name("b", bad)


def test_kibana_pattern_matches_aliases_not_concrete_indices() -> None:
    for bucket in ("data", "objects-x", "t4-data-v1-x", "My_Bucket"):
        assert fnmatch.fnmatchcase(names.alias_name(bucket), names.ALIAS_PATTERN)
        for version in (1, 2, 99):
            concrete = names.index_name(bucket, version)
            assert not fnmatch.fnmatchcase(concrete, names.ALIAS_PATTERN)
            assert fnmatch.fnmatchcase(concrete, names.INDEX_PATTERN)
        assert not fnmatch.fnmatchcase(names.alias_name(bucket), names.INDEX_PATTERN)


def test_parse_index_name_only_recognises_the_buckets_own_indices() -> None:
    assert names.parse_index_name(names.index_name("b", 12), "b") == 12
    assert names.parse_index_name(names.index_name("x-b", 1), "b") is None
    assert names.parse_index_name("t4-data-v01-b", "b") is None
    assert names.parse_index_name("t4-objects-b", "b") is None


def test_doc_ids_are_short_stable_and_distinct() -> None:
    key = "k" * 1024
    ids = {
        names.doc_id("b", key),
        names.doc_id("b", key, "null"),
        names.doc_id("b", key, "v1"),
        names.doc_id("c", key),
        names.doc_id("b", key + "x"),
        names.doc_id("b\x00k", "x"),
        names.doc_id("b", "k\x00x"),
    }
    assert len(ids) == 7
    assert all(len(i.encode()) == 64 for i in ids)
    assert names.doc_id("b", "ü/a b+c") == names.doc_id("b", "ü/a b+c")


def test_public_names_are_exactly_the_intended_ones() -> None:
    assert set(t4index.__all__) == {
        "ALIAS_PATTERN", "MAPPING_VERSION", "TEMPLATE_NAME", "Cursor", "DocumentError",
        "Facets", "Hit", "IndexStateError", "InvalidBucketName", "Partial",
        "PartialResultsError", "QueryError", "SearchPage",
        "SearchQuery", "T4IndexError", "alias_name", "build_document", "build_search_body",
        "doc_id", "flatten_metadata", "index_name", "index_part", "index_template",
        "key_tokens", "parse_response",
    }
    for name in t4index.__all__:
        assert getattr(t4index, name) is not None


def test_package_imports_no_heavy_dependency() -> None:
    import subprocess
    import sys

    code = ("import sys, t4index, t4index.lifecycle; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('boto3', 'botocore', 'elasticsearch', 'elastic_transport', 't4', 'indexer')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
