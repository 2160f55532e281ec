"""Command line: ``python -m indexer.backfill {backfill,repair,reindex} ...`` (``t4-backfill``).

The progress bar is drawn here, on stderr, from the library's progress callback;
the summary goes to stdout. Settings (Elasticsearch, Tika, limits) come from the
same ``T4_*`` environment variables as the indexer (``Settings.from_env``).
Exit status: 0 when every object was handled, 1 when some failed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from indexer.backfill.checkpoint import Checkpoint, default_path
from indexer.backfill.failures import BackfillError, check_bucket, describe
from indexer.backfill.progress import Progress, format_line
from indexer.errors import IndexerError
from t4index.errors import T4IndexError


class Bar:
    """Redraws one status line on a terminal (or prints one every 10 s elsewhere)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._width = 0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if now - self._last < (0.2 if self.tty else 10.0):
            return
        self._last = now
        self.draw(format_line(progress))

    def draw(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self, progress: Progress | None = None) -> None:
        if progress is not None:
            self.draw(format_line(progress))
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t4-backfill", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("backfill", help="index the objects the index does not show yet")
    b.add_argument("url", help="s3://bucket[/prefix]")
    b.add_argument("--force", action="store_true", help="re-extract unchanged objects too")
    b.add_argument("--chunk", type=int, default=1000, help="objects per chunk (checkpoint step)")
    b.add_argument("--parallel", type=int, default=4, help="index_keys calls per chunk at once")
    b.add_argument("--threads", type=int, default=None, help="HEAD/extract threads per call")
    b.add_argument("--checkpoint", type=Path, help="checkpoint file (default: user cache)")
    b.add_argument("--restart", action="store_true", help="ignore a saved checkpoint")
    b.add_argument("--no-count", action="store_true", help="skip the counting LIST (no ETA)")
    b.add_argument("--inventory", metavar="S3_URL", help="read this manifest.json, not a LIST")
    b.add_argument("--enqueue", metavar="QUEUE", help="send events to this SQS queue instead")
    b.add_argument("--records-per-message", type=int, default=1)
    b.add_argument("--retry-outcomes", action="store_true",
                   help="only the objects whose documents record a retryable outcome")

    r = sub.add_parser("repair", help="fix exactly what verify reports")
    r.add_argument("url", help="s3://bucket[/prefix]")
    r.add_argument("--no-index-missing", action="store_true",
                   help="leave objects without documents to a backfill")

    v = sub.add_parser("verify", help="compare S3 with the index; exit 1 on drift")
    v.add_argument("url", help="s3://bucket[/prefix]")
    v.add_argument("--json", action="store_true", help="print the report as JSON")

    x = sub.add_parser("reindex", help="move a bucket to a new index without downtime")
    x.add_argument("bucket")
    x.add_argument("--to-version", type=int, help="default: the project's MAPPING_VERSION")
    x.add_argument("--grace", type=float, default=90.0,
                   help="seconds for writers to start mirroring (> index TTL + Lambda timeout)")
    x.add_argument("--delete-old", action="store_true")
    return parser


def _pipeline(threads: int | None = None) -> Any:

    from indexer.service import build_pipeline
    from indexer.settings import Settings
    from t4index.retry import aws_client, s3_client_config

    settings = Settings.from_env()
    if threads:
        settings = dataclasses.replace(settings, threads=threads)
    # botocore's retries off: listing and reads retry through t4index.retry, the only layer
    s3 = aws_client("s3", config=s3_client_config(max_pool_connections=64))
    return build_pipeline(settings, s3=s3)


def _print_failures(failures: Sequence[tuple[str, str]], total: int, out: TextIO) -> None:
    for key, reason in failures[:20]:
        print(f"  failed: {key}: {reason}", file=out)
    if total > 20:
        print(f"  ... and {total - 20} more", file=out)


def _backfill(args: argparse.Namespace, out: TextIO) -> int:
    from indexer.backfill.listing import count_objects, parse_s3_url
    from indexer.backfill.run import backfill

    bucket, prefix = parse_s3_url(args.url)
    pipeline = _pipeline(args.threads)
    check_bucket(pipeline.s3, bucket)
    source_name, source, totals = args.url, None, None
    if args.inventory:
        from indexer.backfill.inventory import iter_inventory, read_manifest

        try:
            manifest = read_manifest(pipeline.s3, args.inventory)
        except Exception as exc:  # noqa: BLE001 - one line for the user
            raise BackfillError(f"cannot read the inventory manifest: "
                                f"{describe(exc, args.inventory)}") from exc
        if manifest.source_bucket != bucket:
            raise ValueError(f"{args.inventory} inventories {manifest.source_bucket}, not {bucket}")
        source_name = args.inventory

        def source(position: Any) -> Any:
            return iter_inventory(pipeline.s3, manifest, prefix, start=position)
    elif args.retry_outcomes:
        from indexer.backfill.verify import retryable_objects

        source_name = f"{args.url} (retryable outcomes)"

        def source(position: Any) -> Any:
            return retryable_objects(pipeline, bucket, prefix, start_after=position)
    elif not args.no_count:
        totals = count_objects(pipeline.s3, bucket, prefix)
    sink = None
    if args.enqueue:
        import boto3

        from indexer.backfill.enqueue import enqueue, resolve_queue

        sqs = boto3.client("sqs")
        try:
            url = resolve_queue(sqs, args.enqueue)
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        except Exception as exc:  # noqa: BLE001 - one line for the user
            raise BackfillError(f"cannot use the --enqueue queue: "
                                f"{describe(exc, args.enqueue)}") from exc

        def sink(objects: Any) -> int:
            return enqueue(sqs, url, bucket, objects, records_per_message=args.records_per_message)
    mode = "enqueue" if args.enqueue else "force" if args.force else "backfill"
    checkpoint = Checkpoint(args.checkpoint or default_path(source_name, mode), source_name, mode)
    if args.restart:
        checkpoint.clear()
    try:  # an unwritable checkpoint fails now, not after the first chunk's work
        import tempfile

        checkpoint.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=checkpoint.path.parent, prefix=".probe-"):
            pass
    except OSError as exc:
        raise BackfillError(f"cannot write the checkpoint: {describe(exc, str(checkpoint.path))}"
                            "; pass --checkpoint PATH in a writable folder") from exc
    checkpoint.load()  # a corrupt checkpoint is an error before any work
    bar = Bar()
    last: list[Progress] = []

    def progress(p: Progress) -> None:
        last[:] = [p]
        bar(p)

    try:
        summary = backfill(pipeline, bucket, prefix, source=source, chunk_size=args.chunk,
                           parallel=args.parallel, force=args.force, checkpoint=checkpoint,
                           progress=progress, sink=sink, totals=totals)
    except KeyboardInterrupt:
        bar.close(last[0] if last else None)
        print(f"interrupted; run the same command again to resume ({checkpoint.path})", file=out)
        return 130
    bar.close(last[0] if last else None)
    resumed = f" (resumed after {summary.resumed_from!r})" if summary.resumed_from else ""
    print(f"{args.url}{resumed}: {summary.objects:,} objects, indexed {summary.indexed:,}, "
          f"unchanged {summary.unchanged:,}, gone {summary.tombstoned:,}, "
          f"enqueued messages {summary.enqueued:,}, failed {summary.failed:,}", file=out)
    _print_failures(summary.failures, summary.failed, out)
    return 1 if summary.failed else 0


def _repair(args: argparse.Namespace, out: TextIO) -> int:
    from indexer.backfill.listing import parse_s3_url
    from indexer.backfill.repair import repair

    bucket, prefix = parse_s3_url(args.url)
    pipeline = _pipeline()
    check_bucket(pipeline.s3, bucket)
    summary = repair(pipeline, bucket, prefix, index_missing=not args.no_index_missing)
    listed = "versions and delete markers" if pipeline.all_versions else "objects"
    print(f"{args.url}: {summary.listed:,} {listed}, {summary.documents:,} documents; "
          f"missing {summary.missing:,}, stale {summary.stale:,}, "
          f"orphaned {summary.orphaned:,}, retryable {summary.retryable:,}; "
          f"indexed {summary.indexed:,}, tombstoned {summary.tombstoned:,}, "
          f"failed {summary.failed:,}", file=out)
    _print_failures(summary.failures, summary.failed, out)
    return 1 if summary.failed else 0


def _verify(args: argparse.Namespace, out: TextIO) -> int:
    import json

    from indexer.backfill.listing import parse_s3_url
    from indexer.backfill.verify import KINDS, verify

    bucket, prefix = parse_s3_url(args.url)
    pipeline = _pipeline()
    check_bucket(pipeline.s3, bucket)
    report = verify(pipeline, bucket, prefix)
    if args.json:
        print(json.dumps(report.as_json(), indent=2), file=out)
    else:
        counts = ", ".join(f"{kind} {report.counts[kind]:,}" for kind in KINDS)
        items = "versions" if report.all_versions else "keys"
        listed = "versions and delete markers" if report.all_versions else "objects"
        verdict = "no drift" if not report.drift else f"DRIFT in {report.drift:,} {items}"
        print(f"{args.url}: {report.listed:,} {listed}, {report.documents:,} documents "
              f"({report.confirmed:,} confirmed by HEAD): {counts}: {verdict}", file=out)
        for kind in KINDS:
            for key in report.samples[kind]:
                print(f"  {kind}: {key!r}", file=out)
        if report.drift:
            print(f"  fix it with: t4-backfill repair {args.url}", file=out)
    return 1 if report.drift else 0


def _reindex(args: argparse.Namespace, out: TextIO) -> int:
    from indexer.backfill.reindex import reindex
    from t4index.mapping import MAPPING_VERSION

    pipeline = _pipeline()  # the new index takes T4_INDEX_SHARDS / T4_INDEX_REPLICAS
    summary = reindex(pipeline.es, args.bucket, args.to_version or MAPPING_VERSION,
                      grace_s=args.grace, delete_old=args.delete_old, layout=pipeline.layout)
    print(f"{args.bucket}: {summary.old_index} -> {summary.new_index}: copied {summary.copied:,}, "
          f"newer already there {summary.newer_in_target:,}, repaired {summary.repaired:,}"
          + (", old index deleted" if summary.deleted_old else ""), file=out)
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    try:
        return {"backfill": _backfill, "repair": _repair, "verify": _verify,
                "reindex": _reindex}[args.command](
            args, out)
    except (ValueError, RuntimeError, IndexerError, T4IndexError) as exc:
        print(f"t4-backfill: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - AWS, engine and file errors: one line, no traceback
        print(f"t4-backfill: {describe(exc)}", file=sys.stderr)
        return 1
