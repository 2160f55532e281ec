"""The Lambda package: built for the runtime, within Lambda's size limit, importable in a
clean virtualenv without network, and indexing a real SQS event against the local stack.

The build installs pinned wheels from PyPI (pip's cache makes a second build take seconds).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest

from infra.aws.build_lambda import (
    EXCLUDED,
    MAX_UNZIPPED_BYTES,
    PACKAGE_NAME,
    PYTHON_VERSION,
    REPO_ROOT,
    RUNTIME,
    Package,
    build,
    normalize,
    read_lock,
    runtime_accepts,
    wheel_tags,
)
from tests.support.aws import make_queue, notify_queue, wait_for

HANDLERS = ("lambdas.indexer.app",) + (
    ("lambdas.search.app",) if (REPO_ROOT / "lambdas/search/app.py").exists() else ())
"""Handler modules the package must import (the indexer's is the one invoked)."""
EAGER = ("indexer.service", "indexer.pipeline", "indexer.settings")
"""What the handler imports lazily on its first call: imported here too, so a missing
module or dependency shows without an invocation."""

# Runs inside the clean virtualenv: the package dir first on sys.path, sockets blocked
# while importing, then (optionally) one invocation with the event on stdin.
RUNNER = textwrap.dedent('''
    import importlib, json, socket, sys, time
    package, mode = sys.argv[1], sys.argv[2]
    sys.path.insert(0, package)
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network access at import time")
    saved = (socket.socket.connect, socket.create_connection, socket.getaddrinfo)
    socket.socket.connect, socket.create_connection, socket.getaddrinfo = refuse, refuse, refuse
    names = sys.argv[3].split(",")
    modules = {name: importlib.import_module(name) for name in names + sys.argv[4].split(",")}
    socket.socket.connect, socket.create_connection, socket.getaddrinfo = saved
    report = {"network_attempts": attempts,
              "python": "%d.%d" % sys.version_info[:2],
              "files": {n: m.__file__ for n, m in modules.items()},
              "elasticsearch": importlib.import_module("elasticsearch").__file__,
              "handler_callable": all(callable(getattr(m, "handler", None))
                                      for n, m in modules.items() if n in names)}
    if mode == "invoke":
        class Context:
            function_name = "t4-indexer"
            function_version = "$LATEST"
            memory_limit_in_mb = 1024
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:t4-indexer"
            aws_request_id = "00000000-0000-0000-0000-000000000001"
            log_group_name = log_stream_name = "local"
            _deadline = time.monotonic() + 60
            def get_remaining_time_in_millis(self):
                return int((self._deadline - time.monotonic()) * 1000)
        event = json.load(sys.stdin)
        report["response"] = modules[names[0]].handler(event, Context())
    print("RESULT " + json.dumps(report))
''')


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    return build(tmp_path_factory.mktemp("build"))


def runtime_python() -> str | None:
    """An interpreter of the Lambda runtime's Python version (``T4_RUNTIME_PYTHON``, then
    ``python3.13`` on PATH, then pyenv's versions), or None."""
    candidates = [os.environ.get("T4_RUNTIME_PYTHON"), shutil.which(RUNTIME),
                  *sorted(glob.glob(os.path.expanduser(
                      f"~/.pyenv/versions/{PYTHON_VERSION}.*/bin/{RUNTIME}")))]
    for candidate in filter(None, candidates):
        try:
            out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30).stdout
        except OSError:
            continue
        if out.strip() == str(tuple(map(int, PYTHON_VERSION.split(".")))):
            return candidate
    return None


@pytest.fixture(scope="module")
def installed(package: Package, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of a fresh virtualenv of the runtime's version, with nothing installed,
    the unzipped package)."""
    python = runtime_python()
    if python is None:
        message = (f"no {RUNTIME} interpreter to run the package as Lambda would (set "
                   "T4_RUNTIME_PYTHON to one)")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("clean")
    subprocess.run([python, "-m", "venv", "--without-pip", "--clear", str(root / "venv")],
                   check=True, timeout=120)
    target = root / "task"  # Lambda unpacks the zip into /var/task
    with zipfile.ZipFile(package.path) as zf:
        zf.extractall(target)
    (root / "runner.py").write_text(RUNNER)
    return root / "venv" / "bin" / "python", target


def _run(installed: tuple[Path, Path], mode: str, env: dict[str, str] | None = None,
         stdin: str = "") -> dict:
    python, target = installed
    base = {"PATH": "/usr/bin:/bin", "HOME": str(target.parent), "LANG": "C.UTF-8"}
    result = subprocess.run(
        [str(python), "-I", str(target.parent / "runner.py"), str(target), mode, ",".join(HANDLERS),
         ",".join(EAGER)],
        input=stdin, capture_output=True, text=True, timeout=120, cwd=target.parent,
        env={**base, **(env or {})})
    assert result.returncode == 0, f"packaged handler failed:\n{result.stdout}\n{result.stderr}"
    line = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_package_fits_lambda_and_holds_exactly_the_pins(package: Package) -> None:
    with zipfile.ZipFile(package.path) as zf:
        infos = zf.infolist()
    unzipped = sum(i.file_size for i in infos)
    assert unzipped == package.unzipped_bytes < MAX_UNZIPPED_BYTES
    assert package.path.name == PACKAGE_NAME
    names = {i.filename for i in infos}
    assert {"lambdas/indexer/app.py", "t4index/names.py", "indexer/pipeline.py",
            "t4index/retry.py"} <= names
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)
    top = {n.split("/", 1)[0] for n in names}
    assert not top & {"pandas", "pyarrow"}, "heavy optional dependencies left in"
    dist_infos = dict(t.removesuffix(".dist-info").rsplit("-", 1)
                      for t in top if t.endswith(".dist-info"))
    dist_infos = {normalize(name): version for name, version in dist_infos.items()}
    assert dist_infos == read_lock()
    assert not EXCLUDED & dist_infos.keys()
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)  # reproducible
    # extension modules carry the runtime's ABI; wheels' vendored C libraries
    # (numpy.libs/libscipy_openblas...so) are plain shared objects
    binaries = [n for n in names if n.endswith(".so") and ".libs/" not in n]
    version = PYTHON_VERSION.replace(".", "")
    assert all(f"cpython-{version}-x86_64" in n or "abi3" in n for n in binaries), binaries


def test_every_wheel_in_the_package_fits_the_runtime(package: Package, tmp_path: Path) -> None:
    """The templates' runtime, the build's target and the wheels' tags agree."""
    with zipfile.ZipFile(package.path) as zf:
        for info in zf.infolist():
            if info.filename.endswith(".dist-info/WHEEL"):
                zf.extract(info, tmp_path)
    tags = wheel_tags(tmp_path)
    assert {normalize(name.removesuffix(".dist-info").rsplit("-", 1)[0])
            for name in tags} == set(read_lock())
    for name, wheel in tags.items():
        assert any(runtime_accepts(tag) for tag in wheel), (name, wheel)


def test_handler_imports_in_a_clean_virtualenv_without_network(installed) -> None:
    report = _run(installed, "import")
    assert report["python"] == PYTHON_VERSION
    assert report["network_attempts"] == []
    assert report["handler_callable"]
    _, target = installed
    for path in [*report["files"].values(), report["elasticsearch"]]:
        assert Path(path).is_relative_to(target), f"{path} was not imported from the package"


def _sqs_record(message: dict, queue_arn: str, region: str) -> dict:
    """The record Lambda's SQS event source mapping makes of a received message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def test_packaged_handler_indexes_a_real_sqs_event(installed, s3, sqs, es, endpoints, bucket,
                                                   unique_name) -> None:
    from t4index import alias_name

    # a queue the local worker does not poll (its prefix is t4-events), so the event is ours
    url, arn, _ = make_queue(sqs, unique_name("pkgq"))
    notify_queue(s3, bucket, arn)
    key = "reports/final report.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"quarterly zeppelin inventory",
                  ContentType="text/plain")

    def object_event() -> dict | None:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     AttributeNames=["All"]).get("Messages", []):
            if json.loads(m["Body"]).get("Records"):
                return m
        return None

    message = wait_for(object_event, timeout=20, what="the S3 event on the queue")
    event = {"Records": [_sqs_record(message, arn, endpoints.region)]}
    env = {k: v for k, v in endpoints.es_env().items() if k != "T4_ES_CA_CERTS" or v}
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")  # es_env has the stack's identity where
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")  # the engine verifies SigV4
    env["AWS_DEFAULT_REGION"] = endpoints.region
    report = _run(installed, "invoke", env=env, stdin=json.dumps(event))
    assert report["response"] == {"batchItemFailures": []}

    alias = alias_name(bucket)
    try:
        es.refresh(alias)
        hits = es.search({"query": {"term": {"key": key}}}, alias)["hits"]["hits"]
        assert len(hits) == 1
        assert "zeppelin" in hits[0]["_source"].get("text", "") or es.search(
            {"query": {"match": {"text": "zeppelin"}}}, alias)["hits"]["total"]["value"] == 1
    finally:
        for index in es.alias_targets(alias):
            es.delete_index(index)
