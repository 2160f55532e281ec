"""Each stack failure says what went wrong and what to do."""

from __future__ import annotations

import socket
import sys

import pytest

from infra.local import java, procs
from infra.local.errors import StackError
from infra.local.procs import ProcessSpec


def test_a_taken_port_is_refused_with_the_variable_to_change(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        spec = ProcessSpec(name="elasticsearch", argv=["true"], log=tmp_path / "log",
                           pidfile=tmp_path / "pid", healthy=lambda: True, port=port,
                           port_env="T4_STACK_ES_PORT")
        with pytest.raises(StackError, match=rf"port {port} for elasticsearch .*taken.*"
                                             r"T4_STACK_ES_PORT"):
            procs.start(spec)
    assert not spec.pidfile.exists()


def test_missing_java_names_the_version_and_where_it_looked(tmp_path):
    fake_home = tmp_path / "jdk-8"
    (fake_home / "bin").mkdir(parents=True)
    (fake_home / "bin" / "java").write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_392\"' >&2\n")
    (fake_home / "bin" / "java").chmod(0o755)
    with pytest.raises(StackError) as info:
        java.find_java(21, "Elasticsearch 9.2.0", env={}, roots=[tmp_path])
    message = str(info.value)
    assert "Java 21 or newer" in message
    assert str(fake_home) in message and "Java 8" in message
    assert "T4_JAVA_HOME" in message


def test_java_is_found_by_version(tmp_path):
    home = tmp_path / "jdk-25"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\necho 'openjdk version \"25.0.1\"' >&2\n")
    (home / "bin" / "java").chmod(0o755)
    assert java.find_java(21, "x", env={}, roots=[tmp_path]) == home


def test_a_health_timeout_names_the_log_and_shows_its_end(tmp_path):
    log = tmp_path / "svc.log"
    spec = ProcessSpec(name="slowpoke",
                       argv=[sys.executable, "-c",
                             "print('booting step 1'); print('stuck on step 2', flush=True);"
                             "import time; time.sleep(60)"],
                       log=log, pidfile=tmp_path / "svc.pid", healthy=lambda: False,
                       health_timeout=2.0)
    pid = procs.start(spec)
    try:
        with pytest.raises(StackError) as info:
            procs.wait_healthy(spec, pid)
    finally:
        assert procs.stop(spec.pidfile)
    message = str(info.value)
    assert "slowpoke did not become healthy within 2 s" in message
    assert str(log) in message and "stuck on step 2" in message
    assert not procs.pid_alive(pid)


def test_a_service_that_dies_at_start_says_so(tmp_path):
    crash = [sys.executable, "-c", "raise SystemExit('bad config')"]
    spec = ProcessSpec(name="crasher", argv=crash,
                       log=tmp_path / "c.log", pidfile=tmp_path / "c.pid", healthy=lambda: False,
                       health_timeout=10.0)
    pid = procs.start(spec)
    with pytest.raises(StackError, match="crasher exited during start-up(.|\n)*bad config"):
        procs.wait_healthy(spec, pid)


def test_stop_only_touches_recorded_pids(tmp_path):
    assert procs.stop(tmp_path / "never-started.pid") is False


def test_a_failed_download_shows_the_maven_command_and_what_to_do(tmp_path, monkeypatch):
    from infra.local import fetch

    monkeypatch.setattr(fetch, "m2_path", lambda coords, repo=None: tmp_path / "absent.zip")
    coords = "org.t4search.nowhere:no-such-artifact:0.0.1:zip"
    with pytest.raises(StackError) as info:
        fetch.maven_fetch(coords)
    message = str(info.value)
    assert f"could not download {coords}" in message
    assert "dependency:get" in message and "-Dartifact=" + coords in message
    assert "T4_STACK_ES_VERSION" in message


def test_a_missing_maven_says_how_to_install_it(tmp_path, monkeypatch):
    from infra.local import fetch

    monkeypatch.setattr(fetch, "m2_path", lambda coords, repo=None: tmp_path / "absent.zip")
    with pytest.raises(StackError, match="apt-get install maven"):
        fetch.maven_fetch("g:a:1:zip", mvn="mvn-that-does-not-exist")
