"""SigV4 to the engine, for real: the local OpenSearch behind its verifying proxy.

The proxy checks signatures as an Amazon OpenSearch Service domain's IAM policy
does (service ``es``, the stack's region, the stack's one local identity); the
engine layer signs with opensearch-py's signer over the ambient AWS credentials.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import t4
from t4index import lifecycle
from t4index.engine import connect
from t4index.errors import EngineAccessDeniedError
from t4index.names import alias_name
from t4index.query import SearchQuery
from tests.support.indexing import make_pipeline

pytestmark = [
    pytest.mark.integration,
    pytest.mark.engine_specific("opensearch", "the SigV4 proxy stands in front of the local "
                                "OpenSearch; the local Elasticsearch checks basic auth itself"),
]


def _signed_status(endpoints, service: str, region: str, secret: str | None = None) -> int:
    """Status of ``GET /_cluster/health`` signed by hand for ``service`` in ``region``."""
    url = f"{endpoints.es_url}/_cluster/health"
    request = AWSRequest(method="GET", url=url, data=b"")
    creds = Credentials(endpoints.aws_access_key_id,
                        secret or endpoints.aws_secret_access_key)
    SigV4Auth(creds, service, region).add_auth(request)
    resp = urllib3.request("GET", url, headers=dict(request.headers.items()), retries=False)
    return resp.status


def test_the_proxy_accepts_only_the_right_signature_region_and_service(endpoints):
    assert endpoints.es_sigv4_region, "the OpenSearch stack is reached with SigV4"
    assert _signed_status(endpoints, "es", endpoints.es_sigv4_region) == 200
    assert _signed_status(endpoints, "es", endpoints.es_sigv4_region, secret="wrong") == 403
    assert _signed_status(endpoints, "es", "eu-west-3") == 403
    assert _signed_status(endpoints, "execute-api", endpoints.es_sigv4_region) == 403
    assert urllib3.request("GET", f"{endpoints.es_url}/_cluster/health",
                           retries=False).status == 403  # unsigned


def test_the_engine_layer_s_refusals_are_typed(endpoints, monkeypatch):
    wrong_region = connect(replace(endpoints.engine_config(), sigv4_region="eu-west-3"))
    with pytest.raises(EngineAccessDeniedError):
        wrong_region.search({"size": 0}, "t4-objects-*")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(EngineAccessDeniedError):
        connect(endpoints.engine_config()).search({"size": 0}, "t4-objects-*")


def test_indexing_and_both_search_routes_work_through_the_proxy(es, s3, bucket, drop_indices,
                                                                 endpoints, monkeypatch):
    assert es.config.sigv4_region and es.config.url == endpoints.es_url  # signed, proxied
    drop_indices(bucket)
    s3.put_object(Bucket=bucket, Key="notes/signed.md", Body=b"signed through the proxy",
                  Metadata={"helium": json.dumps({"user_meta": {"via": "sigv4"}})})
    result = make_pipeline(es, s3).index_keys([(bucket, "notes/signed.md")])
    assert result.failed == {}
    es.refresh(alias_name(bucket))
    page = lifecycle.search_page(es, bucket, SearchQuery(text="proxy"))
    assert [h.key for h in page.hits] == ["notes/signed.md"]
    for name, value in endpoints.es_env().items():
        if name.startswith("T4_ES_"):
            monkeypatch.setenv(name, value)
    hits = t4.Bucket(f"s3://{bucket}").search({"via": "sigv4"})
    assert [h.key for h in hits] == ["notes/signed.md"]
