"""The CloudFormation templates: cfn-lint, and the properties the pipeline relies on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from indexer.events import EVENTBRIDGE_TYPES
from indexer.settings import Settings
from infra.aws import sizing
from infra.aws.templates import TEMPLATE_DIR, load_template, template_paths
from tests.support.cfn import refusals, resolve

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
    assert esm["ScalingConfig"] == {"MaximumConcurrency": {
        "Fn::FindInMap": ["Concurrency", {"Ref": "TikaCapacity"}, {"Ref": "Threads"}]}}
    params = pipeline["Parameters"]
    # batches of 100 read 16 at a time by default (bench_indexing: 0.7-1.0 of the minimal
    # work, against 0.5-0.67 for batches of 10); above 10 Lambda needs a batching window
    assert params["BatchSize"]["Default"] == 100 and params["MaxBatchingWindow"]["Default"] >= 1
    env = pipeline["Resources"]["IndexerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["T4_THREADS"] == {"Ref": "Threads"} and params["Threads"]["Default"] == "16"


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
    assert env["T4_ES_SECRET_ARN"] == {
        "Fn::If": ["UsesSecret", {"Ref": "EsSecretArn"}, {"Ref": "AWS::NoValue"}]}
    # credentials never in plain text; a URL only for a domain, whose requests the role signs
    assert {"T4_ES_USERNAME", "T4_ES_PASSWORD", "T4_ES_API_KEY"}.isdisjoint(env)
    assert env["T4_ES_URL"]["Fn::If"][0] == "UsesDomain"
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
    assert set(by_sid["ReadObjects"]["Action"]) == {
        "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging"}
    assert set(by_sid["ConsumeQueue"]["Action"]) == {
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes"}
    assert by_sid["ConsumeQueue"]["Resource"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
    assert "s3:PutObject" not in str(pipeline)


def test_alarms_cover_dead_letters_age_errors_and_eventbridge_delivery(pipeline) -> None:
    alarms = {name: r for name, r in pipeline["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm"}
    metrics = {(r["Properties"]["Namespace"], r["Properties"]["MetricName"])
               for r in alarms.values()}
    assert metrics == {("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
                       ("AWS/SQS", "ApproximateAgeOfOldestMessage"), ("AWS/Lambda", "Errors"),
                       ("AWS/Events", "FailedInvocations")}
    dlq_alarms = {r["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
                  for r in alarms.values()
                  if r["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"}
    assert dlq_alarms == {"DeadLetterQueue", "EventBridgeDeadLetterQueue"}


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


# --- derived numbers: the templates' mappings are what infra.aws.sizing computes ------------

TEMPLATES = ("pipeline.yaml", "tika.yaml", "search.yaml", "opensearch.yaml")


@pytest.fixture(scope="module")
def tika() -> dict[str, Any]:
    return load_template("tika.yaml")


@pytest.fixture(scope="module")
def search() -> dict[str, Any]:
    return load_template("search.yaml")


def _find(mapping: str, key: str, value: str) -> dict[str, Any]:
    return {"Fn::FindInMap": [mapping, {"Ref": key}, value]}


@pytest.mark.parametrize(("template", "names"), [
    ("pipeline.yaml", {"TimeBudget", "Concurrency"}),
    ("tika.yaml", {"TimeBudget", "TaskSizes", "TikaCapacity"}),
])
def test_mappings_are_the_computed_ones(template, names) -> None:
    mappings = load_template(template)["Mappings"]
    assert set(mappings) == names
    expected = sizing.mappings()
    for name in names:
        assert mappings[name] == expected[name], (
            f"{template} {name} differs from infra/aws/sizing.py (`python -m infra.aws.sizing`)")


@pytest.mark.parametrize("timeout", sizing.LAMBDA_TIMEOUTS)
def test_time_budget_arithmetic(timeout: int) -> None:
    b = sizing.time_budget(timeout)
    assert b.function <= 900  # Lambda's maximum
    # the client gives up first, and Tika stops an abandoned parse soon after
    assert b.tika_client < b.tika_task_ms / 1000 <= b.tika_client + 30
    # the balancer never cuts a request Tika may still answer
    assert b.balancer_idle > b.tika_task_ms / 1000
    # an object started just before the margin still gets its whole Tika call and the write
    assert b.margin_ms >= (b.tika_client + Settings.es_timeout) * 1000
    # ...and at least one whole extraction fits before the margin
    assert b.function * 1000 - b.margin_ms >= b.tika_client * 1000
    # AWS: six function timeouts, plus the longest batching window
    assert b.visibility >= 6 * b.function + sizing.MAX_BATCHING_WINDOW_S
    # a message retried once is one visibility timeout old: that must not page
    assert b.age_alarm > b.visibility


def test_one_time_parameter_drives_every_timeout(pipeline, tika) -> None:
    for template in (pipeline, tika):
        param = template["Parameters"]["LambdaTimeout"]
        assert [int(v) for v in param["AllowedValues"]] == list(sizing.LAMBDA_TIMEOUTS)
        assert param["Default"] == "300"
    res = pipeline["Resources"]
    assert res["IndexerFunction"]["Properties"]["Timeout"] == {"Ref": "LambdaTimeout"}
    assert res["EventQueue"]["Properties"]["VisibilityTimeout"] == _find(
        "TimeBudget", "LambdaTimeout", "Visibility")
    env = res["IndexerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["T4_TIKA_TIMEOUT"] == _find("TimeBudget", "LambdaTimeout", "TikaTimeout")
    assert env["T4_SAFETY_MARGIN_MS"] == _find("TimeBudget", "LambdaTimeout",
                                               "SafetyMarginMillis")
    assert res["OldestMessageAlarm"]["Properties"]["Threshold"] == _find(
        "TimeBudget", "LambdaTimeout", "AgeAlarm")
    t = tika["Resources"]
    (container,) = t["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    tika_env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert tika_env["TIKA_TASK_TIMEOUT_MS"] == _find("TimeBudget", "LambdaTimeout",
                                                     "TikaTaskTimeoutMillis")
    idle = {a["Key"]: a["Value"] for a in t["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert idle["idle_timeout.timeout_seconds"] == _find("TimeBudget", "LambdaTimeout",
                                                         "IdleTimeout")
    drain = {a["Key"]: a["Value"] for a in t["TargetGroup"]["Properties"]["TargetGroupAttributes"]}
    assert drain["deregistration_delay.timeout_seconds"] == idle["idle_timeout.timeout_seconds"]


def test_tesseract_runs_one_thread_per_page_on_aws(tika) -> None:
    """With OpenMP's default a page took 8-12 s on 2 cores, with one thread 1 s
    (the local stack's Tika: tests/integration/test_stack_smoke.py)."""
    (container,) = tika["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert {e["Name"]: e["Value"] for e in container["Environment"]}["OMP_THREAD_LIMIT"] == "1"


@pytest.mark.parametrize("timeout", sizing.LAMBDA_TIMEOUTS)
def test_the_handler_reads_the_budget_the_template_sets(pipeline, timeout: int) -> None:
    env = pipeline["Resources"]["IndexerFunction"]["Properties"]["Environment"]["Variables"]
    params = {"LambdaTimeout": str(timeout), "TikaCapacity": "64", "Threads": "16",
              "EsSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:es",
              "TikaUrl": "http://tika:9998"}
    resolved = {name: str(resolve(env[name], pipeline, params))
                for name in ("T4_TIKA_TIMEOUT", "T4_SAFETY_MARGIN_MS", "T4_ES_SECRET_ARN")}
    settings = Settings.from_env(resolved)
    budget = sizing.time_budget(timeout)
    assert settings.tika_timeout == budget.tika_client
    assert settings.safety_margin_ms == budget.margin_ms > settings.tika_timeout * 1000


# --- Tika sized to the fan-out ---------------------------------------------------------------

@pytest.mark.parametrize(("cpu", "memory", "ok"), [
    (256, 512, True), (256, 1024, True), (256, 4096, False), (512, 1024, True),
    (1024, 2048, True), (1024, 1024, False), (2048, 8192, True), (2048, 2048, False),
    (4096, 16384, True), (4096, 4096, False), (8192, 32768, True), (8192, 18432, False),
    (16384, 122880, True), (3072, 8192, False),
])
def test_fargate_pairs(cpu: int, memory: int, ok: bool) -> None:
    assert sizing.fargate_accepts(cpu, memory) is ok


def test_tika_task_sizes_are_valid_fargate_pairs_with_heap_from_memory(tika) -> None:
    assert tika["Parameters"]["TaskSize"]["AllowedValues"] == list(sizing.TASK_SIZES)
    for size in sizing.TASK_SIZES.values():
        assert sizing.fargate_accepts(size.cpu, size.memory)
        # the forked parser's heap plus the watchdog's leave a quarter of the task
        assert size.heap_mib + sizing.PARENT_HEAP_MIB <= 0.75 * size.memory
        assert size.heap_mib >= 0.6 * size.memory
        assert size.slots * sizing.MIN_HEAP_PER_SLOT_MIB <= size.heap_mib
        assert size.slots <= sizing.SLOTS_PER_VCPU * size.cpu // 1024
    task = tika["Resources"]["TaskDefinition"]["Properties"]
    assert task["Cpu"] == _find("TaskSizes", "TaskSize", "Cpu")
    assert task["Memory"] == _find("TaskSizes", "TaskSize", "Memory")
    (container,) = task["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["TIKA_CHILD_HEAP_MB"] == _find("TaskSizes", "TaskSize", "HeapMiB")
    script = container["Command"][0]
    assert "-Xmx${TIKA_CHILD_HEAP_MB}m" in script
    assert "<taskTimeoutMillis>${TIKA_TASK_TIMEOUT_MS}</taskTimeoutMillis>" in script


def test_fan_out_never_exceeds_tika_capacity(pipeline, tika) -> None:
    """Every combination CloudFormation accepts keeps MaxConcurrency x Threads within the
    TikaCapacity given, and every capacity tika.yaml can output is accepted."""
    capacities = [int(v) for v in pipeline["Parameters"]["TikaCapacity"]["AllowedValues"]]
    outputs = {value for per_size in tika["Mappings"]["TikaCapacity"].values()
               for value in per_size.values()}
    assert {c for c in outputs if c >= 2 * min(sizing.THREADS)} <= set(capacities)
    base = {"BucketNames": "a", "CodeBucket": "c", "TikaUrl": "http://tika:9998",
            "EsSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:es"}
    accepted = 0
    for capacity in capacities:
        for threads in map(int, pipeline["Parameters"]["Threads"]["AllowedValues"]):
            params = {**base, "TikaCapacity": str(capacity), "Threads": str(threads)}
            refused = refusals(pipeline, params)
            if capacity // threads < sizing.LAMBDA_MIN_CONCURRENCY:
                assert refused and "TikaCapacity must be at least 2 x Threads" in refused[0]
                continue
            assert not refused, (capacity, threads, refused)
            concurrency = resolve(
                pipeline["Resources"]["IndexerEventSourceMapping"]["Properties"]
                ["ScalingConfig"]["MaximumConcurrency"], pipeline, params)
            assert concurrency * threads <= capacity and concurrency >= 2
            accepted += 1
    assert accepted > 30
    defaults = {n: p["Default"] for n, p in pipeline["Parameters"].items() if "Default" in p}
    tika_default = tika["Mappings"]["TikaCapacity"][tika["Parameters"]["TaskSize"]["Default"]][
        str(tika["Parameters"]["MaxTasks"]["Default"])]
    assert int(defaults["TikaCapacity"]) == tika_default  # the defaults fit each other


def test_tika_image_is_digest_pinned_and_deployments_roll_back(tika) -> None:
    image = tika["Parameters"]["TikaImage"]
    assert "Default" not in image
    vpc = {"VpcId": "vpc-1", "SubnetIds": "subnet-1,subnet-2"}
    digest = "sha256:" + "a" * 64
    for good in (f"apache/tika@{digest}",
                 f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/apache/tika@{digest}"):
        assert refusals(tika, {**vpc, "TikaImage": good}) == []
    for bad in ("apache/tika:3.2.2.0", "apache/tika:latest", f"apache/tika@{digest[:-1]}"):
        assert refusals(tika, {**vpc, "TikaImage": bad}), bad
    service = tika["Resources"]["Service"]["Properties"]
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True, "Rollback": True}
    target = tika["Resources"]["ScalableTarget"]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == ({"Ref": "MinTasks"},
                                                              {"Ref": "MaxTasks"})
    params = {**vpc, "TikaImage": f"apache/tika@{digest}"}
    assert refusals(tika, {**params, "MinTasks": 4, "MaxTasks": 4}) == []
    assert refusals(tika, {**params, "MinTasks": 5, "MaxTasks": 4}) == [
        "MinTasksAtMostMaxTasks4: MinTasks must not exceed MaxTasks"]
    assert refusals(tika, {**params, "MaxTasks": 5})  # not an allowed value


# --- parameter combinations AWS would reject later --------------------------------------------

PIPELINE_BASE = {"BucketNames": "a", "CodeBucket": "c", "TikaUrl": "http://tika:9998",
                 "EsSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:es"}


@pytest.mark.parametrize(("given", "refused"), [
    ({}, None),
    ({"BatchSize": 10, "MaxBatchingWindow": 0}, None),
    ({"BatchSize": 11, "MaxBatchingWindow": 0}, "BatchesAboveTenNeedABatchingWindow"),
    ({"BatchSize": 100, "MaxBatchingWindow": 1}, None),
    ({"MaxReceiveCount": 5}, None),
    ({"MaxReceiveCount": 4}, "MaxReceiveCount=4 is below MinValue 5"),
    ({"LambdaTimeout": "60"}, "LambdaTimeout=60 is not one of"),
    ({"Threads": 12}, "Threads=12 is not one of"),
    ({"Threads": 32, "TikaCapacity": 48}, "FanOutFitsTikaWith32Threads"),
    ({"SecretsKmsKeyArn": "arn:aws-cn:kms:cn-north-1:123456789012:key/abc"}, None),
    ({"SecretsKmsKeyArn": "alias/my-key"}, "SecretsKmsKeyArn=alias/my-key does not match"),
])
def test_pipeline_rules_refuse_what_aws_would_reject(pipeline, given, refused) -> None:
    found = refusals(pipeline, {**PIPELINE_BASE, **given})
    if refused is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(refused), found


# --- alarms ----------------------------------------------------------------------------------

@pytest.mark.parametrize("template", TEMPLATES)
def test_every_alarm_notifies_the_alarm_topic(template) -> None:
    t = load_template(template)
    alarms = [r["Properties"] for r in t["Resources"].values()
              if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms
    assert t["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]}
    topic = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    for alarm in alarms:
        assert alarm["AlarmActions"] == topic and alarm["OKActions"] == topic, alarm


def test_search_client_and_server_errors_are_counted_apart(search) -> None:
    alarms = {r["Properties"]["MetricName"]: r["Properties"] for r in search["Resources"].values()
              if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {"Errors", "4xx", "5xx"}
    for metric in ("4xx", "5xx"):
        assert alarms[metric]["Namespace"] == "AWS/ApiGateway"
        assert alarms[metric]["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "Api"}}]
    assert alarms["5xx"]["Threshold"] == 0  # the first server error pages
    assert alarms["4xx"]["Threshold"] == {"Ref": "ClientErrorAlarmThreshold"}


def test_search_api_logs_every_request_with_its_caller(search) -> None:
    (stage,) = [r["Properties"] for r in search["Resources"].values()
                if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    logs = stage["AccessLogSettings"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(logs["Format"])
    assert {"$context.identity.userArn", "$context.status", "$context.error.message",
            "$context.requestId"} <= set(fields.values())
    group = search["Resources"]["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_eventbridge_rule_has_a_dead_letter_queue(pipeline) -> None:
    (target,) = pipeline["Resources"]["EventBridgeRule"]["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["EventBridgeDeadLetterQueue", "Arn"]}}
    policy = pipeline["Resources"]["EventBridgeDeadLetterQueuePolicy"]["Properties"]
    (stmt,) = policy["PolicyDocument"]["Statement"]
    assert stmt["Principal"] == {"Service": "events.amazonaws.com"}
    assert stmt["Condition"] == {"ArnEquals": {
        "aws:SourceArn": {"Fn::GetAtt": ["EventBridgeRule", "Arn"]}}}


# --- partitions and keys ---------------------------------------------------------------------

_TEXT_KEYS = {"Description", "AllowedPattern", "ConstraintDescription", "AssertDescription",
              "AlarmDescription"}


def _literal_arns(node: Any, under_partition_switch: bool = False) -> list[str]:
    """ARN prefixes written as literals outside the partition switch (Fn::If on InChina)."""
    if isinstance(node, str):
        return [node] if "arn:aws" in node and not under_partition_switch else []
    if isinstance(node, list):
        return [a for v in node for a in _literal_arns(v, under_partition_switch)]
    if isinstance(node, dict):
        switch = under_partition_switch or node.get("Fn::If", [None])[0] == "InChina"
        return [a for k, v in node.items() if k not in _TEXT_KEYS
                for a in _literal_arns(v, switch)]
    return []


@pytest.mark.parametrize("template", TEMPLATES)
def test_no_arn_hard_codes_a_partition(template) -> None:
    t = load_template(template)
    assert _literal_arns(t["Resources"]) == []
    assert _literal_arns(t.get("Outputs", {})) == []


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_bucket_arns_follow_the_partition(pipeline, partition: str) -> None:
    params = {"BucketNames": ["data-a", "data.b"], "EventSource": "s3", "KmsKeyArns": [""],
              "SecretsKmsKeyArn": "", "EsSecretArn": "arn", "SubnetIds": [""],
              "ExistingTopicArn": "", "OpenSearchDomainEndpoint": ""}
    role = resolve(pipeline["Resources"]["IndexerRole"]["Properties"], pipeline, params,
                   partition)
    by_sid = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]
              if isinstance(s, dict) and "Sid" in s}
    prefix = f"arn:{partition}:s3:::"
    assert by_sid["ReadBuckets"]["Resource"] == [f"{prefix}data-a", f"{prefix}data.b"]
    assert by_sid["ReadObjects"]["Resource"] == [f"{prefix}data-a/*", f"{prefix}data.b/*"]
    queue_policy = resolve(pipeline["Resources"]["EventQueuePolicy"]["Properties"], pipeline,
                           {**params, "EventQueue": "q"}, partition)
    stmt = queue_policy["PolicyDocument"]["Statement"][0]
    assert stmt["Condition"]["ArnLike"]["aws:SourceArn"] == [f"{prefix}data-a",
                                                               f"{prefix}data.b"]


@pytest.mark.parametrize(("template", "role"), [("pipeline.yaml", "IndexerRole"),
                                                ("search.yaml", "SearchRole")])
def test_a_customer_key_for_secrets_is_granted_through_secrets_manager_only(template,
                                                                            role) -> None:
    t = load_template(template)
    assert t["Conditions"]["HasSecretsKey"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SecretsKmsKeyArn"}, ""]}]}
    statements = t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    (switch,) = [s["Fn::If"] for s in statements
                 if "Fn::If" in s and s["Fn::If"][0] == "HasSecretsKey"]
    stmt = switch[1]
    assert stmt["Action"] == "kms:Decrypt" and stmt["Resource"] == {"Ref": "SecretsKmsKeyArn"}
    assert stmt["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "secretsmanager.${AWS::Region}.${AWS::URLSuffix}"}
    assert switch[2] == {"Ref": "AWS::NoValue"}


def test_runtime_is_an_amazon_linux_2023_python_the_package_is_built_for() -> None:
    from infra.aws import build_lambda

    assert f"python{build_lambda.PYTHON_VERSION}" == build_lambda.RUNTIME
    assert build_lambda.PIP_PYTHON_VERSION.startswith(build_lambda.PYTHON_VERSION + ".")
    major, minor = map(int, build_lambda.PYTHON_VERSION.split("."))
    assert (major, minor) >= (3, 12)  # python3.11 runs on Amazon Linux 2 (end of life)
    lock_header = build_lambda.LOCK_FILE.read_text().splitlines()[0]
    assert build_lambda.RUNTIME in lock_header


def test_the_eventbridge_rule_routes_exactly_the_event_types_the_indexer_follows(pipeline) -> None:
    pattern = pipeline["Resources"]["EventBridgeRule"]["Properties"]["EventPattern"]
    assert set(pattern["detail-type"]) == set(EVENTBRIDGE_TYPES)
    assert {"Object Tags Added", "Object Restore Completed",
            "Object Storage Class Changed"} <= set(pattern["detail-type"])
