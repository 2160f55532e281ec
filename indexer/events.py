"""S3 event payloads -> typed object events.

Accepted shapes, each decoded by one explicit step:

- an S3 notification (``{"Records": [{"eventSource": "aws:s3", ...}]}``), directly or as
  the body of an SQS message;
- an SNS envelope inside an SQS message, whose ``Message`` string is the S3 notification;
- an EventBridge event (``"source": "aws.s3"``, ``detail-type`` "Object Created",
  "Object Deleted", "Object Tags Added/Deleted", "Object Restore
  Initiated/Completed/Expired", "Object Storage Class Changed", "Object Access Tier
  Changed"), directly or inside SQS;
- ``s3:TestEvent`` (sent when a bucket's notification configuration is set): ignored.

Keys arrive URL-encoded (``a b+c`` as ``a+b%2Bc``); ``_decode_key`` is the one place
that undoes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote_plus

Kind = Literal["created", "removed", "delete_marker", "expired", "tagging", "restore",
               "transition", "other"]
"""What happened. The indexer reads the key's state whatever the kind; ``tagging``,
``restore`` and ``transition`` usually change only the tags, restore state or storage
class, which are updated without extraction (``indexer.freshness.described_only``)."""


class EventParseError(ValueError):
    """A payload that is not an S3 event this indexer understands (it will not parse later)."""


@dataclass(frozen=True)
class ObjectEvent:
    """One change to one object, as S3 reported it."""

    bucket: str
    key: str
    kind: Kind
    event_name: str
    version_id: str | None = None
    sequencer: str | None = None
    event_time: datetime | None = None
    size: int | None = None
    etag: str | None = None


def _decode_key(raw: str) -> str:
    return unquote_plus(raw)


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / (1000 if value > 1e11 else 1)).astimezone()
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _kind_of_notification(name: str) -> Kind:
    name = name.removeprefix("s3:")
    if name.startswith("ObjectCreated:"):
        return "created"
    if name == "ObjectRemoved:DeleteMarkerCreated":
        return "delete_marker"
    if name.startswith("ObjectRemoved:"):
        return "removed"
    if name.startswith("LifecycleExpiration:"):
        return "delete_marker" if name.endswith("DeleteMarkerCreated") else "expired"
    if name.startswith("ObjectTagging:"):
        return "tagging"
    if name.startswith("ObjectRestore:"):
        return "restore"
    if name in ("LifecycleTransition", "IntelligentTiering"):
        return "transition"
    return "other"


_EVENTBRIDGE_KINDS: dict[str, Kind] = {
    "Object Created": "created",
    "Object Tags Added": "tagging",
    "Object Tags Deleted": "tagging",
    "Object Restore Initiated": "restore",
    "Object Restore Completed": "restore",
    "Object Restore Expired": "restore",
    "Object Storage Class Changed": "transition",
    "Object Access Tier Changed": "transition",
}
EVENTBRIDGE_TYPES: tuple[str, ...] = (*_EVENTBRIDGE_KINDS, "Object Deleted")
"""The EventBridge ``detail-type`` values this indexer follows (the deployment's rule
pattern lists exactly these)."""


def _from_record(record: dict[str, Any]) -> ObjectEvent:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return ObjectEvent(
            bucket=s3["bucket"]["name"],
            key=_decode_key(obj["key"]),
            kind=_kind_of_notification(record["eventName"]),
            event_name=record["eventName"],
            version_id=obj.get("versionId") or None,
            sequencer=obj.get("sequencer") or None,
            event_time=_time(record.get("eventTime")),
            size=obj.get("size"),
            etag=obj.get("eTag") or obj.get("etag"),
        )
    except (KeyError, TypeError) as exc:
        raise EventParseError(f"S3 record without {exc}: {str(record)[:200]}") from exc


def _from_eventbridge(event: dict[str, Any]) -> ObjectEvent:
    detail = event.get("detail") or {}
    detail_type = event.get("detail-type", "")
    try:
        obj = detail["object"]
        bucket = detail["bucket"]["name"]
        key = obj["key"]
    except (KeyError, TypeError) as exc:
        raise EventParseError(f"EventBridge S3 event without {exc}") from exc
    kind: Kind = _EVENTBRIDGE_KINDS.get(detail_type, "other")
    if detail_type == "Object Deleted":
        marker = detail.get("deletion-type") == "Delete Marker Created"
        kind = "delete_marker" if marker else "removed"
    reason = detail.get("reason") or ""
    return ObjectEvent(
        bucket=bucket,
        key=_decode_key(key),
        kind=kind,
        event_name=f"{detail_type}:{reason}".rstrip(":"),
        version_id=obj.get("version-id") or None,
        sequencer=obj.get("sequencer") or None,
        event_time=_time(event.get("time")),
        size=obj.get("size"),
        etag=obj.get("etag") or obj.get("eTag"),
    )


def parse_payload(payload: Any) -> list[ObjectEvent]:
    """The object events in one decoded payload (S3 notification, SNS envelope, EventBridge).

    Returns:
        The events in payload order; ``[]`` for ``s3:TestEvent`` and for event kinds
        this indexer does not follow (replication, ACL changes ...).
    Raises:
        EventParseError: the payload is none of the accepted shapes.
    """
    if not isinstance(payload, dict):
        raise EventParseError(f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("Event") == "s3:TestEvent":
        return []
    if payload.get("Type") == "Notification" and "Message" in payload:  # SNS envelope
        return parse_body(payload["Message"])
    if payload.get("source") == "aws.s3" and "detail" in payload:
        event = _from_eventbridge(payload)
        return [event] if event.kind != "other" else []
    records = payload.get("Records")
    if isinstance(records, list):
        events = [_from_record(r) for r in records if isinstance(r, dict)]
        return [e for e in events if e.kind != "other"]
    raise EventParseError(f"not an S3 event: {json.dumps(payload)[:200]}")


def parse_body(body: str) -> list[ObjectEvent]:
    """The object events in an SQS message body (or an SNS ``Message`` string).

    Raises:
        EventParseError: the body is not JSON or not an accepted shape.
    """
    try:
        payload = json.loads(body)
    except (TypeError, json.JSONDecodeError) as exc:
        raise EventParseError(f"message body is not JSON: {str(body)[:200]!r}") from exc
    return parse_payload(payload)


def sequencer_newer(a: str | None, b: str | None) -> bool:
    """True when sequencer ``a`` orders after ``b`` (same key only; hex, left-padded)."""
    if a is None or b is None:
        return False
    width = max(len(a), len(b))
    return int(a.rjust(width, "0"), 16) > int(b.rjust(width, "0"), 16)
