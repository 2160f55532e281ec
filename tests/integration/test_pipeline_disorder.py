"""Disorder, repetition and races end in the bucket's true state."""

from __future__ import annotations

import random
import threading

import pytest

from tests.support.events import load_event
from tests.support.indexing import live_view, make_pipeline, run


def _true_state(s3, bucket):
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
    return out


@pytest.mark.parametrize("seed", range(4))
def test_shuffled_duplicated_events_interleaved_with_changes(es, s3, unique_name, seed,
                                                             drop_indices):
    """A property test: random puts/deletes on a few keys, their events delivered late,
    twice, in shuffled batches between further changes; the index ends as the bucket is."""
    rng = random.Random(seed)
    bucket = unique_name(f"dis{seed}")
    s3.create_bucket(Bucket=bucket)
    drop_indices(bucket)
    pipeline = make_pipeline(es, s3)
    keys = ["k/a.txt", "k/b.txt", "k c+.txt", "k/ü.txt"]
    backlog: list[dict] = []
    for step in range(40):
        key = rng.choice(keys)
        if rng.random() < 0.6:
            s3.put_object(Bucket=bucket, Key=key, Body=f"{key} step {step}".encode())
            name = "s3_put"
        else:
            s3.delete_object(Bucket=bucket, Key=key)
            name = "s3_delete"
        event = load_event(name, bucket=bucket, key=key, version_id=None)
        backlog += [event] * rng.choice([1, 1, 2])  # at-least-once: some twice
        if rng.random() < 0.3 and backlog:  # deliver a shuffled part of the backlog now
            rng.shuffle(backlog)
            cut = rng.randint(1, len(backlog))
            batch, backlog = backlog[:cut], backlog[cut:]
            assert run(pipeline, *batch).failed == {}
    rng.shuffle(backlog)
    for start in range(0, len(backlog), 10):
        assert run(pipeline, *backlog[start:start + 10]).failed == {}
    assert live_view(es, bucket) == _true_state(s3, bucket)


def test_two_workers_racing_on_one_key_end_in_the_true_state(es, s3, bucket, drop_indices):
    drop_indices(bucket)
    key = "raced.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"old")
    read_done = threading.Event()
    release = threading.Event()

    def pause_slow_worker():
        read_done.set()
        assert release.wait(30)

    slow = make_pipeline(es, s3, before_write=pause_slow_worker)
    fast = make_pipeline(es, s3)
    event = load_event("s3_put", bucket=bucket, key=key, version_id=None)
    results = {}
    thread = threading.Thread(target=lambda: results.setdefault("slow", run(slow, event)))
    thread.start()
    assert read_done.wait(30)  # the slow worker has read "old" and is about to write it
    slow.before_write = None
    s3.put_object(Bucket=bucket, Key=key, Body=b"new")
    assert run(fast, event).written == 1
    release.set()
    thread.join(30)
    assert results["slow"].failed == {}
    assert live_view(es, bucket) == {key: "new"}
