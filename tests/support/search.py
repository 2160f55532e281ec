"""Search helpers shared by the index tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from infra.local import services
from infra.local.settings import StackSettings
from t4index import lifecycle
from t4index.query import SearchQuery


def keys(es: Any, bucket: str, **kwargs: Any) -> set[str]:
    """The keys one page of ``SearchQuery(**kwargs)`` finds in ``bucket`` (all of them)."""
    page = lifecycle.search_page(es, bucket, SearchQuery(page_size=1000, **kwargs))
    assert not page.has_more
    return {hit.key for hit in page.hits}


@pytest.fixture(scope="module")
def routes(endpoints: Any) -> Iterator[Callable[[str], Any]]:
    """``routes(name)``: configure t4 for ``"direct"`` (the engine) or ``"api"`` (the
    stack's SigV4 search API); returns the boto3 session to give ``t4.Bucket``."""
    settings = StackSettings.from_env()
    (access_key, entry), = services.search_api_callers(settings).items()
    session = boto3.Session(aws_access_key_id=access_key, aws_secret_access_key=entry["secret"],
                            region_name="us-east-1")
    mp = pytest.MonkeyPatch()

    def use(route: str) -> Any:
        direct = {k: v for k, v in endpoints.es_env().items() if k.startswith("T4_ES_")}
        for var in ("T4_SEARCH_API_URL", *direct):
            mp.delenv(var, raising=False)
        if route == "direct":
            for var, value in direct.items():  # the engine's settings, SigV4 included
                mp.setenv(var, value)
            return None
        mp.setenv("T4_SEARCH_API_URL", settings.search_api_url)
        return session

    yield use
    mp.undo()
