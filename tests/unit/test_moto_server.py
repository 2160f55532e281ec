"""The stack's moto server and its patches change moto's cost, never its behaviour."""

from __future__ import annotations

import contextlib
import datetime
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core import utils as moto_utils
from moto.sqs import models
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import sqs_backends

from infra.local import moto_patches
from tests.support.moto import free_port, serving

ORIGINAL_RETENTION = models.SQSBackend.is_message_valid_based_on_retention_period


@pytest.fixture
def backend():
    account = f"{uuid.uuid4().int % 10**12:012d}"
    return sqs_backends[account]["us-east-1"]


def test_clock_matches_moto_clock() -> None:
    assert abs(moto_patches._unix_time() - moto_utils.unix_time()) < 1.0
    assert abs(moto_patches._unix_time_millis() - moto_utils.unix_time_millis()) < 1000.0
    moment = datetime.datetime(2024, 2, 29, 13, 14, 15, 123456)
    assert moto_patches._unix_time(moment) == pytest.approx(moto_utils.unix_time(moment))
    assert moto_patches._unix_time_millis(moment) == pytest.approx(
        moto_utils.unix_time_millis(moment))


@pytest.mark.parametrize("age_s, retention_s", [
    (0, 60), (59, 60), (61, 60), (86400 * 4 - 5, 86400 * 4), (86400 * 4 + 5, 86400 * 4)])
def test_retention_check_agrees_with_moto(backend, age_s: int, retention_s: int) -> None:
    backend.create_queue("q", MessageRetentionPeriod=str(retention_s))
    message = backend.send_message("q", "body")
    message.sent_timestamp = (time.time() - age_s) * 1000
    expected = ORIGINAL_RETENTION(backend, "q", message)
    assert moto_patches._retention_ok(backend, "q", message) is expected
    assert expected is (age_s < retention_s)


def test_patched_queue_delivers_visible_skips_expired_and_counts(backend) -> None:
    moto_patches.apply()
    moto_patches.apply()  # idempotent
    assert models.SQSBackend.is_message_valid_based_on_retention_period is \
        moto_patches._retention_ok
    backend.create_queue("q", MessageRetentionPeriod="60")
    for i in range(3):
        backend.send_message("q", f"m{i}")
    old = backend.send_message("q", "expired")  # last: moto stops its scan at one
    old.sent_timestamp = (time.time() - 120) * 1000
    delayed = backend.send_message("q", "later", delay_seconds=30)
    assert delayed.delayed
    queue = backend.get_queue("q")
    assert queue.approximate_number_of_messages == 4  # the delayed one is not visible

    received = backend.receive_message("q", 10, 0, 30)
    bodies = [m.body for m in received]
    assert "expired" not in bodies and "later" not in bodies
    assert sorted(bodies) == ["m0", "m1", "m2"]
    assert queue.approximate_number_of_messages_not_visible >= 3
    assert backend.receive_message("q", 10, 0, 30) == []  # in flight, not delivered twice


def _scans(queue) -> tuple:
    return ([m.body for m in queue.messages], queue.approximate_number_of_messages,
            queue.approximate_number_of_messages_delayed,
            queue.approximate_number_of_messages_not_visible)


def test_queue_scans_agree_with_moto(backend, monkeypatch) -> None:
    moto_patches.apply()
    backend.create_queue("q", VisibilityTimeout="60")
    for i in range(12):
        backend.send_message("q", f"m{i}")
    backend.send_message("q", "later", delay_seconds=30)
    backend.receive_message("q", 4, 0, 60)  # four in flight
    queue = backend.get_queue("q")
    patched = _scans(queue)
    for name, original in moto_patches.ORIGINAL.items():
        if name != "Queue.delete_message":
            monkeypatch.setattr(models.Queue, name.split(".")[1], original)
    assert _scans(queue) == patched
    assert patched[1:] == (8, 1, 4) and len(patched[0]) == 8 and "later" not in patched[0]


def test_receipt_handles_look_like_motos_and_differ() -> None:
    import string

    from moto.sqs.utils import generate_receipt_handle

    handles = {moto_patches._receipt_handle() for _ in range(1000)}
    theirs = generate_receipt_handle()
    assert len(handles) == 1000
    for handle in handles:
        assert len(handle) == len(theirs) and set(handle) <= set(string.ascii_lowercase)


def _delete_story(backend) -> tuple:
    """Deletes of messages in flight, twice, after a visibility reset, by an old handle."""
    backend.create_queue("q", VisibilityTimeout="60")
    for i in range(30):
        backend.send_message("q", f"m{i}")
    got = backend.receive_message("q", 10, 0, 60)
    for message in got[:5]:
        backend.delete_message("q", message.receipt_handle)
    backend.delete_message("q", got[0].receipt_handle)  # again: no error, as in SQS
    reset = got[5]
    backend.change_message_visibility("q", reset.receipt_handle, visibility_timeout=0)
    backend.delete_message("q", reset.receipt_handle)  # no longer in flight
    old_handle = got[6].receipt_handle
    backend.change_message_visibility("q", old_handle, visibility_timeout=0)
    backend.receive_message("q", 30, 0, 60)  # received again: a new handle
    backend.delete_message("q", old_handle)  # SQS may refuse; moto deletes
    with pytest.raises(ReceiptHandleIsInvalid):
        backend.delete_message("q", "no-such-handle")
    queue = backend.get_queue("q")
    return (sorted(m.body for m in queue._messages),
            sorted(m.body for m in queue.pending_messages))


def test_delete_agrees_with_moto(backend, monkeypatch) -> None:
    moto_patches.apply()
    patched = _delete_story(backend)
    assert len(patched[0]) == 30 - 7 and patched[0] == patched[1]
    monkeypatch.setattr(models.Queue, "delete_message",
                        moto_patches.ORIGINAL["Queue.delete_message"])
    other = sqs_backends[f"{uuid.uuid4().int % 10**12:012d}"]["us-east-1"]
    assert _delete_story(other) == patched


def test_remembered_name_helpers_answer_as_moto() -> None:
    from moto.core import responses, utils
    from moto.sqs import models as sqs_models
    from moto.sqs.responses import SQSResponse

    moto_patches.apply()
    assert responses.method_names_from_class is not utils.method_names_from_class
    for _ in range(2):
        assert list(responses.method_names_from_class(SQSResponse)) == \
            utils.method_names_from_class(SQSResponse)
    for name in ("ReceiveMessage", "DeleteMessageBatch", "ApproximateNumberOfMessages",
                 "KmsMasterKeyId", "FifoQueue"):
        assert responses.camelcase_to_underscores(name) == utils.camelcase_to_underscores(name)
        assert sqs_models.camelcase_to_underscores(name) == utils.camelcase_to_underscores(name)


def test_every_patch_applies_to_the_pinned_moto() -> None:
    assert moto_patches.apply() == ["dispatch", "sqs", "timestamps"]


@pytest.mark.parametrize("value", [
    "2026-12-05T02:13:09.000Z", "2026-12-05T02:13:09Z", "2026-12-05T02:13:09.123456Z",
    "2026-12-05T02:13:09", "2026-12-05T02:13:09+02:00", "2026-12-05T02:13:09.5-07:30",
    "2026-12-05", "1733364789", "0", "Thu, 05 Dec 2026 02:13:09 GMT", "2026-02-30T00:00:00Z",
    datetime.datetime(2026, 12, 5, 2, 13, 9), datetime.datetime(2026, 12, 5, tzinfo=datetime.UTC),
])
def test_timestamps_read_as_botocore_reads_them(value: Any) -> None:
    """The serializer's timestamp reader gives botocore's datetime, or botocore's error."""
    from botocore.utils import parse_to_aware_datetime
    from moto.core.serialize import TimestampSerializer

    try:
        expected: Any = parse_to_aware_datetime(value)
    except Exception as exc:  # noqa: BLE001 - the error must be the same
        with pytest.raises(type(exc)):
            moto_patches.aware_datetime(value)
        return
    got = moto_patches.aware_datetime(value)
    assert got == expected and got.utcoffset() == expected.utcoffset() == datetime.timedelta(0)
    serializer = TimestampSerializer(TimestampSerializer.TIMESTAMP_FORMAT_ISO8601)
    for fmt in ("iso8601", "iso8601_zeroed", "rfc822", "unixtimestamp"):
        convert = getattr(serializer, f"_timestamp_{fmt}")
        assert convert(got) == convert(expected)


def test_dispatch_answers_as_moto_does() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_patches.apply()
    app = DomainDispatcherApplication(create_backend_app)
    for host in ("s3.us-east-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com",
                 "sns.us-east-1.amazonaws.com", "moto_api", None):
        first = app.get_backend_for_host(host)
        assert app.get_backend_for_host(host) == first
    assert app.get_backend_for_host("sqs.eu-west-1.amazonaws.com") == "sqs"
    assert app.get_backend_for_host("s3.us-east-1.amazonaws.com") == "s3"


@pytest.fixture
def served() -> Iterator[str]:
    with serving(threads=4) as (url, _server):
        yield url


def test_served_moto_keeps_connections_and_metadata_spelling(served) -> None:
    import http.client
    from urllib.parse import urlparse

    import boto3

    s3 = boto3.client("s3", endpoint_url=served, region_name="us-east-1",
                      aws_access_key_id="k", aws_secret_access_key="s")
    s3.create_bucket(Bucket="spelling")
    s3.put_object(Bucket="spelling", Key="a b+c/ü.txt", Body=b"hello",
                  Metadata={"my_key": "v1", "Other-Key": "v2"})
    head = s3.head_object(Bucket="spelling", Key="a b+c/ü.txt")
    assert head["Metadata"] == {"my_key": "v1", "other-key": "v2"}
    ranged = s3.get_object(Bucket="spelling", Key="a b+c/ü.txt", Range="bytes=1-3")
    assert ranged["Body"].read() == b"ell" and ranged["ContentRange"] == "bytes 1-3/5"
    awkward = ["percent%20/e%2Ff%.txt", "quote's & amp=eq?.txt", "plus+sign/ü é.txt"]
    for key in awkward:
        s3.put_object(Bucket="spelling", Key=key, Body=key.encode())
        assert s3.get_object(Bucket="spelling", Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="spelling")["Contents"]]
    assert sorted(listed) == sorted(awkward + ["a b+c/ü.txt"])
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="spelling", Key="missing")

    url = urlparse(served)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    for _ in range(3):  # one TCP connection serves every request
        conn.request("GET", "/moto-api/")
        response = conn.getresponse()
        response.read()
        assert response.getheader("Connection", "").lower() != "close"
    conn.close()


def test_served_moto_keeps_many_idle_connections_open(served) -> None:
    """SDK clients each keep a pool of connections; none is closed for being idle."""
    import http.client
    from urllib.parse import urlparse

    url = urlparse(served)
    conns = [http.client.HTTPConnection(url.hostname, url.port, timeout=10) for _ in range(40)]
    try:
        for _ in range(2):
            for conn in conns:
                conn.request("GET", "/moto-api/")
                response = conn.getresponse()
                response.read()
                assert response.getheader("Connection", "").lower() != "close"
        assert all(conn.sock is not None for conn in conns)
    finally:
        for conn in conns:
            conn.close()


def test_long_polls_do_not_starve_other_requests() -> None:
    """More long polls than starting threads: the pool grows, a plain call still answers."""
    import boto3
    from botocore.config import Config

    with serving(threads=2, most=64) as (endpoint, server):
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="k", aws_secret_access_key="s",
                           config=Config(max_pool_connections=20, read_timeout=30))
        url = sqs.create_queue(QueueName="idle")["QueueUrl"]
        polls = [threading.Thread(target=sqs.receive_message,
                                  kwargs={"QueueUrl": url, "WaitTimeSeconds": 3}, daemon=True)
                 for _ in range(8)]
        for poll in polls:
            poll.start()

        def busy() -> int:  # server threads holding a request
            pool = server.requests
            return len(pool._threads) - pool.idle

        deadline = time.monotonic() + 10
        while busy() < len(polls):  # every long poll is held by the server now
            assert time.monotonic() < deadline, f"only {busy()} long polls reached the server"
            time.sleep(0.05)
        started = time.monotonic()
        sqs.list_queues()
        assert time.monotonic() - started < 2.0, "a plain call waited for the long polls"
        for poll in polls:
            poll.join(timeout=10)


def test_sends_deletes_and_receives_at_once_lose_and_repeat_nothing(backend) -> None:
    """One sender, two receivers deleting what they get: every message exactly once.

    Unpatched, moto's delete rebuilds the queue's list outside the lock a send
    appends under (a message sent meanwhile can vanish), and two receives can take
    the same message.
    """
    import sys

    moto_patches.apply()
    backend.create_queue("q", VisibilityTimeout="60")
    total, seen, errors = 2000, [], []
    lock, sent = threading.Lock(), threading.Event()

    def send() -> None:
        for i in range(total):
            backend.send_message("q", f"m{i}")
        sent.set()

    def consume() -> None:
        idle = 0
        try:
            while idle < 50:
                got = backend.receive_message("q", 10, 0, 60)
                if not got:
                    idle += sent.is_set()
                    time.sleep(0.001)
                    continue
                idle = 0
                with lock:
                    seen.extend(m.body for m in got)
                for message in got:
                    backend.delete_message("q", message.receipt_handle)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a busy server does
    try:
        threads = [threading.Thread(target=send)] + [
            threading.Thread(target=consume) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(switch)
    assert errors == []
    assert len(seen) == total, f"{len(seen) - len(set(seen))} delivered twice"
    assert set(seen) == {f"m{i}" for i in range(total)}
    assert backend.get_queue("q")._messages == []


def test_sigterm_stops_the_server_at_once_even_during_a_long_poll() -> None:
    import signal
    import subprocess
    import sys
    import urllib.request

    import boto3

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "infra.local.moto_server", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                           aws_access_key_id="k", aws_secret_access_key="s")
        url = sqs.create_queue(QueueName="idle")["QueueUrl"]
        poller = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{port}",
                              region_name="us-east-1", aws_access_key_id="k",
                              aws_secret_access_key="s")  # its own connection
        before = _established(port)
        threading.Thread(target=lambda: _quietly(poller.receive_message, QueueUrl=url,
                                                 WaitTimeSeconds=20), daemon=True).start()
        deadline = time.monotonic() + 10
        while _established(port) <= before:  # the long poll's connection is open
            assert time.monotonic() < deadline, "the long poll never reached the server"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def _established(port: int) -> int:
    """Open TCP connections whose server side is ``port`` on this machine (/proc/net/tcp)."""
    count = 0
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            local, state = line.split()[1], line.split()[3]
            count += state == "01" and int(local.split(":")[1], 16) == port
    return count


def _quietly(call, **kwargs) -> None:
    with contextlib.suppress(Exception):  # the server goes away under the long poll
        call(**kwargs)
