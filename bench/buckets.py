"""Removing a benchmark's buckets when it ends.

moto keeps every object in its memory for as long as the stack runs: a bench that left
its buckets made the stand-in heavier for every later round and run.
"""

from __future__ import annotations

from typing import Any


def remove_bucket(s3: Any, bucket: str) -> int:
    """Delete every object of ``bucket`` (unversioned), then the bucket.

    Returns:
        How many objects were deleted.
    """
    removed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            removed += len(keys)
    s3.delete_bucket(Bucket=bucket)
    return removed
