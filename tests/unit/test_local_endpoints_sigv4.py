"""An OpenSearch stack in a home where an Elasticsearch stack left its credentials."""

from __future__ import annotations

import json

from infra.local.endpoints import Endpoints
from infra.local.settings import StackSettings


def test_sigv4_children_never_get_the_elasticsearch_user_too(tmp_path, monkeypatch):
    settings = StackSettings.from_env({"T4_STACK_HOME": str(tmp_path),
                                       "T4_STACK_ENGINE": "opensearch"})
    settings.credentials_file.parent.mkdir(parents=True)
    settings.credentials_file.write_text(json.dumps({"username": "t4admin", "password": "x"}))
    for name in ("T4_ES_USERNAME", "T4_ES_PASSWORD", "T4_ES_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    # what the stack hands the worker and the search API (seen: the search API refused
    # to start, "choose one way to authenticate")
    monkeypatch.setenv("T4_ES_URL", "http://127.0.0.1:20200")
    monkeypatch.setenv("T4_ES_SIGV4_REGION", "us-east-1")
    endpoints = Endpoints.resolve(settings)
    assert (endpoints.es_username, endpoints.es_password) == (None, None)
    assert endpoints.es_sigv4_region == "us-east-1"
    monkeypatch.delenv("T4_ES_SIGV4_REGION")  # an Elasticsearch child still gets its user
    assert Endpoints.resolve(settings).es_username == "t4admin"
