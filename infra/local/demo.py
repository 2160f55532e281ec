"""The demo: sample files put with metadata, indexed by the pipeline, then searched."""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3

from infra.aws.notifications import DEFAULT_EVENTS
from infra.local import services
from infra.local.endpoints import Endpoints
from infra.local.settings import StackSettings

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_META = {
    "thor-notes.md": {"name": "thor", "kind": "notes", "year": 2024},
    "measurements.csv": {"name": "weather", "sites": 3, "year": 2024},
    "experiment.json": {"name": "odin", "runs": 12, "year": 2023},
    "readme.txt": {"name": "loki", "year": 2022},
    "storm-report.pdf": {"name": "thor", "kind": "report", "year": 2023},
}


def _pdf(path: Path) -> None:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    page = canvas.Canvas(buf)
    page.drawString(72, 720, "Storm report: thunder over the ridge, the hammer returned twice.")
    page.save()
    path.write_bytes(buf.getvalue())


def _wire(s3, sqs, bucket: str, queue: str) -> None:
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
    # the events a deployment subscribes to (created, removed, expired, tags, restores,
    # storage class changes); moto sends the tagging ones too
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": list(DEFAULT_EVENTS)}]})


def print_table(title: str, results) -> None:
    """Print search results under a title, as ``t4 search`` does."""
    from t4.cli import format_results

    print(f"\n{title}  ({results.total} match{'es' if results.total != 1 else ''})")
    print("\n".join("  " + line for line in format_results(results).splitlines()))


def run(settings: StackSettings, bucket: str = "t4-demo") -> int:
    """Run the demo against the running stack; return a process exit code."""
    import t4

    endpoints = Endpoints.resolve(settings)
    (access_key, caller), = services.search_api_callers(settings).items()
    # S3 through moto (boto3's own variable); searches through the local search API,
    # signed with the local caller's key, exactly as a deployed API would be used.
    os.environ.setdefault("AWS_ENDPOINT_URL", endpoints.aws_endpoint_url or "")
    os.environ["T4_SEARCH_API_URL"] = settings.search_api_url
    session = boto3.Session(aws_access_key_id=access_key, aws_secret_access_key=caller["secret"],
                            region_name=endpoints.region)
    queue = f"{settings.queue_prefix}-{bucket}"
    _wire(session.client("s3"), session.client("sqs"), bucket, queue)
    print(f"s3://{bucket} sends its events to SQS queue {queue}; the worker indexes them")

    b = t4.Bucket(f"s3://{bucket}", session=session)
    with tempfile.TemporaryDirectory() as tmp:
        _pdf(Path(tmp) / "storm-report.pdf")
        files = sorted(SAMPLES.iterdir()) + [Path(tmp) / "storm-report.pdf"]
        started = time.monotonic()
        # S3 keeps whole seconds: a document of this run's put is modified at or after this
        put_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
        for path in files:
            b.put_file(f"samples/{path.name}", str(path), meta=SAMPLE_META.get(path.name, {}))
            print(f"put s3://{bucket}/samples/{path.name}  meta={SAMPLE_META.get(path.name)}")
    wanted = {f"samples/{p.name}" for p in files}
    deadline = time.monotonic() + 60
    while True:
        try:
            found = {h.key for h in b.search(prefix="samples/", limit=50)
                     if h.last_modified and h.last_modified >= put_at}  # not an older run's
        except t4.SearchError as exc:
            # 404: the bucket's first document is not indexed yet; 503: "try again later"
            if exc.status not in (404, 503) or time.monotonic() > deadline:
                raise
            found = set()
        if wanted <= found:
            break
        if time.monotonic() > deadline:
            print(f"error: not indexed within 60 s: {sorted(wanted - found)}; "
                  f"see `./dev logs worker`")
            return 1
        time.sleep(0.5)
    print(f"\nall {len(wanted)} files searchable {time.monotonic() - started:.1f} s after "
          "the first put")

    print_table('full text: b.search("hammer")', b.search("hammer"))
    print_table('metadata: b.search({"name": "thor"})', b.search({"name": "thor"}))
    print_table('combined: b.search("ridge", meta={"year": {"gte": 2024}})',
                b.search("ridge", meta={"year": {"gte": 2024}}))
    return 0
