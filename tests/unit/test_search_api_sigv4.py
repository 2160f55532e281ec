"""SigV4 on both sides without services: the local server's check and the signed client."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from infra.local.search_api import (
    SearchApiServer,
    SignatureRefused,
    load_credentials,
    serve,
    verify_signature,
)
from t4 import T4Error
from t4._search_api import (
    SearchAccessDeniedError,
    SearchApiClient,
    SearchError,
    SearchQueryError,
    SearchUnavailableError,
    request_body,
)
from t4index.query import Cursor, SearchQuery

REGION = "eu-west-1"
ARN = "arn:aws:iam::000000000000:user/alice"
URL = "http://127.0.0.1:18080/search"


@pytest.fixture
def credentials_file(tmp_path: Path) -> Path:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"AKIDALICE": {"secret": "alice-secret", "arn": ARN}}))
    return path


def signed(body: bytes = b'{"buckets": ["b"]}', key: str = "AKIDALICE",
           secret: str = "alice-secret", region: str = REGION,
           when: datetime | None = None) -> tuple[dict[str, list[str]], bytes]:
    request = AWSRequest(method="POST", url=URL, data=body,
                         headers={"Content-Type": "application/json",
                                  "Host": "127.0.0.1:18080"})
    signer = SigV4Auth(Credentials(key, secret), "execute-api", region)
    if when is None:
        signer.add_auth(request)
    else:  # sign at another time, as a client with a skewed clock would
        request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        request.headers["X-Amz-Date"] = request.context["timestamp"]
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        names = signer.signed_headers(signer.headers_to_sign(request))
        scope = signer.credential_scope(request)
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={names}, "
            f"Signature={signature}")
    return {k.lower(): [v] for k, v in request.headers.items()}, body


def check(headers: Mapping[str, list[str]], body: bytes, credentials_file: Path,
          url: str = URL) -> Any:
    return verify_signature("POST", url, headers, body, load_credentials(credentials_file),
                            REGION, service="execute-api")


def test_a_botocore_signature_is_accepted(credentials_file: Path) -> None:
    principal = check(*signed(), credentials_file)
    assert principal.arn == ARN and principal.account_id == "000000000000"
    assert principal.caller_id.startswith("AIDA")


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"secret": "wrong"}, "does not match"),
    ({"key": "AKIDMALLORY"}, "unknown access key"),
    ({"region": "us-east-1"}, "credential scope"),
    ({"skew": timedelta(minutes=-16)}, "expired"),
    ({"skew": timedelta(minutes=16)}, "expired"),
])
def test_wrong_signatures_are_refused(credentials_file: Path, kwargs: dict[str, Any],
                                      reason: str) -> None:
    # the clock is read now, not when the parameters were collected minutes ago
    if "skew" in kwargs:
        kwargs = {"when": datetime.now(UTC) + kwargs.pop("skew"), **kwargs}
    with pytest.raises(SignatureRefused, match=reason):
        check(*signed(**kwargs), credentials_file)


def test_skew_within_15_minutes_is_accepted(credentials_file: Path) -> None:
    check(*signed(when=datetime.now(UTC) - timedelta(minutes=14)), credentials_file)


def test_changed_body_path_or_header_is_refused(credentials_file: Path) -> None:
    headers, body = signed()
    with pytest.raises(SignatureRefused, match="does not match"):
        check(headers, b'{"buckets": ["other"]}', credentials_file)
    with pytest.raises(SignatureRefused, match="does not match"):
        check(headers, body, credentials_file, url="http://127.0.0.1:18080/search2")
    with pytest.raises(SignatureRefused, match="does not match"):
        check({**headers, "content-type": ["text/plain"]}, body, credentials_file)
    with pytest.raises(SignatureRefused, match="malformed Authorization"):
        check({k: v for k, v in headers.items() if k != "authorization"}, body,
              credentials_file)
    with pytest.raises(SignatureRefused, match="X-Amz-Content-SHA256"):
        check({**headers, "x-amz-content-sha256": ["0" * 64]}, body, credentials_file)


def test_bad_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"AK": {"secret": "s"}}))
    with pytest.raises(ValueError, match="needs a 'secret' and an 'arn'"):
        load_credentials(path)


# --- the server, with a stand-in handler ----------------------------------------------------

@pytest.fixture
def server(credentials_file: Path) -> Iterator[SearchApiServer]:
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        assert context.get_remaining_time_in_millis() > 0
        if event["body"] == "boom":
            raise RuntimeError("handler bug")
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"hits": [], "echo": event["requestContext"]}),
                "isBase64Encoded": False}

    srv = serve(0, credentials_file, region=REGION, handler=handler)
    srv.seen = seen  # type: ignore[attr-defined]
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def client(server: SearchApiServer, key: str = "AKIDALICE",
           secret: str = "alice-secret") -> SearchApiClient:
    session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                            region_name=REGION)
    return SearchApiClient(server.url, session=session)


def test_server_builds_the_http_api_event(server: SearchApiServer) -> None:
    answer = client(server).search({"buckets": ["b"]})
    iam = answer["echo"]["authorizer"]["iam"]
    assert iam["userArn"] == ARN and iam["accessKey"] == "AKIDALICE"
    assert iam["accountId"] == "000000000000" and iam["callerId"].startswith("AIDA")
    event = server.seen[0]  # type: ignore[attr-defined]
    assert event["version"] == "2.0" and event["rawPath"] == "/search"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert json.loads(event["body"]) == {"buckets": ["b"]}


def test_server_refuses_wrong_and_missing_signatures(server: SearchApiServer) -> None:
    with pytest.raises(SearchAccessDeniedError, match="403: Forbidden") as caught:
        client(server, secret="wrong").search({"buckets": ["b"]})
    assert isinstance(caught.value, PermissionError) and caught.value.status == 403
    with pytest.raises(SearchAccessDeniedError):
        client(server, key="AKIDNOBODY").search({"buckets": ["b"]})
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{server.url}/search", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(request, timeout=10)
    assert unsigned.value.code == 403
    assert server.seen == []  # type: ignore[attr-defined]


def test_a_failing_handler_is_a_500(server: SearchApiServer) -> None:
    import urllib.error
    import urllib.request

    url, headers = client(server)._signed(b"boom")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(url, data=b"boom", headers=headers,
                                                      method="POST"), timeout=10)
    assert caught.value.code == 500
    assert json.loads(caught.value.read()) == {"message": "Internal Server Error"}


# --- the client's answers, with a stand-in transport ----------------------------------------

class Canned:
    """A transport that records what it was sent and answers one canned reply."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.sent: list[tuple[str, str, dict[str, str], bytes]] = []

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes,
                 timeout: float) -> tuple[int, bytes]:
        self.sent.append((method, url, dict(headers), body))
        return self.status, self.body


def canned_client(status: int, body: Any, url: str = "https://abc123.execute-api."
                  "eu-central-1.amazonaws.com/v1/") -> tuple[SearchApiClient, Canned]:
    transport = Canned(status, body)
    session = boto3.Session(aws_access_key_id="AK", aws_secret_access_key="SK",
                            region_name="us-west-2")
    return SearchApiClient(url, session=session, transport=transport), transport


def test_client_signs_for_the_api_region_and_posts_json() -> None:
    c, transport = canned_client(200, {"hits": [], "total": 0, "has_more": False,
                                       "cursor": None, "facets": None})
    assert c.region == "eu-central-1"
    c.search({"buckets": ["b"], "text": "thor"})
    method, url, headers, body = transport.sent[0]
    assert (method, url) == ("POST", "https://abc123.execute-api.eu-central-1.amazonaws.com"
                                     "/v1/search")
    assert "/eu-central-1/execute-api/aws4_request" in headers["Authorization"]
    assert headers["Host"] == "abc123.execute-api.eu-central-1.amazonaws.com"
    assert json.loads(body) == {"buckets": ["b"], "text": "thor"}


@pytest.mark.parametrize(("status", "body", "cls", "builtin"), [
    (400, {"error": "BadRequest", "message": "text: ')' closes nothing"}, SearchQueryError,
     ValueError),
    (413, {"error": "PayloadTooLarge", "message": "too big"}, SearchQueryError, ValueError),
    (403, {"message": "Forbidden"}, SearchAccessDeniedError, PermissionError),
    (404, {"error": "NotFound", "message": "no index"}, SearchError, T4Error),
    (503, {"error": "ServiceUnavailable", "message": "down"}, SearchUnavailableError, T4Error),
    (502, b"<html>bad gateway</html>", SearchUnavailableError, T4Error),
    (200, {"unexpected": True}, SearchError, T4Error),
])
def test_client_turns_answers_into_t4_errors(status: int, body: Any, cls: type,
                                             builtin: type) -> None:
    c, _ = canned_client(status, body)
    with pytest.raises(cls) as caught:
        c.search({"buckets": ["b"]})
    assert isinstance(caught.value, builtin) and isinstance(caught.value, T4Error)
    assert caught.value.status == status and f"answered {status}" in str(caught.value)


def test_client_unreachable_and_bad_url() -> None:
    def refuse(*_: Any) -> tuple[int, bytes]:
        raise ConnectionRefusedError("refused")

    session = boto3.Session(aws_access_key_id="AK", aws_secret_access_key="SK")
    c = SearchApiClient("http://127.0.0.1:1", session=session, region="us-east-1",
                        transport=refuse)
    with pytest.raises(SearchUnavailableError, match="cannot be reached"):
        c.search({"buckets": ["b"]})
    with pytest.raises(SearchQueryError, match="http"):
        SearchApiClient("s3://bucket")


def test_request_body_from_a_search_query() -> None:
    query = SearchQuery(text="thor", meta={"n": {"gte": 3}}, extensions=("csv",),
                        modified_since=datetime(2024, 1, 1, tzinfo=UTC), highlight=True,
                        page_size=25)
    assert request_body("b", query, cursor="c.s") == {
        "buckets": ["b"], "text": "thor", "meta": {"n": {"gte": 3}}, "extensions": ["csv"],
        "modified_since": "2024-01-01T00:00:00.000Z", "highlight": True, "page_size": 25,
        "cursor": "c.s"}
    with pytest.raises(SearchQueryError, match="string cursor"):
        request_body(["b"], SearchQuery(cursor=Cursor(pit_id="p")))


def test_search_query_returns_t4index_hits() -> None:
    c, _ = canned_client(200, {
        "hits": [{"bucket": "b", "key": "k.csv", "version_id": None, "size": 3,
                  "last_modified": "2024-01-02T03:04:05.000Z", "extension": "csv",
                  "user_meta": {"name": "thor"}, "score": 1.5,
                  "highlights": {"content": ["<em>thor</em>"]}}],
        "total": 30, "total_is_exact": True, "has_more": True, "cursor": "next",
        "facets": {"extensions": {"csv": 30}, "other_extensions": 0, "total_size": 90}})
    page = c.search_query("b", SearchQuery(text="thor"))
    assert page.cursor == "next" and page.has_more and page.total == 30
    hit = page.hits[0]
    assert (hit.key, hit.user_meta, hit.highlights) == ("k.csv", {"name": "thor"},
                                                        {"content": ["<em>thor</em>"]})
    assert hit.last_modified == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert page.facets is not None and page.facets.extensions == {"csv": 30}


def test_concurrent_callers_each_get_their_own_identity(tmp_path: Path) -> None:
    """The real handler behind the threaded server never mixes up two callers' requests."""
    import threading

    from lambdas.search import app

    class EchoService:
        def search(self, caller: Any, body: Any, budget: float | None = None) -> dict[str, Any]:
            import time

            time.sleep(0.01)
            return {"hits": [], "caller": caller.principal, "body": json.loads(body)}

    path = tmp_path / "credentials.json"
    users = {f"AK{i}": {"secret": f"s{i}", "arn": f"arn:aws:iam::000000000000:user/u{i}"}
             for i in range(4)}
    path.write_text(json.dumps(users))
    app.configure(EchoService())
    srv = serve(0, path, region=REGION)
    errors: list[str] = []
    answered: list[tuple[int, int]] = []

    def run(i: int) -> None:
        # An exception in a thread is lost unless caught here: a service failing every
        # request must fail the test.
        try:
            session = boto3.Session(aws_access_key_id=f"AK{i}", aws_secret_access_key=f"s{i}",
                                    region_name=REGION)
            c = SearchApiClient(srv.url, session=session)
            for n in range(5):
                answer = c.search({"buckets": ["b"], "n": n, "i": i})
                if answer["caller"] != users[f"AK{i}"]["arn"] or answer["body"]["i"] != i:
                    errors.append(f"{i}/{n}: {answer}")
                answered.append((i, n))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(f"caller {i}: {type(exc).__name__}: {exc}")

    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads), "a caller hung"
    finally:
        srv.shutdown()
        srv.server_close()
        app.configure(None)
    assert errors == []
    assert sorted(answered) == [(i, n) for i in range(4) for n in range(5)]


def test_a_burst_of_concurrent_callers_is_never_refused(tmp_path: Path) -> None:
    """64 callers connecting at once (one connection per request, as the client makes):
    none is reset. With the standard library's listen backlog of 5, a load benchmark of
    32 searchers saw ``Connection reset by peer``; API Gateway takes such bursts."""
    import threading

    from lambdas.search import app

    class EchoService:
        def search(self, caller: Any, body: Any, budget: float | None = None) -> dict[str, Any]:
            return {"hits": [], "caller": caller.principal}

    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"AK0": {"secret": "s0",
                                        "arn": "arn:aws:iam::000000000000:user/u0"}}))
    app.configure(EchoService())
    srv = serve(0, path, region=REGION)
    session = boto3.Session(aws_access_key_id="AK0", aws_secret_access_key="s0",
                            region_name=REGION)
    errors: list[str] = []
    start = threading.Barrier(64)

    def run() -> None:
        try:
            c = SearchApiClient(srv.url, session=session)
            start.wait(timeout=30)
            c.search({"buckets": ["b"]})
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(f"{type(exc).__name__}: {exc}")

    try:
        for _ in range(3):
            threads = [threading.Thread(target=run) for _ in range(64)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            start.reset()
    finally:
        srv.shutdown()
        srv.server_close()
        app.configure(None)
    assert errors == [], errors[:3]
