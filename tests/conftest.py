"""Fixtures that hand tests real, authenticated clients of the stack's services.

Every service is real: moto server over HTTP for S3/SQS/SNS, the Elasticsearch
distribution, the Tika server. A test that needs a service which cannot be
reached fails with a message that says how to start it; it never skips.
Each test gets its own bucket, queue and index names, so nothing is reset
under the running worker.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import urllib.request
import uuid
from collections.abc import Callable, Iterator

import boto3
import pytest

from infra.local.endpoints import Endpoints
from tests.support.search import routes  # noqa: F401 - a fixture for the route tests

START_HINT = ("start the local stack with `./dev up` "
              "(or set T4_ES_URL / T4_TIKA_URL / AWS_ENDPOINT_URL)")


def pytest_configure(config: pytest.Config) -> None:
    # boto3's own environment rules point every client (t4.Bucket included) at moto server.
    endpoints = Endpoints.resolve()
    os.environ.setdefault("AWS_ENDPOINT_URL", endpoints.aws_endpoint_url or "")
    # The stack's local identity where the engine verifies SigV4 (OpenSearch's proxy).
    os.environ.setdefault("AWS_ACCESS_KEY_ID", endpoints.aws_access_key_id or "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", endpoints.aws_secret_access_key or "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", endpoints.region)
    os.environ.pop("AWS_PROFILE", None)
    # t4.config writes here, never to the user's own config; no search route is preset.
    os.environ["T4_CONFIG_DIR"] = tempfile.mkdtemp(prefix="t4-config-")
    for var in ("T4_SEARCH_API_URL", "T4_ES_CLOUD_ID"):
        os.environ.pop(var, None)


INTEGRATION_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration")


def _stack_engine(endpoints: Endpoints) -> str | None:
    """The engine family the tests run against (asked of the server if not configured)."""
    if endpoints.es_engine in ("elasticsearch", "opensearch"):
        return endpoints.es_engine
    try:
        from t4index.engine import connect

        return connect(endpoints.engine_config()).family
    except Exception:  # noqa: BLE001 - unreachable: the tests themselves will say so
        return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/integration needs the stack: marked here by path, so a new
    integration test cannot forget it (``./dev test`` reruns ``-m integration`` on the
    second engine; tests/unit/test_docs.py checks it stays so). Tests marked
    ``engine_specific(engine, reason)`` run only against that engine; on the other they are
    deselected (not skipped), each listed with its reason."""
    for item in items:
        if os.path.commonpath([str(item.path), INTEGRATION_DIR]) == INTEGRATION_DIR:
            item.add_marker(pytest.mark.integration)
    marked = [item for item in items if item.get_closest_marker("engine_specific")]
    if not marked:
        return
    engine = _stack_engine(Endpoints.resolve())
    if engine is None:
        return
    other = [item for item in marked
             if item.get_closest_marker("engine_specific").args[0] != engine]
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = [item for item in items if item not in other]
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        for item in other:
            mark = item.get_closest_marker("engine_specific")
            line = f"not on {engine}: {item.nodeid} ({mark.args[0]} only: {mark.args[1]})"
            if reporter is not None:
                reporter.write_line(line)


def _unreachable(service: str, url: str, exc: BaseException) -> None:
    pytest.fail(f"{service} at {url} is not reachable ({exc}); {START_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def endpoints() -> Endpoints:
    return Endpoints.resolve()


@pytest.fixture(scope="session")
def aws_session(endpoints: Endpoints) -> boto3.Session:
    return boto3.Session(region_name=endpoints.region)


@pytest.fixture(scope="session")
def s3(aws_session: boto3.Session, endpoints: Endpoints):
    client = aws_session.client("s3", endpoint_url=endpoints.aws_endpoint_url)
    try:
        client.list_buckets()
    except Exception as exc:  # noqa: BLE001 - any failure means moto is not there
        _unreachable("moto server (S3)", str(endpoints.aws_endpoint_url), exc)
    return client


@pytest.fixture(scope="session")
def sqs(aws_session: boto3.Session, endpoints: Endpoints, s3):
    return aws_session.client("sqs", endpoint_url=endpoints.aws_endpoint_url)


@pytest.fixture(scope="session")
def sns(aws_session: boto3.Session, endpoints: Endpoints, s3):
    return aws_session.client("sns", endpoint_url=endpoints.aws_endpoint_url)


@pytest.fixture(scope="session")
def es(endpoints: Endpoints):
    """The stack's search engine (Elasticsearch or OpenSearch) as a ``t4index.engine.Engine``;
    ``es.raw`` is the family's own client, for calls both families spell alike."""
    from t4index.engine import connect

    engine = connect(endpoints.engine_config())
    try:
        engine.raw.cluster.health(wait_for_status="yellow")
    except Exception as exc:  # noqa: BLE001
        _unreachable("the search engine", endpoints.es_url, exc)
    return engine


@pytest.fixture(scope="session")
def tika_url(endpoints: Endpoints) -> str:
    try:
        with urllib.request.urlopen(f"{endpoints.tika_url}/version", timeout=10) as resp:
            resp.read()
    except Exception as exc:  # noqa: BLE001
        _unreachable("Tika server", endpoints.tika_url, exc)
    return endpoints.tika_url


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """A factory of names unique to this test, valid as bucket, queue and index names."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:20].strip("-")

    def make(kind: str = "") -> str:
        parts = ["t4", kind, stem, uuid.uuid4().hex[:8]]
        return "-".join(p for p in parts if p)[:63]

    return make


@pytest.fixture
def bucket(s3, unique_name: Callable[[str], str]) -> Iterator[str]:
    """A new, empty, unversioned bucket on moto server."""
    name = unique_name("b")
    s3.create_bucket(Bucket=name)
    yield name


@pytest.fixture
def versioned_bucket(s3, unique_name: Callable[[str], str]) -> Iterator[str]:
    """A new, empty bucket with versioning enabled."""
    name = unique_name("vb")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield name


@pytest.fixture
def drop_indices(es) -> Iterator[Callable[[str], None]]:
    """Register buckets whose indices the test creates; they are deleted by exact name after."""
    buckets: list[str] = []
    yield buckets.append
    from t4index.lifecycle import bucket_indices

    for name in buckets:
        for index in bucket_indices(es, name):
            es.delete_index(index)


@pytest.fixture(scope="session", autouse=True)
def _delete_test_queues() -> Iterator[None]:
    """The queues tests made are deleted at the end, so the stack's worker stops polling
    them and a long-lived moto server does not collect them."""
    yield
    from tests.support.aws import CREATED_QUEUES

    for client, url in CREATED_QUEUES:
        with contextlib.suppress(Exception):  # already gone, or moto restarted
            client.delete_queue(QueueUrl=url)


@pytest.fixture
def stack_env(endpoints, monkeypatch):
    """The ``T4_*`` variables the command reads, pointing at the local stack."""
    for name, value in endpoints.es_env().items():  # the engine's settings, SigV4 included
        if name.startswith("T4_"):
            monkeypatch.setenv(name, value)
