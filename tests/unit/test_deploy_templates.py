"""The CloudFormation templates: cfn-lint, and the properties the pipeline relies on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.aws.templates import TEMPLATE_DIR, load_template, template_paths

CFN_LINT = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]
"""cfn-lint from this interpreter's environment (the dev extra), whatever is on PATH."""


def test_every_template_passes_cfn_lint() -> None:
    paths = template_paths()
    assert sorted(p.name for p in paths) == sorted(p.name for p in TEMPLATE_DIR.glob("*.yaml"))
    result = subprocess.run([*CFN_LINT, "--format", "parseable", *map(str, paths)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"cfn-lint found problems:\n{result.stdout}{result.stderr}"


def test_cfn_lint_really_checks(tmp_path: Path) -> None:
    """A broken template fails, so a silent linter cannot pass the test above."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n"
                   "    Properties: {VisibilityTimeout: !Ref Missing}\n")
    result = subprocess.run([*CFN_LINT, str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Missing" in result.stdout


@pytest.fixture(scope="module")
def pipeline() -> dict[str, Any]:
    return load_template("pipeline.yaml")


def test_visibility_timeout_is_at_least_six_lambda_timeouts(pipeline) -> None:
    queue = pipeline["Resources"]["EventQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == {
        "Fn::FindInMap": ["Timeouts", {"Ref": "LambdaTimeout"}, "Visibility"]}
    function = pipeline["Resources"]["IndexerFunction"]["Properties"]
    assert function["Timeout"] == {"Ref": "LambdaTimeout"}
    allowed = pipeline["Parameters"]["LambdaTimeout"]["AllowedValues"]
    assert sorted(pipeline["Mappings"]["Timeouts"], key=int) == sorted(allowed, key=int)
    for timeout in allowed:
        assert int(timeout) <= 900  # Lambda's maximum
        assert pipeline["Mappings"]["Timeouts"][timeout]["Visibility"] >= 6 * int(timeout)


def test_queue_redrives_to_the_dead_letter_queue(pipeline) -> None:
    redrive = pipeline["Resources"]["EventQueue"]["Properties"]["RedrivePolicy"]
    assert redrive == {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                       "maxReceiveCount": {"Ref": "MaxReceiveCount"}}
    dlq = pipeline["Resources"]["DeadLetterQueue"]["Properties"]
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_event_source_mapping_reports_partial_failures(pipeline) -> None:
    esm = pipeline["Resources"]["IndexerEventSourceMapping"]["Properties"]
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert esm["BatchSize"] == {"Ref": "BatchSize"}
    assert esm["MaximumBatchingWindowInSeconds"] == {"Ref": "MaxBatchingWindow"}
    assert esm["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "MaxConcurrency"}}
    params = pipeline["Parameters"]
    # batches of 100 read 16 at a time by default (bench_indexing: 0.7-1.0 of the minimal
    # work, against 0.5-0.67 for batches of 10); above 10 Lambda needs a batching window
    assert params["BatchSize"]["Default"] == 100 and params["MaxBatchingWindow"]["Default"] >= 1
    env = pipeline["Resources"]["IndexerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["T4_THREADS"] == {"Ref": "Threads"} and params["Threads"]["Default"] == 16


@pytest.mark.parametrize(("template", "function", "handler"), [
    ("pipeline.yaml", "IndexerFunction", "lambdas.indexer.app.handler"),
    ("search.yaml", "SearchFunction", "lambdas.search.app.handler"),
])
def test_functions_match_the_package_and_read_secrets(template, function, handler) -> None:
    from infra.aws.build_lambda import ARCHITECTURE, RUNTIME

    props = load_template(template)["Resources"][function]["Properties"]
    assert props["Runtime"] == RUNTIME and props["Architectures"] == [ARCHITECTURE]
    assert props["Handler"] == handler
    env = props["Environment"]["Variables"]
    assert env["T4_ES_SECRET_ARN"] == {"Ref": "EsSecretArn"}
    assert {"T4_ES_URL", "T4_ES_PASSWORD", "T4_ES_API_KEY"}.isdisjoint(env)  # never in plain text
    assert env["POWERTOOLS_SERVICE_NAME"] and env["POWERTOOLS_METRICS_NAMESPACE"] == "t4-search"


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for res in template["Resources"].values():
        if res["Type"] == "AWS::IAM::Role":
            for policy in res["Properties"].get("Policies", []):
                for stmt in policy["PolicyDocument"]["Statement"]:
                    if "Fn::If" in stmt:
                        stmt = stmt["Fn::If"][1]
                    out.append(stmt)
    return out


@pytest.mark.parametrize("template", ["pipeline.yaml", "search.yaml"])
def test_roles_are_least_privilege(template) -> None:
    statements = _statements(load_template(template))
    assert statements
    for stmt in statements:
        actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
        assert all("*" not in a for a in actions), stmt
        assert stmt["Resource"] != "*", stmt


def test_indexer_may_only_read_the_listed_buckets(pipeline) -> None:
    by_sid = {s["Sid"]: s for s in _statements(pipeline)}
    assert set(by_sid["ReadObjects"]["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    assert set(by_sid["ConsumeQueue"]["Action"]) == {
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes"}
    assert by_sid["ConsumeQueue"]["Resource"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
    assert "s3:PutObject" not in str(pipeline)


def test_alarms_cover_dead_letters_age_and_errors(pipeline) -> None:
    metrics = {r["Properties"]["MetricName"] for r in pipeline["Resources"].values()
               if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert metrics == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage",
                       "Errors"}


def test_search_api_requires_iam_signatures() -> None:
    search = load_template("search.yaml")
    routes = [r["Properties"] for r in search["Resources"].values()
              if r["Type"] == "AWS::ApiGatewayV2::Route"]
    assert routes and all(r["AuthorizationType"] == "AWS_IAM" for r in routes)
    assert [r["RouteKey"] for r in routes] == ["POST /search"]
    # the handler reads an HTTP API payload 2.0 event (requestContext.authorizer.iam)
    api = [r for r in search["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    assert api[0]["Properties"]["ProtocolType"] == "HTTP"
    integration = [r["Properties"] for r in search["Resources"].values()
                   if r["Type"] == "AWS::ApiGatewayV2::Integration"]
    assert integration[0]["PayloadFormatVersion"] == "2.0"
    assert search["Parameters"]["CallerBuckets"]["Default"] == "{}"  # default deny


REPO = TEMPLATE_DIR.parents[2]


def _source_text(*packages: str) -> str:
    return "\n".join(p.read_text() for pkg in packages for p in (REPO / pkg).rglob("*.py"))


@pytest.mark.parametrize(("template", "function", "packages"), [
    ("pipeline.yaml", "IndexerFunction", ("indexer", "lambdas/indexer", "t4index")),
    ("search.yaml", "SearchFunction", ("lambdas/search", "t4index")),
])
def test_handlers_read_every_variable_the_templates_set(template, function, packages) -> None:
    """Templates and handler settings agree on names (a typo would be silently unread)."""
    env = load_template(template)["Resources"][function]["Properties"]["Environment"]
    source = _source_text(*packages)
    t4_vars = [name for name in env["Variables"] if name.startswith("T4_")]
    assert t4_vars
    for name in t4_vars:
        assert f'"{name}"' in source, f"{name} is set by {template} but read nowhere"


def test_tika_runs_on_fargate_behind_an_internal_balancer() -> None:
    res = load_template("tika.yaml")["Resources"]
    task = res["TaskDefinition"]["Properties"]
    assert task["RequiresCompatibilities"] == ["FARGATE"] and task["NetworkMode"] == "awsvpc"
    service = res["Service"]["Properties"]
    assert service["LaunchType"] == "FARGATE"
    assert service["LoadBalancers"] == [{"ContainerName": "tika", "ContainerPort": 9998,
                                         "TargetGroupArn": {"Ref": "TargetGroup"}}]
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"
    assert res["LoadBalancer"]["Properties"]["Scheme"] == "internal"
    assert res["CpuScaling"]["Properties"]["PolicyType"] == "TargetTrackingScaling"


@pytest.mark.parametrize(("template", "role"), [("pipeline.yaml", "IndexerRole"),
                                                ("search.yaml", "SearchRole")])
def test_functions_in_a_vpc_get_the_vpc_execution_policy(template, role) -> None:
    managed = load_template(template)["Resources"][role]["Properties"]["ManagedPolicyArns"]
    condition, (arn,), otherwise = managed["Fn::If"]
    assert condition == "InVpc" and otherwise == {"Ref": "AWS::NoValue"}
    assert arn["Fn::Sub"].endswith(":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
