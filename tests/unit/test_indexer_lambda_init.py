"""The indexer Lambda builds its pipeline in Lambda's INIT phase, and only there."""

from __future__ import annotations

import importlib
import logging

import pytest

import indexer.service


def _reload(monkeypatch: pytest.MonkeyPatch, kind: str | None, es_url: str):
    monkeypatch.setenv("T4_ES_URL", es_url)
    monkeypatch.delenv("T4_TIKA_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    if kind is None:
        monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    else:
        monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", kind)
    from lambdas.indexer import app

    return importlib.reload(app)


@pytest.mark.parametrize("kind", [None, "snap-start"])
def test_nothing_is_built_at_import_outside_an_on_demand_init(monkeypatch, kind):
    def refuse(*_args, **_kwargs):
        raise AssertionError("built at import")

    monkeypatch.setattr(indexer.service, "build_pipeline", refuse)
    app = _reload(monkeypatch, kind, "http://127.0.0.1:9")
    assert app._runtime is None


def test_a_failed_init_is_logged_and_left_to_the_first_invocation(monkeypatch, caplog):
    caplog.set_level(logging.ERROR)
    app = _reload(monkeypatch, "on-demand", "http://127.0.0.1:9")  # nothing listens there
    assert app._runtime is None
    assert "building the indexer at INIT failed" in caplog.text
