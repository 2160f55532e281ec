"""The search Lambda without services: request schema, access map, cursors, answers, errors."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.local.worker import LambdaContext
from lambdas.search import app
from lambdas.search.access import AccessPolicy, Caller, caller_from_context
from lambdas.search.cursors import CursorSigner
from lambdas.search.errors import BadRequest, ConfigurationError, Forbidden, PayloadTooLarge
from lambdas.search.request import MAX_BODY_BYTES, parse_body
from lambdas.search.service import SearchService
from lambdas.search.settings import Settings
from lambdas.search.shape import dumps, page_body
from t4index.engine import EngineConfig
from t4index.errors import EngineTimeoutError, EngineUnavailableError
from t4index.query import Cursor, Facets, Hit, SearchPage

ALICE = Caller("arn:aws:iam::111122223333:user/alice", "111122223333", "AIDAALICE", "AKALICE")
SESSION = Caller("arn:aws:sts::111122223333:assumed-role/analyst/jo", "111122223333", "AROA:jo",
                 "ASIA")
STRANGER = Caller("arn:aws:iam::999988887777:user/eve", "999988887777", "AIDAEVE", "AKEVE")
SECRET = b"s" * 32


# --- request schema -------------------------------------------------------------------------

def test_parse_body_builds_query_fields() -> None:
    req = parse_body(json.dumps({"buckets": ["b-1", "b-1", "b-2"], "text": "thor",
                                 "meta": {"n": {"gte": 3}}, "page_size": 5,
                                 "highlight": True, "cursor": "abc", "min_size": None}), 100)
    assert req.buckets == ("b-1", "b-2")
    assert req.page_size == 5 and req.cursor == "abc"
    assert req.query == {"text": "thor", "meta": {"n": {"gte": 3}}, "highlight": True}


@pytest.mark.parametrize(("body", "message"), [
    ("", "must be a JSON object"),
    ("[1]", "must be a JSON object"),
    ("{nope", "not JSON"),
    ('{"text": "x"}', "'buckets' is required"),
    ('{"buckets": [], "text": "x"}', "non-empty array"),
    ('{"buckets": ["B/x"]}', "not an S3 bucket name"),
    ('{"buckets": ["b-1"], "query": {"match_all": {}}}', "unknown field(s) query"),
    ('{"buckets": ["b-1"], "text": 3}', "'text' must be a string, got integer"),
    ('{"buckets": ["b-1"], "meta": []}', "'meta' must be an object, got array"),
    ('{"buckets": ["b-1"], "page_size": true}', "'page_size' must be an integer"),
    ('{"buckets": ["b-1"], "page_size": 101}', "'page_size' must be 1..100, got 101"),
    ('{"buckets": ["b-1"], "page_size": 0}', "'page_size' must be 1..100, got 0"),
    ('{"buckets": ["b-1"], "highlight": "yes"}', "'highlight' must be true or false"),
    ('{"buckets": ["b-1"], "extensions": "csv"}', "'extensions' must be an array of strings"),
    ('{"buckets": ["b-1"], "sort": "random"}', "'sort' must be one of"),
])
def test_parse_body_refuses_with_a_message(body: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_body(body, 100)
    assert message in str(caught.value)


def test_parse_body_refuses_oversized_body() -> None:
    with pytest.raises(PayloadTooLarge, match="limit is 65536"):
        parse_body(json.dumps({"buckets": ["b-1"], "text": "x" * MAX_BODY_BYTES}), 100)


# --- access map -----------------------------------------------------------------------------

def test_access_rules_union_of_arn_role_account_and_star() -> None:
    policy = AccessPolicy.from_json(json.dumps({
        "arn:aws:iam::111122223333:user/alice": ["data-a"],
        "arn:aws:iam::111122223333:role/analyst": ["logs-*"],
        "111122223333": ["shared"],
        "*": ["public"],
    }))
    assert policy.allows(ALICE, "data-a") and policy.allows(ALICE, "shared")
    assert policy.allows(ALICE, "public") and not policy.allows(ALICE, "logs-1")
    assert policy.allows(SESSION, "logs-2024") and not policy.allows(SESSION, "data-a")
    assert policy.allows(STRANGER, "public") and not policy.allows(STRANGER, "shared")
    assert not policy.allows(ALICE, "data-ab")  # exact names are exact
    with pytest.raises(Forbidden, match="may not search bucket.s. data-b, x"):
        policy.check(ALICE, ["data-a", "x", "data-b"])


def test_access_default_deny_and_bad_config() -> None:
    assert not AccessPolicy.from_json(None).allows(ALICE, "anything")
    assert not AccessPolicy.from_json("{}").allows(ALICE, "anything")
    for bad in ('["b"]', '{"*": "b"}', '{"alice": ["b"]}', "{oops", '{"*": [""]}'):
        with pytest.raises(ConfigurationError):
            AccessPolicy.from_json(bad)


SSO_ROLE = ("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
            "AWSReservedSSO_DataAnalyst_0a1b2c3d4e5f6a7b")
SSO_SESSION = Caller("arn:aws:sts::111122223333:assumed-role/"
                     "AWSReservedSSO_DataAnalyst_0a1b2c3d4e5f6a7b/jo@example.com",
                     "111122223333", "AROAXYZ:jo@example.com", "ASIA")
PATHED_USER = Caller("arn:aws:iam::111122223333:user/teams/data/bob", "111122223333",
                     "AIDABOB", "AKBOB")


def test_a_pathed_role_matches_its_sessions_identity_center_included() -> None:
    """API Gateway reports a session without the role's path: a pathed role key (every
    Identity Center role is one) used to match nothing, silently."""
    policy = AccessPolicy.from_mapping({
        SSO_ROLE: ["sso-data"],
        "arn:aws:iam::111122223333:role/service-role/team/analyst": ["team-*"],
        "arn:aws:iam::111122223333:user/teams/data/bob": ["bob-data"],
    })
    assert policy.allows(SSO_SESSION, "sso-data")
    assert policy.allows(SESSION, "team-a")  # analyst's session, role key with a path
    assert policy.allows(PATHED_USER, "bob-data")
    assert not policy.allows(SSO_SESSION, "team-a") and not policy.allows(ALICE, "sso-data")
    # a role of the same name in another account is another role
    other = Caller("arn:aws:sts::999988887777:assumed-role/analyst/jo", "999988887777", "x", "y")
    assert not policy.allows(other, "team-a")


def test_a_session_key_matches_that_session_only() -> None:
    policy = AccessPolicy.from_mapping({SSO_SESSION.arn: ["jo-only"]})
    assert policy.allows(SSO_SESSION, "jo-only")
    colleague = Caller(SSO_SESSION.arn.replace("jo@example.com", "kim@example.com"),
                       "111122223333", "AROAXYZ:kim", "ASIA")
    assert not policy.allows(colleague, "jo-only")


@pytest.mark.parametrize(("key", "message"), [
    ("arn:aws:iam::111122223333:group/analysts", "names no caller"),
    ("arn:aws:iam::111122223333:policy/read", "names no caller"),
    ("arn:aws:s3:::data-a", "names no caller"),
    ("arn:aws:iam::1111:role/x", "names no caller"),
    ("arn:aws:iam::111122223333:role/team-*", "wildcards inside an ARN"),
    ("arn:aws:iam::999988887777:role/partner", "in account 999988887777, not the search API's "
                                               "account 111122223333"),
    ("999988887777", "assume a role of account 111122223333"),
    ("analyst", "not an ARN"),
])
def test_a_key_that_could_never_match_is_refused_naming_it(key: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        AccessPolicy.from_mapping({ALICE.arn: ["a"], key: ["b"]}, account_id="111122223333")
    assert repr(key) in str(caught.value) and message in str(caught.value)


def test_other_accounts_are_refused_only_when_the_account_is_known() -> None:
    entries = {"arn:aws:iam::999988887777:role/partner": ["b"]}
    assert AccessPolicy.from_mapping(entries).allows(
        Caller("arn:aws:sts::999988887777:assumed-role/partner/s", "", "x", "y"), "b")
    with pytest.raises(ConfigurationError):
        AccessPolicy.from_mapping(entries, account_id="111122223333")
    settings_env = {"T4_ES_URL": "http://es:9200", "T4_SEARCH_CURSOR_SECRET": "c" * 32,
                    "T4_SEARCH_ACCESS": json.dumps(entries),
                    "T4_SEARCH_ACCOUNT_ID": "111122223333"}
    with pytest.raises(ConfigurationError, match="arn:aws:iam::999988887777:role/partner"):
        Settings.from_env(settings_env)


def test_caller_from_context_needs_iam() -> None:
    assert caller_from_context({"authorizer": {"iam": {
        "userArn": ALICE.arn, "accountId": "111122223333", "callerId": "AIDAALICE",
        "accessKey": "AKALICE"}}}) == ALICE
    for context in ({}, {"authorizer": None}, {"authorizer": {"iam": {"userArn": None}}}):
        with pytest.raises(Forbidden, match="no IAM identity"):
            caller_from_context(context)


# --- cursors --------------------------------------------------------------------------------

def test_cursor_round_trip_and_refusals() -> None:
    signer = CursorSigner(SECRET)
    cursor = Cursor(pit_id="pit==", search_after=[1.5, 7], query_hash="q1")
    token = signer.sign(cursor, ALICE.principal, ["b", "a"])
    assert signer.verify(token, ALICE.principal, ["a", "b", "a"]) == replace(
        cursor, buckets=["a", "b"])
    with pytest.raises(Forbidden, match="another caller"):
        signer.verify(token, STRANGER.principal, ["a", "b"])
    with pytest.raises(BadRequest, match="other buckets"):
        signer.verify(token, ALICE.principal, ["a"])
    with pytest.raises(BadRequest, match="not valid"):
        CursorSigner(b"t" * 32).verify(token, ALICE.principal, ["a", "b"])
    payload, mac = token.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    for bad in (f"{flipped}.{mac}", payload, f"{payload}.", "x" * 9000, 42, "", "..."):
        with pytest.raises(BadRequest, match="not valid"):
            signer.verify(bad, ALICE.principal, ["a", "b"])


# --- answers --------------------------------------------------------------------------------

def _hit(i: int, **extra: Any) -> Hit:
    values: dict[str, Any] = dict(
        id=f"id{i}", index="t4-objects-v1-b", bucket="b", key=f"k{i}", version_id=None, size=i,
        etag=None, last_modified=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), content_type=None,
        extension="txt", is_latest=True, deleted=False, user_meta={"n": i}, amz_meta={},
        extraction_status="ok", score=1.0)
    values.update(extra)
    return Hit(**values)


def test_page_body_shape() -> None:
    page = SearchPage(hits=[_hit(1, highlights={"text": ["a <em>x</em>"] * 9,
                                                "key.text": ["<em>k1</em>"],
                                                "key_tokens": ["<em>k1</em>"]})],
                      total=1, total_is_exact=True, has_more=False, cursor=None, pit_id=None,
                      facets=Facets({"txt": 1}, 0, 1))
    body = page_body(page, None)
    hit = body["hits"][0]
    assert hit["last_modified"] == "2024-01-02T03:04:05.000Z"
    assert hit["highlights"] == {"content": ["a <em>x</em>"], "key": ["<em>k1</em>"]}
    assert "id" not in hit and "index" not in hit
    assert body["facets"] == {"extensions": {"txt": 1}, "other_extensions": 0, "total_size": 1}


def test_page_body_stays_under_the_limit_and_keeps_every_hit() -> None:
    big = {"blob": "x" * 2_000}
    fragments = {"text": [c * 900 for c in "abc"]}
    hits = [_hit(i, user_meta=big, highlights=fragments) for i in range(50)]
    page = SearchPage(hits=hits, total=50, total_is_exact=True, has_more=True, cursor=None,
                      pit_id="p", facets=None)
    for limit, last_omitted in ((200_000, ["highlights"]),
                                (100_000, ["highlights", "user_meta"])):
        body = page_body(page, "next", limit=limit)
        assert len(body["hits"]) == 50 and body["cursor"] == "next"
        assert len(dumps(body).encode()) <= limit
        assert body["hits"][-1]["omitted"] == last_omitted
        assert "omitted" not in body["hits"][0] or limit == 100_000
        assert body["hits"][0]["user_meta"] == big


# --- settings -------------------------------------------------------------------------------

def test_settings_from_env() -> None:
    env = {"T4_ES_URL": "http://es:9200", "T4_SEARCH_CURSOR_SECRET": "k" * 20,
           "T4_SEARCH_MAX_PAGE": "50", "T4_SEARCH_ACCESS": '{"*": ["b"]}'}
    settings = Settings.from_env(env)
    assert settings.max_page == 50 and settings.timeout == 20.0
    assert settings.engine.url == "http://es:9200"
    for change, message in (({"T4_SEARCH_CURSOR_SECRET": ""}, "not set"),
                            ({"T4_SEARCH_CURSOR_SECRET": "short"}, "at least 16"),
                            ({"T4_SEARCH_MAX_PAGE": "5000"}, "1..1000"),
                            ({"T4_SEARCH_TIMEOUT": "30"}, "below API Gateway"),
                            ({"T4_ES_URL": ""}, "T4_ES_URL")):
        with pytest.raises(ConfigurationError, match=message):
            Settings.from_env({**env, **change})


# --- the handler with a stand-in cluster ----------------------------------------------------

class FailingEs:
    """Answers like an engine that fails in one given way (its errors already typed)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def with_timeout(self, seconds: float) -> FailingEs:
        return self

    def open_pit(self, *_: Any) -> Any:
        raise self.exc

    def search(self, *_: Any) -> Any:  # the first page is a plain search
        raise self.exc


def event(body: Any, iam: dict[str, str] | None = None, path: str = "/search") -> dict[str, Any]:
    iam = {"userArn": ALICE.arn, "accountId": "111122223333", "callerId": "AIDAALICE",
           "accessKey": "AKALICE"} if iam is None else iam
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": {"content-type": "application/json"}, "isBase64Encoded": False,
            "requestContext": {"http": {"method": "POST", "path": path}, "stage": "$default",
                               "authorizer": {"iam": iam} if iam else None},
            "body": body if isinstance(body, str) else json.dumps(body)}


def call(service: Any, ev: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    app.configure(service)
    try:
        result = app.handler(ev, LambdaContext("t4-search-api", 25))
    finally:
        app.configure(None)
    return result["statusCode"], json.loads(result["body"])


def service(es: Any) -> SearchService:
    settings = Settings(engine=EngineConfig(url="http://unused:9200"),
                        access=AccessPolicy.from_mapping({ALICE.arn: ["b-1"]}),
                        cursor_secret=SECRET, max_page=20)
    return SearchService(settings, es)


@pytest.mark.parametrize(("exc", "status", "message"), [
    (EngineUnavailableError("refused"), 503, "cannot be reached"),
    (EngineUnavailableError("busy", status=429), 503, "overloaded"),
    (EngineTimeoutError("slow"), 504, "time budget"),
    (RuntimeError("bug with a secret inside"), 500, "internal error"),
])
def test_cluster_failures_answer_without_detail(exc: BaseException, status: int,
                                                message: str) -> None:
    code, body = call(service(FailingEs(exc)), event({"buckets": ["b-1"], "text": "x"}))
    assert code == status and message in body["message"]
    assert "Traceback" not in json.dumps(body) and "secret" not in json.dumps(body)


def test_handler_refusals_before_any_cluster_call() -> None:
    never = service(FailingEs(AssertionError("must not be called")))
    assert call(never, event({"buckets": ["b-2"]}))[0] == 403
    assert call(never, event({"buckets": ["b-1"]}, iam={}))[0] == 403
    code, body = call(never, event({"buckets": ["b-1"], "text": '"open'}))
    assert code == 400 and "never closed" in body["message"]
    assert call(never, event({"buckets": ["b-1"], "page_size": 21}))[0] == 400
    code, body = call(never, event({"buckets": ["b-1"], "cursor": "forged.cursor"}))
    assert code == 400 and body["error"] == "BadRequest"
    assert call(never, event({"buckets": ["b-1"]}, path="/other"))[0] == 404


def test_misconfiguration_is_500_without_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("T4_SEARCH_CURSOR_SECRET", raising=False)
    monkeypatch.setenv("T4_ES_URL", "http://unused:9200")
    code, body = call(None, event({"buckets": ["b-1"]}))
    assert code == 500 and body == {"error": "ConfigurationError", "message": (
        "the search API is misconfigured; its operators have been told")}


class Secrets:
    """A Secrets Manager stand-in holding a few secrets."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 - boto3's name
        return {"SecretString": self.values[SecretId]}


def test_settings_from_secrets_manager() -> None:
    secrets = Secrets({"arn:es": json.dumps({"url": "https://es:443", "username": "search",
                                             "password": "pw"}),
                       "arn:cursor": "c" * 64 + "\n"})
    settings = Settings.from_env({"T4_ES_SECRET_ARN": "arn:es",
                                  "T4_SEARCH_CURSOR_SECRET_ARN": "arn:cursor"}, secrets)
    assert settings.engine.url == "https://es:443" and settings.engine.username == "search"
    assert settings.cursor_secret == b"c" * 64
    with pytest.raises(ConfigurationError, match="cannot read secret arn:missing: KeyError"):
        Settings.from_env({"T4_ES_SECRET_ARN": "arn:missing",
                           "T4_SEARCH_CURSOR_SECRET": "k" * 20}, secrets)
    with pytest.raises(ConfigurationError, match="not JSON"):
        Settings.from_env({"T4_ES_SECRET_ARN": "arn:cursor",
                           "T4_SEARCH_CURSOR_SECRET": "k" * 20}, secrets)
