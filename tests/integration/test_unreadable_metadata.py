"""A ``helium`` header that is not a JSON object is kept, flagged and findable on both routes."""

from __future__ import annotations

import json
import uuid

import pytest

from t4index import fields as F
from t4index.names import alias_name
from tests.integration.test_search_routes_agree import both
from tests.support.indexing import make_pipeline, stored

HEADERS = {
    "broken.txt": "{not json ledgerword",
    "a-list.txt": "[1, 2, 3]",
    "a-string.txt": '"just a string"',
    "good.txt": json.dumps({"user_meta": {"owner": "ledgerkeeper"}}),
}


@pytest.fixture(scope="module")
def odd_bucket(es, s3) -> str:
    bucket = f"t4-odd-meta-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    for key, header in HEADERS.items():
        s3.put_object(Bucket=bucket, Key=key, Body=b"plain body", Metadata={"helium": header})
    s3.put_object(Bucket=bucket, Key="none.txt", Body=b"plain body")
    result = make_pipeline(es, s3).index_keys([(bucket, k) for k in [*HEADERS, "none.txt"]])
    assert result.failed == {}
    es.refresh(alias_name(bucket))
    return bucket


def test_unreadable_headers_are_flagged_and_their_text_kept(es, odd_bucket):
    for key in ("broken.txt", "a-list.txt", "a-string.txt"):
        doc = stored(es, odd_bucket, key)
        assert doc[F.META_STATUS] == "unreadable", key
        assert "not a JSON object" in doc[F.META_ERROR] or "not JSON" in doc[F.META_ERROR]
        assert doc[F.EXTRACTION_STATUS] == "ok"
    assert "ledgerword" in stored(es, odd_bucket, "broken.txt")[F.META_TEXT]
    assert stored(es, odd_bucket, "good.txt")[F.META_STATUS] == "ok"
    assert stored(es, odd_bucket, "none.txt")[F.META_STATUS] == "none"


def test_both_routes_find_unreadable_metadata(odd_bucket, routes):
    assert both(routes, odd_bucket, query="ledgerword") == {
        "direct": ["broken.txt"], "api": ["broken.txt"]}
    found = both(routes, odd_bucket, meta_status="unreadable")
    assert sorted(found["direct"]) == ["a-list.txt", "a-string.txt", "broken.txt"]
    assert sorted(found["api"]) == sorted(found["direct"])
