"""Add t4-search's event notification to existing buckets without touching their other rules.

``PutBucketNotificationConfiguration`` replaces a bucket's whole configuration,
and S3 rejects two rules whose event types and key filters overlap. So adding a
destination is read, merge, write:

- ``merge_configuration`` (pure) drops the rule with our id (so a re-run
  updates it), checks the new rule against every other rule, and appends it;
  an overlap raises ``OverlappingNotification`` whose message names the rule in
  the way and the alternatives: EventBridge delivery (``enable_eventbridge``,
  which never conflicts), subscribing the queue to the SNS topic that rule
  already feeds, or moving that rule onto an SNS topic that fans out to both.
- ``add_notification`` / ``add_eventbridge`` / ``remove_notification`` do the
  read-merge-write on a bucket with an injected S3 client.

Command line (the deploy-time step; ``--dry-run`` prints the merged configuration)::

    python -m infra.aws.notifications add --bucket B --target-arn QUEUE_OR_TOPIC_ARN
    python -m infra.aws.notifications add --bucket B --eventbridge
    python -m infra.aws.notifications remove --bucket B
    python -m infra.aws.notifications show --bucket B

Each bucket is done on its own: a bucket that fails (an overlap, access denied, no
such bucket) gets one ``error: bucket ...`` line on stderr and the others are still
done; the exit status is 0 when every bucket succeeded, 2 when a bucket was refused
for its rules or the input, 1 when AWS failed on one.

``--prefix`` and ``--suffix`` take the key text as it is (``raw data/``); S3 matches
filters against the URL-encoded key of the event, so they are encoded here
(``raw+data/``) as S3 expects.

Caveats: S3 has no conditional write for this configuration; do not run this while
another tool edits the same bucket's notifications. A bucket whose notifications are
managed by CloudFormation (``AWS::S3::Bucket NotificationConfiguration``) or Terraform
(``aws_s3_bucket_notification``, which owns the bucket's whole configuration) loses
the rule added here at that tool's next apply: add the rule there instead (the
deployment checklist gives both snippets).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

DEFAULT_EVENTS: tuple[str, ...] = (
    "s3:ObjectCreated:*",
    "s3:ObjectRemoved:*",
    "s3:LifecycleExpiration:*",
    "s3:ObjectTagging:*",
    "s3:ObjectRestore:*",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
)
"""What the indexer needs: expirations are not part of ``s3:ObjectRemoved:*``; tag
changes (``ObjectTagging:Put/Delete``), restores (``ObjectRestore:Post/Completed/Delete``)
and storage class changes update the documents' tags, restore state and storage class
(a completed restore makes an archived object's content readable, and extracted)."""
DEFAULT_RULE_ID = "t4-search-indexer"


def encode_filter_value(text: str) -> str:
    """A key prefix or suffix as S3 matches it: URL-encoded as event keys are (a space is
    ``+``, ``/`` stays, other special characters are percent-encoded)."""
    return quote_plus(text, safe="/")

_KINDS = {
    # configuration list -> the ARN field of its entries
    "QueueConfigurations": "QueueArn",
    "TopicConfigurations": "TopicArn",
    "LambdaFunctionConfigurations": "LambdaFunctionArn",
}
_SERVICE_KIND = {"sqs": "QueueConfigurations", "sns": "TopicConfigurations",
                 "lambda": "LambdaFunctionConfigurations"}


class NotificationError(Exception):
    """Base of this module's errors."""


class OverlappingNotification(NotificationError):
    """The new rule overlaps a rule the bucket already has; S3 would reject the pair."""

    def __init__(self, bucket: str, new: Rule, existing: Rule) -> None:
        self.bucket, self.new, self.existing = bucket, new, existing
        shared = sorted(_shared_events(new.events, existing.events))
        lines = [
            f"bucket {bucket!r}: the new rule {new.rule_id!r} ({new.describe()}) overlaps the "
            f"existing rule {existing.rule_id!r} ({existing.describe()}) on {', '.join(shared)}; "
            "S3 rejects overlapping prefix/suffix rules for the same event type, so nothing "
            "was changed. Alternatives:",
            "  1. EventBridge as the source: `python -m infra.aws.notifications add --bucket "
            f"{bucket} --eventbridge` (adds EventBridge delivery, leaves every rule as it is) "
            "and deploy pipeline.yaml with EventSource=eventbridge.",
        ]
        if existing.kind == "TopicConfigurations":
            lines.append(
                f"  2. SNS fan-out from the topic that rule already feeds: deploy pipeline.yaml "
                f"with EventSource=sns and ExistingTopicArn={existing.target_arn} (the queue "
                "subscribes to it; the indexer reads SNS envelopes).")
        else:
            lines.append(
                "  2. SNS fan-out: deploy pipeline.yaml with EventSource=sns (it creates a "
                f"topic), point the existing rule {existing.rule_id!r} at that topic, subscribe "
                f"{existing.target_arn} to it, then add the topic here with --target-arn.")
        lines.append("  3. Narrow the rules with --prefix/--suffix so that they do not overlap.")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Rule:
    """One entry of a bucket's notification configuration, normalised for comparison."""

    kind: str
    target_arn: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""
    rule_id: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_target(cls, target_arn: str, *, events: Sequence[str] = DEFAULT_EVENTS,
                   prefix: str = "", suffix: str = "", rule_id: str = DEFAULT_RULE_ID) -> Rule:
        """The rule that sends ``events`` under ``prefix``/``suffix`` to a queue or topic ARN.

        ``prefix`` and ``suffix`` are plain key text; the rule holds them URL-encoded
        (``encode_filter_value``), as S3 matches them.

        Raises:
            NotificationError: the ARN is not an SQS queue, SNS topic or Lambda function.
        """
        parts = target_arn.split(":")
        kind = _SERVICE_KIND.get(parts[2]) if len(parts) >= 6 and parts[0] == "arn" else None
        if kind is None:
            raise NotificationError(
                f"target {target_arn!r} is not an SQS queue, SNS topic or Lambda function ARN")
        if not events:
            raise NotificationError("a rule needs at least one event type")
        return cls(kind, target_arn, tuple(events), encode_filter_value(prefix),
                   encode_filter_value(suffix), rule_id)

    @classmethod
    def from_entry(cls, kind: str, entry: dict[str, Any]) -> Rule:
        """Normalise one entry of a ``*Configurations`` list as S3 returns it."""
        prefix = suffix = ""
        for flt in entry.get("Filter", {}).get("Key", {}).get("FilterRules", []):
            name = str(flt.get("Name", "")).lower()
            if name == "prefix":
                prefix = flt.get("Value", "")
            elif name == "suffix":
                suffix = flt.get("Value", "")
        return cls(kind, entry[_KINDS[kind]], tuple(entry.get("Events", ())), prefix, suffix,
                   entry.get("Id", ""), raw=entry)

    def to_entry(self) -> dict[str, Any]:
        """The entry as ``PutBucketNotificationConfiguration`` takes it."""
        entry: dict[str, Any] = {"Id": self.rule_id, _KINDS[self.kind]: self.target_arn,
                                 "Events": list(self.events)}
        # S3 accepts either case (and answers "Prefix"); moto only the lower case
        filters = [{"Name": n, "Value": v} for n, v in (("prefix", self.prefix),
                                                         ("suffix", self.suffix)) if v]
        if filters:
            entry["Filter"] = {"Key": {"FilterRules": filters}}
        return entry

    def describe(self) -> str:
        """A short human description: events, filter and target."""
        return (f"{', '.join(self.events)} prefix={self.prefix!r} suffix={self.suffix!r} "
                f"-> {self.target_arn}")

    def overlaps(self, other: Rule) -> bool:
        """Whether S3 would reject these two rules side by side.

        Two rules overlap when they share an event type (``s3:ObjectCreated:*``
        covers ``s3:ObjectCreated:Put``) and a key could match both filters: one
        prefix starts the other (an empty prefix matches every key) and one suffix
        ends the other.
        """
        return (bool(_shared_events(self.events, other.events))
                and (self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix))
                and (self.suffix.endswith(other.suffix) or other.suffix.endswith(self.suffix)))


def _event_covers(wide: str, narrow: str) -> bool:
    return wide == narrow or (wide.endswith("*") and narrow.startswith(wide[:-1]))


def _shared_events(a: Iterable[str], b: Iterable[str]) -> set[str]:
    a, b = list(a), list(b)
    return {x for x in a for y in b if _event_covers(x, y)} | {
        y for x in a for y in b if _event_covers(y, x)}


def clean_configuration(config: dict[str, Any] | None) -> dict[str, Any]:
    """A configuration as returned by ``GetBucketNotificationConfiguration``, ready to put back.

    Drops ``ResponseMetadata`` and empty lists; keeps everything else (including
    ``EventBridgeConfiguration``) unchanged.
    """
    out: dict[str, Any] = {}
    for name, value in (config or {}).items():
        if name == "ResponseMetadata" or (name in _KINDS and not value):
            continue
        out[name] = copy.deepcopy(value)
    return out


def existing_rules(config: dict[str, Any]) -> list[Rule]:
    """Every queue, topic and Lambda rule of a configuration."""
    return [Rule.from_entry(kind, entry) for kind in _KINDS for entry in config.get(kind, [])]


def merge_configuration(bucket: str, config: dict[str, Any] | None, rule: Rule) -> dict[str, Any]:
    """``config`` with ``rule`` added (or updated, when a rule of the same id exists).

    Returns:
        A new configuration; ``config`` is not changed.
    Raises:
        OverlappingNotification: another rule overlaps ``rule``.
    """
    if rule in existing_rules(clean_configuration(config)):
        return clean_configuration(config)  # already there: S3 may spell the filter names apart
    merged = remove_rule(config, rule.rule_id)
    for other in existing_rules(merged):
        if rule.overlaps(other):
            raise OverlappingNotification(bucket, rule, other)
    merged.setdefault(rule.kind, []).append(rule.to_entry())
    return merged


def remove_rule(config: dict[str, Any] | None, rule_id: str) -> dict[str, Any]:
    """``config`` without the rules whose id is ``rule_id`` (a new dict)."""
    out = clean_configuration(config)
    for kind in _KINDS:
        if kind in out:
            out[kind] = [e for e in out[kind] if e.get("Id") != rule_id]
            if not out[kind]:
                del out[kind]
    return out


def enable_eventbridge(config: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` with EventBridge delivery on; it never overlaps a rule (a new dict)."""
    out = clean_configuration(config)
    out["EventBridgeConfiguration"] = {}
    return out


@dataclass(frozen=True)
class Change:
    """What a command did (or would do, with ``dry_run``) to one bucket."""

    bucket: str
    before: dict[str, Any]
    after: dict[str, Any]
    written: bool

    @property
    def changed(self) -> bool:
        return self.before != self.after


def _read(s3: Any, bucket: str) -> dict[str, Any]:
    return clean_configuration(s3.get_bucket_notification_configuration(Bucket=bucket))


def _write(s3: Any, bucket: str, before: dict[str, Any], after: dict[str, Any],
           dry_run: bool) -> Change:
    written = not dry_run and before != after
    if written:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=after)
    return Change(bucket, before, after, written)


def add_notification(s3: Any, bucket: str, rule: Rule, *, dry_run: bool = False) -> Change:
    """Add ``rule`` to ``bucket``'s notifications, keeping every other rule.

    The destination must already allow S3 to send to it (the queue or topic
    policy of ``pipeline.yaml``), or S3 refuses the configuration.

    Raises:
        OverlappingNotification: another rule overlaps; the bucket is unchanged.
    """
    before = _read(s3, bucket)
    return _write(s3, bucket, before, merge_configuration(bucket, before, rule), dry_run)


def add_eventbridge(s3: Any, bucket: str, *, dry_run: bool = False) -> Change:
    """Turn on EventBridge delivery for ``bucket``, keeping every rule."""
    before = _read(s3, bucket)
    return _write(s3, bucket, before, enable_eventbridge(before), dry_run)


def remove_notification(s3: Any, bucket: str, rule_id: str = DEFAULT_RULE_ID, *,
                        dry_run: bool = False) -> Change:
    """Remove our rule from ``bucket``, keeping every other rule (EventBridge is left on)."""
    before = _read(s3, bucket)
    return _write(s3, bucket, before, remove_rule(before, rule_id), dry_run)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.aws.notifications",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("add", "remove", "show"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--bucket", action="append", required=True,
                         help="bucket name (repeat for several buckets)")
        cmd.add_argument("--endpoint-url", help="S3 endpoint (default: boto3's own rules)")
        if name != "show":
            cmd.add_argument("--rule-id", default=DEFAULT_RULE_ID)
            cmd.add_argument("--dry-run", action="store_true",
                             help="print the resulting configuration, change nothing")
        if name == "add":
            target = cmd.add_mutually_exclusive_group(required=True)
            target.add_argument("--target-arn", help="SQS queue or SNS topic ARN")
            target.add_argument("--eventbridge", action="store_true",
                                help="turn on EventBridge delivery instead of adding a rule")
            cmd.add_argument("--prefix", default="")
            cmd.add_argument("--suffix", default="")
            cmd.add_argument("--event", action="append", dest="events",
                             help=f"event type (repeatable; default {' '.join(DEFAULT_EVENTS)})")
    return parser


def _one_bucket(s3: Any, bucket: str, args: argparse.Namespace) -> None:
    if args.command == "show":
        print(json.dumps({bucket: _read(s3, bucket)}, indent=2))
        return
    if args.command == "remove":
        change = remove_notification(s3, bucket, args.rule_id, dry_run=args.dry_run)
    elif args.eventbridge:
        change = add_eventbridge(s3, bucket, dry_run=args.dry_run)
    else:
        rule = Rule.for_target(args.target_arn, events=args.events or DEFAULT_EVENTS,
                               prefix=args.prefix, suffix=args.suffix, rule_id=args.rule_id)
        change = add_notification(s3, bucket, rule, dry_run=args.dry_run)
    verb = "would write" if args.dry_run else ("updated" if change.written else "unchanged")
    print(f"{bucket}: {verb}")
    if args.dry_run:
        print(json.dumps(change.after, indent=2))


def _aws_failure(exc: Exception) -> str:
    """One line for an AWS error: its code and message, no traceback."""
    error = getattr(exc, "response", {}).get("Error", {})
    if error:
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def _report(bucket: str, message: str) -> None:
    prefix = f"bucket {bucket!r}: "
    print(f"error: {message if message.startswith(prefix) else prefix + message}",
          file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: every bucket is tried; returns the exit status (0 all
    done, 2 a bucket refused for its rules or the input, 1 an AWS failure)."""
    args = _parser().parse_args(argv)
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = boto3.client("s3", endpoint_url=args.endpoint_url)
    status = 0
    for bucket in args.bucket:
        try:
            _one_bucket(s3, bucket, args)
        except NotificationError as exc:
            _report(bucket, str(exc))
            status = max(status, 2)
        except (ClientError, BotoCoreError) as exc:
            _report(bucket, _aws_failure(exc))
            status = max(status, 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
