"""The demo: a bucket wired to the queue, sample files put, their events reaching the worker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3

from infra.local import procs, stack
from infra.local.endpoints import Endpoints
from infra.local.settings import StackSettings

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_META = {
    "thor-notes.md": {"name": "thor", "kind": "notes"},
    "measurements.csv": {"name": "weather", "sites": 3},
    "experiment.json": {"name": "odin", "runs": 12},
    "readme.txt": {"name": "loki"},
}


def _wire(session: boto3.Session, endpoint: str | None, bucket: str, queue: str) -> None:
    s3 = session.client("s3", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    dlq = sqs.create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=queue, Attributes={
        "VisibilityTimeout": "360",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
    })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": [
            "s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"]}]})


def run(settings: StackSettings, bucket: str = "t4-demo") -> int:
    """Run the demo against the running stack; return a process exit code."""
    endpoints = Endpoints.resolve(settings)
    session = boto3.Session(region_name=endpoints.region, aws_access_key_id="local",
                            aws_secret_access_key="local")
    queue = f"{settings.queue_prefix}-{bucket}"
    _wire(session, endpoints.aws_endpoint_url, bucket, queue)
    print(f"bucket s3://{bucket} sends its events to SQS queue {queue}")
    s3 = session.client("s3", endpoint_url=endpoints.aws_endpoint_url)
    for path in sorted(SAMPLES.iterdir()):
        meta = SAMPLE_META.get(path.name, {})
        helium = json.dumps({"user_meta": meta})
        s3.put_object(Bucket=bucket, Key=f"samples/{path.name}", Body=path.read_bytes(),
                      Metadata={"helium": helium})
        print(f"put s3://{bucket}/samples/{path.name}  meta={meta}")
    log = stack.log_path(settings, "worker")
    wanted = {f"s3://{bucket}/samples/{p.name}" for p in SAMPLES.iterdir()}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = {w for w in wanted if w in procs.tail(log, 2000)}
        if seen == wanted:
            break
        time.sleep(0.5)
    print("\nthe worker received:")
    for line in procs.tail(log, 2000).splitlines():
        if f"s3://{bucket}/" in line:
            print("  " + line.split(" INFO ", 1)[-1])
    missing = wanted - {w for w in wanted if w in procs.tail(log, 2000)}
    if missing:
        print(f"error: the worker did not receive {sorted(missing)} within 60 s; "
              f"see {log}")
        return 1
    return 0
