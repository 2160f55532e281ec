"""A Lambda handler for worker-process tests: records which process handled each message.

Each record appends ``<body> <pid>`` to the file named by ``T4_TEST_RECORD``.
"""

from __future__ import annotations

import os
import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Record every message of the batch, then take a little time, as real work does."""
    with open(os.environ["T4_TEST_RECORD"], "a", encoding="utf-8") as out:
        for record in event["Records"]:
            out.write(f"{record['body']} {os.getpid()}\n")
    time.sleep(0.05)
    return {"batchItemFailures": []}
