"""The indexer Lambda: SQS batches of S3 events -> the index.

Until the indexing pipeline lands, the handler logs each S3 record it receives
and reports no failures.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import unquote_plus

log = logging.getLogger("t4.indexer")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event.get("Records", []):
        try:
            body = json.loads(record.get("body", "{}"))
        except json.JSONDecodeError:
            body = {}
        for s3_record in body.get("Records", []):
            log.info("event %s s3://%s/%s", s3_record.get("eventName"),
                     s3_record.get("s3", {}).get("bucket", {}).get("name"),
                     unquote_plus(s3_record.get("s3", {}).get("object", {}).get("key", "")))
        if body.get("Event") == "s3:TestEvent":
            log.info("test event for bucket %s", body.get("Bucket"))
    return {"batchItemFailures": []}
