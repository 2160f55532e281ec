"""tika.yaml's container command, run against the real Tika server jar: it writes the
tika-config.xml from the task's variables, and the forked parser gets the heap the
template derives from the task's memory and the task timeout from the indexer's budget.

The jar and Java are the local stack's; the container's paths and port are moved with
the variables the command reads for that (TIKA_JAR, TIKA_CONFIG, TIKA_HOST, TIKA_PORT).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.aws import sizing
from infra.aws.templates import load_template
from infra.local import fetch, java
from infra.local.settings import StackSettings

TASK_SIZE = "1vCPU-4GB"
LAMBDA_TIMEOUT = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def tika_task(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    template = load_template("tika.yaml")
    (container,) = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert container["EntryPoint"] == ["/bin/sh", "-c"]
    settings = StackSettings.from_env()
    java_home = java.find_java(11, "the Tika container command test")
    jar = fetch.fetch_tika(settings.tika_version, settings.cache_dir)
    size = sizing.TASK_SIZES[TASK_SIZE]
    budget = sizing.time_budget(LAMBDA_TIMEOUT)
    folder = tmp_path_factory.mktemp("tika-task")
    port = _free_port()
    env = {"PATH": f"{java_home / 'bin'}:/usr/bin:/bin", "HOME": str(folder),
           "TIKA_JAR": str(jar), "TIKA_CONFIG": str(folder / "tika-config.xml"),
           "TIKA_HOST": "127.0.0.1", "TIKA_PORT": str(port),
           "TIKA_TASK_TIMEOUT_MS": str(budget.tika_task_ms),
           "TIKA_CHILD_HEAP_MB": str(size.heap_mib), "TIKA_WATCHDOG_HEAP_MB": "256"}
    log = (folder / "tika.log").open("wb")
    proc = subprocess.Popen([*container["EntryPoint"], container["Command"][0]], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/version", timeout=2) as resp:
                    version = resp.read().decode()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Tika did not start from the container command; log:\n"
                                f"{(folder / 'tika.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield {"url": url, "pid": proc.pid, "config": folder / "tika-config.xml",
               "version": version, "size": size, "budget": budget}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the session this fixture started
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


def test_the_command_writes_the_budgeted_task_timeout(tika_task) -> None:
    config = tika_task["config"].read_text()
    expected = f"<taskTimeoutMillis>{tika_task['budget'].tika_task_ms}</taskTimeoutMillis>"
    assert expected in config
    assert tika_task["version"].startswith("Apache Tika 3.")


def test_the_forked_parser_gets_the_heap_derived_from_task_memory(tika_task) -> None:
    watchdog_cmd = [(Path("/proc") / str(p) / "cmdline").read_bytes().split(b"\0")
                    for p in [tika_task["pid"]]][0]
    children = _children(tika_task["pid"])
    assert len(children) == 1, "the watchdog forks exactly one parser process"
    parser_cmd = (Path("/proc") / str(children[0]) / "cmdline").read_bytes().split(b"\0")
    assert b"-Xmx256m" in watchdog_cmd
    assert f"-Xmx{tika_task['size'].heap_mib}m".encode() in parser_cmd
    assert b"-XX:+ExitOnOutOfMemoryError" in parser_cmd


def test_the_configured_server_extracts_text(tika_task) -> None:
    request = urllib.request.Request(f"{tika_task['url']}/tika", data=b"<p>zeppelin ledger</p>",
                                     method="PUT", headers={"Content-Type": "text/html",
                                                            "Accept": "text/plain"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        assert "zeppelin ledger" in resp.read().decode()
