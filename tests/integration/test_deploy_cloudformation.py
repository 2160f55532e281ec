"""Deploy pipeline.yaml, tika.yaml and opensearch.yaml through CloudFormation into a separate
moto server and check the wiring.

moto's CloudFormation creates S3, SQS, SNS, IAM, Lambda, Logs, Events, EC2 security
groups, ECS and load balancer resources.
The template's other types are listed in ``MOTO_CANNOT_CREATE``, removed before the
deploy with the outputs that name them (cfn-lint checks them, ``test_deploy_templates``);
the OpenSearch domain is then created through moto's OpenSearch API from the template's
own properties, so boto3 validates them against the API's shapes. moto skipping anything else
(its "not supported" warning, or a stack resource without a logical id) fails the test.
The moto server is this test module's own, so the stack's shared server and its worker
are never touched.
"""

from __future__ import annotations

import ast
import io
import json
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from indexer.events import EVENTBRIDGE_TYPES
from infra.aws.templates import load_template
from tests.support.cfn import resolve

MOTO_CANNOT_CREATE = frozenset({
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::CloudWatch::Alarm",
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::OpenSearchService::Domain",  # moto's OpenSearch has no CloudFormation model
})
REGION = "us-east-1"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:t4-es-AbCdEf"
TIKA_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/apache/tika@sha256:" + "0" * 64
CORE = {"DeadLetterQueue", "EventQueue", "IndexerRole", "IndexerLogGroup", "IndexerFunction",
        "IndexerEventSourceMapping"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def aws(moto_url: str):
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=moto_url)

    return client


@pytest.fixture(scope="module")
def code(aws) -> dict[str, str]:
    """A code bucket holding a (tiny) package, as `build_lambda` output would be uploaded."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="t4-code")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("lambdas/indexer/app.py", "def handler(event, context):\n    return {}\n")
    s3.put_object(Bucket="t4-code", Key="t4-search/pkg-1.zip", Body=buf.getvalue())
    for name in ("data-a", "data-b"):
        s3.create_bucket(Bucket=name)
    return {"CodeBucket": "t4-code", "CodeKey": "t4-search/pkg-1.zip"}


def _deployable(template: dict[str, Any]) -> dict[str, Any]:
    removed = {name for name, res in template["Resources"].items()
               if res["Type"] in MOTO_CANNOT_CREATE}
    kept = {name: res for name, res in template["Resources"].items() if name not in removed}
    text = json.dumps(kept)
    for name in removed:  # nothing that stays may depend on what moto cannot create
        assert f'"Ref": "{name}"' not in text and f'["{name}",' not in text, name
    outputs = {name: out for name, out in template.get("Outputs", {}).items()
               if not any(name_ in json.dumps(out) for name_ in removed)}
    return {**template, "Resources": kept, "Outputs": outputs}


def deploy(aws, stack: str, parameters: dict[str, str],
           template: str = "pipeline.yaml") -> dict[str, Any]:
    """Create the stack; fail if moto skipped a resource. Returns outputs and resources."""
    cfn = aws("cloudformation")
    body = json.dumps(_deployable(load_template(template)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfn.create_stack(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                         Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                     for k, v in parameters.items()])
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    skipped = [str(w.message) for w in caught if "not supported" in str(w.message)]
    assert not skipped, f"moto skipped resources: {skipped}"
    assert status["StackStatus"] == "CREATE_COMPLETE", status
    summaries = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    resources = {r["LogicalResourceId"]: r for r in summaries if r["LogicalResourceId"]}
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE" and r["PhysicalResourceId"]
               for r in resources.values())
    outputs = {o["OutputKey"]: o["OutputValue"] for o in status.get("Outputs", [])}
    return {"outputs": outputs, "resources": resources}


def params(code: dict[str, str], **extra: str) -> dict[str, str]:
    return {"BucketNames": "data-a,data-b", "EsSecretArn": SECRET_ARN,
            "TikaUrl": "http://tika.internal:9998", **code, **extra}


def test_pipeline_deploys_with_queue_dlq_and_event_source_mapping(aws, code) -> None:
    stack = deploy(aws, "t4s", params(code, LambdaTimeout="120", BatchSize="50", Threads="8",
                                      MaxBatchingWindow="7", TikaCapacity="32",
                                      MaxReceiveCount="6"))
    assert set(stack["resources"]) == CORE
    sqs, lam, iam = aws("sqs"), aws("lambda"), aws("iam")

    queue_url = stack["outputs"]["EventQueueUrl"]
    dlq_url = stack["outputs"]["DeadLetterQueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn,
                                                  "maxReceiveCount": 6}
    assert attrs["QueueArn"] == stack["outputs"]["EventQueueArn"]

    function = lam.get_function_configuration(FunctionName="t4s-indexer")
    assert int(attrs["VisibilityTimeout"]) == 6 * 120 + 300 and function["Timeout"] == 120
    assert function["Runtime"] == "python3.13" and function["Architectures"] == ["x86_64"]
    assert function["Handler"] == "lambdas.indexer.app.handler"
    env = function["Environment"]["Variables"]
    assert env["T4_ES_SECRET_ARN"] == SECRET_ARN
    assert env["T4_TIKA_URL"] == "http://tika.internal:9998"
    assert str(env["T4_THREADS"]) == "8"  # moto keeps the Number parameter's int; AWS a string
    # the time budget of a 120 s function: Tika 24 s, margin 24 + 40 s
    assert (str(env["T4_TIKA_TIMEOUT"]), str(env["T4_SAFETY_MARGIN_MS"])) == ("24", "64000")
    assert env["POWERTOOLS_SERVICE_NAME"] == "t4-indexer"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "t4-search"

    (mapping,) = lam.list_event_source_mappings(FunctionName="t4s-indexer")["EventSourceMappings"]
    assert mapping["EventSourceArn"] == attrs["QueueArn"]
    assert mapping["FunctionArn"] == function["FunctionArn"]
    assert mapping["BatchSize"] == 50
    assert mapping["MaximumBatchingWindowInSeconds"] == 7
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 4}  # 32 parses / 8 threads
    assert stack["outputs"]["MaxConcurrency"] == "4"

    role_name = function["Role"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):  # moto 5.2 keeps the Python repr of the resolved document
        document = ast.literal_eval(document)
    # moto resolves `!If [cond, stmt, !Ref AWS::NoValue]` in a list to None (AWS drops it)
    by_sid = {s["Sid"]: s for s in document["Statement"] if s is not None}
    assert by_sid["ReadObjects"]["Resource"] == ["arn:aws:s3:::data-a/*", "arn:aws:s3:::data-b/*"]
    assert by_sid["ReadBuckets"]["Resource"] == ["arn:aws:s3:::data-a", "arn:aws:s3:::data-b"]
    assert by_sid["ConsumeQueue"]["Resource"] == attrs["QueueArn"]
    assert by_sid["ElasticsearchSecret"]["Resource"] == SECRET_ARN
    assert "DecryptObjects" not in by_sid  # no KMS keys given
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}

    logs = aws("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/t4s-indexer")
    assert [g["retentionInDays"] for g in logs["logGroups"]] == [30]


def test_sns_fan_out_creates_the_topic(aws, code) -> None:
    stack = deploy(aws, "t4sns", params(code, EventSource="sns"))
    assert set(stack["resources"]) == CORE | {"EventTopic"}
    topic_arn = stack["outputs"]["EventTopicArn"]
    assert topic_arn in [t["TopicArn"] for t in aws("sns").list_topics()["Topics"]]
    assert "NotificationTargetArn" not in stack["outputs"]


def test_eventbridge_source_routes_the_buckets_events_to_the_queue(aws, code) -> None:
    stack = deploy(aws, "t4eb", params(code, EventSource="eventbridge"))
    assert set(stack["resources"]) == CORE | {"EventBridgeRule", "EventBridgeDeadLetterQueue"}
    events = aws("events")
    rule_name = stack["resources"]["EventBridgeRule"]["PhysicalResourceId"]
    rule = events.describe_rule(Name=rule_name)
    pattern = json.loads(rule["EventPattern"])
    assert pattern["source"] == ["aws.s3"]
    assert pattern["detail"]["bucket"]["name"] == ["data-a", "data-b"]
    assert set(pattern["detail-type"]) == set(EVENTBRIDGE_TYPES)
    (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert target["Arn"] == stack["outputs"]["EventQueueArn"]
    dlq = aws("sqs").get_queue_attributes(
        QueueUrl=stack["outputs"]["EventBridgeDeadLetterQueueUrl"],
        AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert target["DeadLetterConfig"] == {"Arn": dlq}


def test_tika_service_and_the_indexer_in_its_vpc(aws, code) -> None:
    ec2, elb, ecs = aws("ec2"), aws("elbv2"), aws("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.8.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"))]
    tika = deploy(aws, "t4tika", {"VpcId": vpc, "SubnetIds": ",".join(subnets),
                                  "TikaImage": TIKA_IMAGE, "TaskSize": "4vCPU-16GB",
                                  "MaxTasks": "4", "LambdaTimeout": "600"}, "tika.yaml")
    res = {name: r["PhysicalResourceId"] for name, r in tika["resources"].items()}

    (lb,) = elb.describe_load_balancers(LoadBalancerArns=[res["LoadBalancer"]])["LoadBalancers"]
    assert lb["Scheme"] == "internal" and lb["Type"] == "application"
    assert tika["outputs"]["TikaUrl"] == f"http://{lb['DNSName']}:9998"
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert listener["Port"] == 9998
    assert listener["DefaultActions"][0]["TargetGroupArn"] == res["TargetGroup"]
    (group,) = elb.describe_target_groups(TargetGroupArns=[res["TargetGroup"]])["TargetGroups"]
    assert (group["TargetType"], group["Port"], group["HealthCheckPath"]) == ("ip", 9998,
                                                                              "/version")
    (service,) = ecs.describe_services(cluster=res["Cluster"],
                                       services=[res["Service"]])["services"]
    assert service["status"] == "ACTIVE"
    # (moto's CloudFormation drops the service's LaunchType and LoadBalancers and the task
    # definition's RequiresCompatibilities and NetworkMode: test_deploy_templates checks
    # Fargate, awsvpc and the service's target group in the template itself)
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    (container,) = task["containerDefinitions"]
    assert container["image"] == TIKA_IMAGE
    assert container["portMappings"][0]["containerPort"] == 9998
    # (moto's CloudFormation drops the task definition's cpu and memory too: the template
    # test checks they come from the TaskSizes mapping, and the environment shows the size)
    env = {e["name"]: str(e["value"]) for e in container["environment"]}
    assert env["TIKA_CHILD_HEAP_MB"] == "12032"  # 75% of 16 GiB less the watchdog's 256 MiB
    assert env["TIKA_TASK_TIMEOUT_MS"] == "135000"  # the 600 s indexer's Tika timeout + 15 s
    assert tika["outputs"]["TikaCapacity"] == "64"  # 16 parses a task, 4 tasks
    assert tika["outputs"]["LambdaTimeout"] == "600"

    # only the client group reaches the balancer, only the balancer reaches the tasks
    client = tika["outputs"]["TikaClientSecurityGroup"]

    def sources(group_id: str) -> list[str]:
        (sg,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        return [pair["GroupId"] for perm in sg["IpPermissions"]
                for pair in perm["UserIdGroupPairs"]]

    assert sources(res["LoadBalancerSecurityGroup"]) == [client]
    assert sources(res["ServiceSecurityGroup"]) == [res["LoadBalancerSecurityGroup"]]

    pipeline = deploy(aws, "t4vpc", params(
        code, TikaUrl=tika["outputs"]["TikaUrl"], SubnetIds=",".join(subnets),
        SecurityGroupIds=client, TikaCapacity=tika["outputs"]["TikaCapacity"],
        LambdaTimeout=tika["outputs"]["LambdaTimeout"]))
    function = aws("lambda").get_function_configuration(FunctionName="t4vpc-indexer")
    assert function["Environment"]["Variables"]["T4_TIKA_URL"] == tika["outputs"]["TikaUrl"]
    assert sorted(function["VpcConfig"]["SubnetIds"]) == sorted(subnets)
    assert function["VpcConfig"]["SecurityGroupIds"] == [client]
    assert str(function["Environment"]["Variables"]["T4_TIKA_TIMEOUT"]) == "120"
    # (moto's CloudFormation ignores a role's ManagedPolicyArns: the VPC execution policy
    # is checked in the template by test_deploy_templates)
    assert set(pipeline["resources"]) == CORE


def _domain_request(properties: dict[str, Any]) -> dict[str, Any]:
    """The template's domain properties as a CreateDomain request (CloudFormation takes the
    access policy as an object and numbers as strings; the API as JSON text and integers)."""
    request = {k: v for k, v in properties.items() if v is not None}
    request["AccessPolicies"] = json.dumps(request["AccessPolicies"])
    cluster = {k: v for k, v in request["ClusterConfig"].items() if v is not None}
    cluster["InstanceCount"] = int(cluster["InstanceCount"])
    if "ZoneAwarenessConfig" in cluster:
        cluster["ZoneAwarenessConfig"] = {
            "AvailabilityZoneCount": int(cluster["ZoneAwarenessConfig"]["AvailabilityZoneCount"])}
    if "DedicatedMasterCount" in cluster:
        cluster["DedicatedMasterCount"] = int(cluster["DedicatedMasterCount"])
    request["ClusterConfig"] = cluster
    request["EBSOptions"] = {**request["EBSOptions"],
                             "VolumeSize": int(request["EBSOptions"]["VolumeSize"])}
    request["EncryptionAtRestOptions"] = {
        k: v for k, v in request["EncryptionAtRestOptions"].items() if v is not None}
    return request


def test_opensearch_domain_in_the_vpc_and_the_functions_signed_with_their_roles(aws,
                                                                                code) -> None:
    ec2, opensearch, lam, iam = aws("ec2"), aws("opensearch"), aws("lambda"), aws("iam")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"), (3, "c"))]
    given = {"VpcId": vpc, "SubnetIds": ",".join(subnets), "DomainName": "t4-catalog",
             "ZoneCount": "3", "InstanceCount": "3", "DedicatedMasterType": "m7g.large.search",
             "AccessControl": "fine-grained",
             "MasterUserArn": "arn:aws:iam::123456789012:role/search-admin"}
    stack = deploy(aws, "t4os", given, "opensearch.yaml")
    assert set(stack["resources"]) == {"ClientSecurityGroup", "DomainSecurityGroup"}
    groups = {name: r["PhysicalResourceId"] for name, r in stack["resources"].items()}
    client = stack["outputs"]["ClientSecurityGroup"]
    assert client == groups["ClientSecurityGroup"]
    (sg,) = ec2.describe_security_groups(GroupIds=[groups["DomainSecurityGroup"]])[
        "SecurityGroups"]
    assert [(p["FromPort"], p["ToPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]])
            for p in sg["IpPermissions"]] == [(443, 443, [client])]

    template = load_template("opensearch.yaml")
    params = {**{n: str(s["Default"]) for n, s in template["Parameters"].items()
                 if "Default" in s}, **given, "SubnetIds": subnets}
    properties = resolve(template["Resources"]["Domain"]["Properties"], template,
                         {**params, "DomainSecurityGroup": groups["DomainSecurityGroup"]},
                         region=REGION)
    properties["VPCOptions"]["SecurityGroupIds"] = [groups["DomainSecurityGroup"]]
    opensearch.create_domain(**_domain_request(properties))
    domain = opensearch.describe_domain(DomainName="t4-catalog")["DomainStatus"]
    assert domain["EngineVersion"] == "OpenSearch_2.19"
    assert domain["EncryptionAtRestOptions"]["Enabled"] is True
    assert domain["NodeToNodeEncryptionOptions"]["Enabled"] is True
    assert domain["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert domain["DomainEndpointOptions"]["TLSSecurityPolicy"] == "Policy-Min-TLS-1-2-PFS-2023-10"
    assert domain["AdvancedSecurityOptions"]["Enabled"] is True
    cluster = domain["ClusterConfig"]
    assert cluster["ZoneAwarenessConfig"] == {"AvailabilityZoneCount": 3}
    assert (cluster["DedicatedMasterEnabled"], cluster["DedicatedMasterCount"]) == (True, 3)
    assert sorted(domain["VPCOptions"]["SubnetIds"]) == sorted(subnets)
    policy = json.loads(domain["AccessPolicies"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert policy["Statement"][0]["Resource"] == f"{domain['ARN']}/*"
    endpoint = "https://" + domain["Endpoints"]["vpc"]

    # the pipeline, in the VPC with the client group, reaches the domain signed by its role
    deploy(aws, "t4osp", {"BucketNames": "data-a", "TikaUrl": "http://tika.internal:9998",
                          **code, "OpenSearchDomainEndpoint": endpoint,
                          "OpenSearchDomainName": "t4-catalog", "SubnetIds": subnets[0],
                          "SecurityGroupIds": client})
    function = lam.get_function_configuration(FunctionName="t4osp-indexer")
    env = function["Environment"]["Variables"]
    assert env["T4_ES_URL"] == endpoint and env["T4_ES_SIGV4_REGION"] == REGION
    assert env["T4_ES_ENGINE"] == "auto" and "T4_ES_SECRET_ARN" not in env
    assert function["VpcConfig"]["SecurityGroupIds"] == [client]
    role_name = function["Role"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):
        document = ast.literal_eval(document)
    by_sid = {s["Sid"]: s for s in document["Statement"] if s is not None}
    assert "ElasticsearchSecret" not in by_sid
    assert by_sid["OpenSearchDomain"]["Resource"] == [f"{domain['ARN']}/", f"{domain['ARN']}/*"]
