"""opensearch.yaml (an Amazon OpenSearch Service domain), and how pipeline.yaml and
search.yaml take either engine endpoint: a secret (your own cluster) or a domain (SigV4).

cfn-lint, alarms and partition literals are checked for every template in
test_deploy_templates; the domain's properties are also sent to moto's OpenSearch API in
tests/integration/test_deploy_cloudformation.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from indexer.settings import Settings as IndexerSettings
from infra.aws.templates import load_template
from lambdas.search.settings import Settings as SearchSettings
from tests.support.cfn import refusals, resolve

ENDPOINT = "https://vpc-t4-search-abc123.eu-west-1.es.amazonaws.com"
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:es"


@pytest.fixture(scope="module")
def domain_template() -> dict[str, Any]:
    return load_template("opensearch.yaml")


def _domain(template: dict[str, Any], partition: str = "aws", **given: Any) -> dict[str, Any]:
    params = {"VpcId": "vpc-1", "SubnetIds": ["subnet-a", "subnet-b"], **{
        name: spec["Default"] for name, spec in template["Parameters"].items()
        if "Default" in spec and name not in given}, **given}
    params = {k: (str(v) if not isinstance(v, list) else v) for k, v in params.items()}
    return resolve(template["Resources"]["Domain"]["Properties"], template, params, partition)


def test_domain_is_encrypted_https_only_and_inside_the_vpc(domain_template) -> None:
    props = _domain(domain_template)
    assert props["EncryptionAtRestOptions"] == {"Enabled": True, "KmsKeyId": None}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"] == {
        "EnforceHTTPS": True, "TLSSecurityPolicy": "Policy-Min-TLS-1-2-PFS-2023-10"}
    assert props["VPCOptions"] == {"SubnetIds": ["subnet-a", "subnet-b"],
                                   "SecurityGroupIds": ["<DomainSecurityGroup>"]}
    assert props["EngineVersion"] == "OpenSearch_2.19"  # the version the tests run
    # only the client group reaches the domain, and only on HTTPS
    group = domain_template["Resources"]["DomainSecurityGroup"]["Properties"]
    assert group["SecurityGroupIngress"] == [{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "SourceSecurityGroupId": {"Ref": "ClientSecurityGroup"}}]
    assert "0.0.0.0/0" not in str(domain_template["Resources"])
    kms = _domain(domain_template, KmsKeyArn="arn:aws:kms:eu-west-1:123456789012:key/k")
    assert kms["EncryptionAtRestOptions"]["KmsKeyId"].endswith(":key/k")


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_access_policy_hands_the_decision_to_the_accounts_iam(domain_template,
                                                              partition: str) -> None:
    (stmt,) = _domain(domain_template, partition)["AccessPolicies"]["Statement"]
    assert stmt["Principal"] == {"AWS": f"arn:{partition}:iam::123456789012:root"}
    assert stmt["Action"] == "es:ESHttp*"  # data plane only, never the configuration API
    assert stmt["Resource"] == f"arn:{partition}:es:eu-west-1:123456789012:domain/t4-search/*"


def test_iam_access_by_default_fine_grained_with_a_master_role(domain_template) -> None:
    assert domain_template["Parameters"]["AccessControl"]["Default"] == "iam"
    assert _domain(domain_template)["AdvancedSecurityOptions"] is None
    master = "arn:aws:iam::123456789012:role/search-admin"
    fgac = _domain(domain_template, AccessControl="fine-grained", MasterUserArn=master)
    assert fgac["AdvancedSecurityOptions"] == {
        "Enabled": True, "InternalUserDatabaseEnabled": False,
        "MasterUserOptions": {"MasterUserARN": master}}


@pytest.mark.parametrize(("given", "aware", "masters"), [
    ({}, {"ZoneAwarenessEnabled": True, "ZoneAwarenessConfig": {"AvailabilityZoneCount": "2"}},
     {"DedicatedMasterEnabled": False}),
    ({"ZoneCount": "1", "InstanceCount": "1"}, {"ZoneAwarenessEnabled": False}, {}),
    ({"ZoneCount": "3", "InstanceCount": "3", "DedicatedMasterType": "m7g.large.search"},
     {"ZoneAwarenessEnabled": True, "ZoneAwarenessConfig": {"AvailabilityZoneCount": "3"}},
     {"DedicatedMasterEnabled": True, "DedicatedMasterType": "m7g.large.search",
      "DedicatedMasterCount": "3"}),
])
def test_zone_awareness_and_dedicated_masters_are_parameters(domain_template, given, aware,
                                                             masters) -> None:
    cluster = {k: v for k, v in _domain(domain_template, **given)["ClusterConfig"].items()
               if v is not None}
    for key, value in {**aware, **masters}.items():
        assert cluster[key] == value, key
    if not aware.get("ZoneAwarenessEnabled"):
        assert "ZoneAwarenessConfig" not in cluster
    if not masters.get("DedicatedMasterEnabled"):
        assert "DedicatedMasterType" not in cluster and "DedicatedMasterCount" not in cluster


DOMAIN_BASE = {"VpcId": "vpc-1", "SubnetIds": "subnet-a,subnet-b"}


@pytest.mark.parametrize(("given", "refused"), [
    ({}, None),
    ({"AccessControl": "fine-grained"}, "FineGrainedAccessNeedsAMasterUser"),
    ({"AccessControl": "fine-grained",
      "MasterUserArn": "arn:aws-us-gov:iam::123456789012:role/admin"}, None),
    ({"MasterUserArn": "arn:aws:iam::123456789012:role/admin"},
     "AMasterUserOnlyWithFineGrainedAccess"),
    ({"EngineVersion": "Elasticsearch_7.10"}, "EngineVersion=Elasticsearch_7.10 does not match"),
    ({"EngineVersion": "OpenSearch_1.3"}, "EngineVersion=OpenSearch_1.3 does not match"),
    ({"EngineVersion": "OpenSearch_3.1"}, None),
    ({"DomainName": "T4"}, "DomainName=T4 does not match"),
    ({"ZoneCount": "4"}, "ZoneCount=4 is not one of"),
])
def test_domain_rules_refuse_what_aws_or_the_engine_layer_would_reject(domain_template, given,
                                                                       refused) -> None:
    found = refusals(domain_template, {**DOMAIN_BASE, **given})
    if refused is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(refused), found


def test_outputs_are_what_the_other_stacks_take(domain_template) -> None:
    outputs = domain_template["Outputs"]
    assert outputs["DomainEndpoint"]["Value"] == {"Fn::Sub": "https://${Domain.DomainEndpoint}"}
    assert outputs["DomainName"]["Value"] == {"Ref": "Domain"}
    assert outputs["ClientSecurityGroup"]["Value"] == {"Ref": "ClientSecurityGroup"}
    for template in ("pipeline.yaml", "search.yaml"):
        params = load_template(template)["Parameters"]
        assert {"OpenSearchDomainEndpoint", "OpenSearchDomainName", "SearchEngine"} <= set(params)
    # the endpoint output passes the pipeline's pattern
    assert refusals(load_template("pipeline.yaml"), {
        **PIPELINE, "OpenSearchDomainEndpoint": ENDPOINT,
        "OpenSearchDomainName": "t4-search"}) == []


def test_domain_is_kept_when_the_stack_goes(domain_template) -> None:
    domain = domain_template["Resources"]["Domain"]
    assert domain["DeletionPolicy"] == "Retain" and domain["UpdateReplacePolicy"] == "Retain"


# --- pipeline.yaml and search.yaml: either engine endpoint ---------------------------------

PIPELINE = {"BucketNames": "a", "CodeBucket": "c", "TikaUrl": "http://tika:9998"}
SEARCH = {"CodeBucket": "c"}
DOMAIN = {"OpenSearchDomainEndpoint": ENDPOINT, "OpenSearchDomainName": "t4-search"}


@pytest.mark.parametrize("template", ["pipeline.yaml", "search.yaml"])
@pytest.mark.parametrize(("given", "refused"), [
    ({"EsSecretArn": SECRET}, None),
    ({"EsSecretArn": SECRET, "SearchEngine": "opensearch"}, None),  # your own OpenSearch
    (DOMAIN, None),
    ({**DOMAIN, "SearchEngine": "opensearch"}, None),
    ({}, "OneEngineEndpoint"),
    ({**DOMAIN, "EsSecretArn": SECRET}, "NotBothEngineEndpoints"),
    ({"OpenSearchDomainEndpoint": ENDPOINT}, "DomainEndpointComesWithItsArn"),
    ({**DOMAIN, "SearchEngine": "elasticsearch"}, "DomainEndpointComesWithItsArn"),
    ({"EsSecretArn": SECRET, "OpenSearchDomainName": "t4-search"},
     "DomainArnComesWithItsEndpoint"),
    ({"OpenSearchDomainEndpoint": "http://x", "OpenSearchDomainName": "t4-search"},
     "OpenSearchDomainEndpoint=http://x does not match"),
])
def test_one_engine_endpoint_is_required(template, given, refused) -> None:
    base = PIPELINE if template == "pipeline.yaml" else SEARCH
    found = refusals(load_template(template), {**base, **given})
    if refused is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(refused), found


def _env(template: str, function: str, given: dict[str, str]) -> dict[str, str]:
    t = load_template(template)
    params = {name: str(spec["Default"]) for name, spec in t["Parameters"].items()
              if "Default" in spec}
    params.update({"BucketNames": ["a"], "KmsKeyArns": [""], "SubnetIds": [""], **given})
    variables = resolve(t["Resources"][function]["Properties"]["Environment"]["Variables"],
                        t, params)
    return {k: str(v) for k, v in variables.items() if v is not None}


@pytest.mark.parametrize(("template", "function"), [("pipeline.yaml", "IndexerFunction"),
                                                    ("search.yaml", "SearchFunction")])
def test_a_domain_is_reached_by_url_and_signed_with_the_role(template, function) -> None:
    env = _env(template, function, DOMAIN)
    assert env["T4_ES_URL"] == ENDPOINT and env["T4_ES_SIGV4_REGION"] == "eu-west-1"
    assert "T4_ES_SECRET_ARN" not in env and env["T4_ES_ENGINE"] == "auto"
    secret_env = _env(template, function, {"EsSecretArn": SECRET})
    assert secret_env["T4_ES_SECRET_ARN"] == SECRET
    assert "T4_ES_URL" not in secret_env and "T4_ES_SIGV4_REGION" not in secret_env


def test_the_handlers_read_the_domain_settings_the_templates_set() -> None:
    indexer = IndexerSettings.from_env(_env("pipeline.yaml", "IndexerFunction", DOMAIN))
    assert (indexer.es_url, indexer.es_sigv4_region, indexer.es_secret_arn) == (
        ENDPOINT, "eu-west-1", None)
    env = _env("search.yaml", "SearchFunction", {**DOMAIN, "SearchEngine": "opensearch"})
    env.pop("T4_SEARCH_CURSOR_SECRET_ARN")
    search = SearchSettings.from_env({**env, "T4_SEARCH_CURSOR_SECRET": "k" * 64})
    assert search.engine.url == ENDPOINT and search.engine.sigv4_region == "eu-west-1"
    assert search.engine.engine == "opensearch"


def _role_statements(template: str, role: str, given: dict[str, str],
                     partition: str) -> dict[str, dict[str, Any]]:
    t = load_template(template)
    params = {name: str(spec["Default"]) for name, spec in t["Parameters"].items()
              if "Default" in spec}
    params.update({"BucketNames": ["a"], "KmsKeyArns": [""], "SubnetIds": [""], **given})
    props = resolve(t["Resources"][role]["Properties"], t, params, partition)
    return {s["Sid"]: s for s in props["Policies"][0]["PolicyDocument"]["Statement"]
            if isinstance(s, dict)}


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_roles_may_reach_their_domain_only(partition: str) -> None:
    arn = f"arn:{partition}:es:eu-west-1:123456789012:domain/t4-search"
    indexer = _role_statements("pipeline.yaml", "IndexerRole", DOMAIN, partition)
    assert "ElasticsearchSecret" not in indexer
    assert indexer["OpenSearchDomain"]["Resource"] == [f"{arn}/", f"{arn}/*"]
    assert set(indexer["OpenSearchDomain"]["Action"]) == {
        "es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"}
    search = _role_statements("search.yaml", "SearchRole", DOMAIN, partition)
    # the search Lambda: the bucket aliases and point-in-time searches, no other index
    assert search["OpenSearchDomain"]["Resource"] == [
        f"{arn}/", f"{arn}/t4-objects-*", f"{arn}/_search", f"{arn}/_search/point_in_time*"]
    assert "es:ESHttpPut" not in search["OpenSearchDomain"]["Action"]
    assert search["Secrets"]["Resource"] == "<CursorKey>"  # no engine secret to read
    with_secret = _role_statements("search.yaml", "SearchRole", {"EsSecretArn": SECRET},
                                   partition)
    assert "OpenSearchDomain" not in with_secret
    assert with_secret["Secrets"]["Resource"] == [SECRET, "<CursorKey>"]
    assert _role_statements("pipeline.yaml", "IndexerRole", {"EsSecretArn": SECRET}, partition)[
        "ElasticsearchSecret"]["Resource"] == SECRET
