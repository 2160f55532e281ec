"""The documentation's examples run as written against the local stack, so they cannot rot.

Each page's ``pycon`` blocks (tests/support/docs.py) run in order in one namespace,
as a reader would type them after ``eval "$(./dev env)"`` (the same variables, so
searches go through the local search API), in an empty folder, with every bucket the
page names replaced by a new bucket whose events reach the stack's worker. What a block
prints must match what the page says it prints (doctest, with ``...`` as a wildcard).
"""

from __future__ import annotations

import contextlib
import doctest
import io
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.settings import StackSettings
from t4index import fields as F
from t4index.errors import IndexMissingError
from t4index.names import alias_name
from tests.support.aws import make_queue, notify_queue, wait_for
from tests.support.docs import ROOT, bucket_names, doc_files, examples

PAGES = [path for path in doc_files() if examples(path)]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL


def _stack_env() -> dict[str, str]:
    """What ``./dev env`` exports (the variables the docs tell a reader to eval)."""
    out = subprocess.run([sys.executable, "-m", "infra.local", "env"], cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    env = {}
    for line in out.splitlines():
        (assignment,) = shlex.split(line.removeprefix("export "))
        name, _, value = assignment.partition("=")
        env[name] = value
    assert "T4_SEARCH_API_URL" in env, f"./dev env exported no search API: {out}"
    return env


def _indexed(es, s3, bucket: str) -> bool:
    """The index shows exactly the bucket's current objects (key and ETag)."""
    listed = {(o["Key"], o["ETag"].strip('"'))
              for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
              for o in page.get("Contents", [])}
    try:
        resp = es.search({"size": 10_000, "_source": [F.KEY, F.ETAG],
                          "query": {"bool": {"must_not": [{"term": {F.DELETED: True}}]}}},
                         alias_name(bucket))
    except IndexMissingError:  # no index yet
        return not listed
    docs = {(h["_source"][F.KEY], h["_source"].get(F.ETAG)) for h in resp["hits"]["hits"]}
    return docs == listed


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_examples_run_as_written(page: Path, es, s3, sqs, unique_name, drop_indices,
                                     monkeypatch, tmp_path):
    found = examples(page)
    for name, value in _stack_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    prefix = StackSettings.from_env().queue_prefix  # the stack's worker polls these queues
    buckets = {}
    for name in bucket_names(found):
        real = buckets[name] = unique_name("doc")
        s3.create_bucket(Bucket=real)
        _, arn, _ = make_queue(sqs, f"{prefix}-{real}", visibility_timeout=10)
        notify_queue(s3, real, arn)
        drop_indices(real)

    globs: dict = {"__name__": "__docs__"}
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for example in found:
        text = example.text
        for name, real in buckets.items():
            text = text.replace(f"s3://{name}", f"s3://{real}")
        if example.after_indexing:
            for real in buckets.values():
                with contextlib.suppress(IndexMissingError):  # not indexed yet
                    es.refresh(alias_name(real))
                wait_for(lambda real=real: _indexed(es, s3, real), timeout=60, interval=0.3,
                         what=f"the worker to index s3://{real}")
        where = f"{page.relative_to(ROOT)}:{example.line}"
        test = doctest.DocTestParser().get_doctest(text, globs, where, str(page),
                                                   example.line - 1)
        report = io.StringIO()
        result = runner.run(test, out=report.write, clear_globs=False)
        globs = test.globs
        if result.failed:
            pytest.fail(f"the example at {where} does not do what the page says "
                        f"(buckets {buckets}):\n{report.getvalue()}", pytrace=False)
