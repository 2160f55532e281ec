"""``--processes``: several worker processes share the queues, supervised by the first."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from infra.local.worker_group import child_argv
from tests.support.aws import make_queue, queue_depth, wait_for


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def worker_group(sqs, unique_name, tmp_path):
    """A queue, a record file and a running ``--processes 3`` worker on that queue."""
    url, _, _ = make_queue(sqs, unique_name("wp"), visibility_timeout=60)
    record = tmp_path / "record.txt"
    record.touch()
    env = {**os.environ, "T4_TEST_RECORD": str(record), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local.worker", "--queue-prefix", "", "--queue-url", url,
         "--handler", "tests.support.recording_handler:handler", "--processes", "3",
         "--concurrency", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(_children(proc.pid)) == 2, timeout=30, what="two child workers")
        yield proc, url, record
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_processes_share_the_queue_and_handle_each_message_once(sqs, worker_group):
    proc, url, record = worker_group
    bodies = [f"m{i}" for i in range(300)]
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(j), "MessageBody": body} for j, body in enumerate(bodies[start:start + 10])])
    wait_for(lambda: queue_depth(sqs, url) == (0, 0), timeout=90, what="the queue to drain")
    lines = [line.split() for line in record.read_text().splitlines()]
    assert Counter(body for body, _ in lines) == Counter(bodies)
    assert len({pid for _, pid in lines}) >= 2, "one process did all the work"


def test_stopping_the_first_process_stops_the_others(worker_group):
    proc, _, _ = worker_group
    children = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    wait_for(lambda: not any(_alive(pid) for pid in children), timeout=15,
             what="the child workers to exit")


def test_a_child_that_dies_is_replaced(worker_group):
    proc, _, _ = worker_group
    victim = min(_children(proc.pid))
    os.kill(victim, signal.SIGKILL)

    def replaced() -> bool:
        alive = {pid for pid in _children(proc.pid) if _alive(pid)}
        return len(alive) == 2 and victim not in alive

    wait_for(replaced, timeout=15, what="a new child worker")


def test_children_stop_when_the_first_process_is_killed(worker_group):
    proc, _, _ = worker_group
    children = _children(proc.pid)
    proc.kill()
    proc.wait()
    wait_for(lambda: not any(_alive(pid) for pid in children), timeout=15,
             what="orphaned child workers to exit")


def test_child_command_line_keeps_options_but_not_processes_or_heartbeat():
    argv = child_argv(["--queue-url", "u", "--processes", "4", "--heartbeat=/tmp/hb",
                       "--concurrency=2", "--heartbeat", "/x", "--batch-size", "10"], 77)
    assert argv[:3] == [sys.executable, "-m", "infra.local.worker"]
    assert argv[3:] == ["--queue-url", "u", "--concurrency=2", "--batch-size", "10",
                        "--parent-pid", "77"]


def test_start_file_holds_every_process_until_it_exists(sqs, unique_name, tmp_path):
    """``--start-file``: each process loads its handler, says it is ready, and polls only
    once the file exists (a benchmark starts its clock with every process ready)."""
    url, _, _ = make_queue(sqs, unique_name("ws"), visibility_timeout=60)
    record, start, log = tmp_path / "record.txt", tmp_path / "start", tmp_path / "worker.log"
    record.touch()
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    env = {**os.environ, "T4_TEST_RECORD": str(record), "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "infra.local.worker", "--queue-prefix", "", "--queue-url",
             url, "--handler", "tests.support.recording_handler:handler", "--processes", "2",
             "--concurrency", "1", "--start-file", str(start)],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: log.read_text().count("worker ready; polling once") == 2,
                 timeout=60, what="both processes ready")
        assert queue_depth(sqs, url) == (10, 0), "a process polled before the start file"
        assert record.read_text() == ""
        start.touch()
        wait_for(lambda: queue_depth(sqs, url) == (0, 0), timeout=60, what="the queue to drain")
        assert sorted(line.split()[0] for line in record.read_text().splitlines()) == sorted(
            f"m{i}" for i in range(10))
    finally:
        proc.kill()
        proc.wait()
