"""Recorded AWS payloads (tests/events/*.json) with the test's bucket, key and version put in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load_event(name: str, *, bucket: str = "bucket", key: str = "key",
               version_id: str | None = None, encode_key: bool = True) -> dict[str, Any]:
    """The payload ``tests/events/<name>.json`` for ``bucket``/``key``/``version_id``.

    S3 notifications carry the key URL-encoded (``quote_plus``), as AWS sends it.
    A None ``version_id`` removes the version fields, as in an unversioned bucket.
    """
    text = (EVENTS / f"{name}.json").read_text()

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if v == "{version_id}" and version_id is None:
                    continue
                out[k] = fill(v)
            return out
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, str):
            if value == "{key}":
                return quote_plus(key) if encode_key else key
            if value.startswith("{") and value.endswith("}") and '"' in value:
                return json.dumps(fill(json.loads(value)))  # an SNS Message string
            return (value.replace("{bucket}", bucket)
                    .replace("{version_id}", version_id or ""))
        return value

    return fill(json.loads(text))
