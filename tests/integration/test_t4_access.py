"""Access denied, for real: a moto server that enforces IAM, and a user allowed one prefix.

The shared moto server accepts any credentials, so this test starts its own
moto server (over HTTP, on a free loopback port) with IAM enforcement turned on
after the setup requests, and signs in as an IAM user whose policy allows
``s3:GetObject`` on ``public/`` only (and no listing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

import t4
from t4 import RetryPolicy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def restricted() -> Iterator[tuple[t4.Bucket, str]]:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        admin = boto3.Session(aws_access_key_id="admin", aws_secret_access_key="admin",
                              region_name="us-east-1")
        iam = admin.client("iam", endpoint_url=url)
        s3 = admin.client("s3", endpoint_url=url)
        name = "t4-restricted"
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="public/ok.json", Body=b'{"ok": true}')
        s3.put_object(Bucket=name, Key="secret/no.json", Body=b'{"no": true}')
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": f"arn:aws:s3:::{name}/public/*"},
            ],
        }))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        ActionAuthenticatorMixin.request_count = 0
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # every request from now on is checked
        reader = boto3.Session(aws_access_key_id=key["AccessKeyId"],
                               aws_secret_access_key=key["SecretAccessKey"],
                               region_name="us-east-1")
        bucket = t4.Bucket(f"s3://{name}", client=reader.client("s3", endpoint_url=url),
                           retry=RetryPolicy(max_attempts=1))
        yield bucket, name
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = saved
        server.stop()


def test_allowed_read_works(restricted):
    b, _ = restricted
    assert b("public/ok.json") == {"ok": True}


def test_denied_read_is_a_permission_error(restricted, tmp_path: Path):
    b, name = restricted
    for call in (lambda: b("secret/no.json"),
                 lambda: b.fetch("secret/no.json", tmp_path / "x.json"),
                 lambda: b.put("secret/new.json", {"a": 1}),
                 lambda: b.delete("secret/no.json")):
        with pytest.raises(PermissionError) as info:
            call()
        assert isinstance(info.value, t4.AccessDeniedError)
        assert f"s3://{name}/secret/" in str(info.value)
        assert info.value.__cause__ is not None
    assert not (tmp_path / "x.json").exists()


def test_denied_head_and_listing(restricted):
    b, name = restricted
    with pytest.raises(t4.AccessDeniedError, match=f"s3://{name}/secret/no.json"):
        b.get_meta("secret/no.json")
    with pytest.raises(t4.AccessDeniedError, match=f"s3://{name}"):
        b.keys()
    with pytest.raises(t4.AccessDeniedError):
        b.fetch("public/", "/nonexistent-t4-dest")
