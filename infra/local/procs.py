"""Background processes recorded by pid file: start, health wait, stop, tail."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from infra.local.errors import StackError


@dataclass
class ProcessSpec:
    """One service process of the stack."""

    name: str
    argv: Sequence[str]
    log: Path
    pidfile: Path
    healthy: Callable[[], bool]
    port: int | None = None
    host: str = "127.0.0.1"
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None
    health_timeout: float = 120.0
    port_env: str = ""


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def running_pid(pidfile: Path) -> int | None:
    """The recorded pid if that process still runs."""
    pid = read_pid(pidfile)
    return pid if pid is not None and pid_alive(pid) else None


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def start(spec: ProcessSpec) -> int:
    """Start ``spec`` in its own session and record its pid; return the pid.

    Raises:
        StackError: its port is taken by a process the stack did not start.
    """
    if spec.port is not None and port_in_use(spec.host, spec.port):
        hint = f" or set {spec.port_env} to a free port" if spec.port_env else ""
        raise StackError(f"port {spec.port} for {spec.name} on {spec.host} is taken by another "
                         f"process (not one this stack started); stop it{hint}.")
    spec.log.parent.mkdir(parents=True, exist_ok=True)
    spec.pidfile.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **spec.env}
    with open(spec.log, "ab") as log:
        proc = subprocess.Popen(
            list(spec.argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=spec.cwd, start_new_session=True, user=spec.user,
        )
    spec.pidfile.write_text(str(proc.pid))
    return proc.pid


def wait_healthy(spec: ProcessSpec, pid: int, poll: float = 0.5) -> None:
    """Wait until ``spec.healthy()`` holds, at most ``spec.health_timeout`` seconds.

    Raises:
        StackError: the process died or was not healthy in time; names the log and its end.
    """
    deadline = time.monotonic() + spec.health_timeout
    while time.monotonic() < deadline:
        if spec.healthy():
            return
        if not pid_alive(pid):
            raise StackError(f"{spec.name} exited during start-up. Log: {spec.log}\n"
                             f"{tail(spec.log)}")
        time.sleep(poll)
    raise StackError(f"{spec.name} did not become healthy within {spec.health_timeout:.0f} s. "
                     f"Log: {spec.log}\n{tail(spec.log)}")


def stop(pidfile: Path, grace: float = 20.0) -> bool:
    """Stop the process group recorded in ``pidfile``; True when something was stopped."""
    pid = read_pid(pidfile)
    pidfile.unlink(missing_ok=True)
    if pid is None or not pid_alive(pid):
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not pid_alive(pid):
                return True
            time.sleep(0.2)
    return True
