"""Several worker processes, as Lambda runs each concurrent invocation in its own environment.

The local worker's pollers are threads of one process, and the handler's own
threads (S3 reads, bulk writes) share that process's interpreter lock with every
poller's: past two or three pollers they mostly wait for one another. Lambda gives
each concurrent invocation its own execution environment, so ``--processes N`` runs
N worker processes, each with ``--concurrency`` pollers per queue (N x concurrency
batches at once, like an event source mapping's maximum concurrency).

The process started by the user (or the stack) is the first of the group and
supervises the others: it restarts one that dies, and stops them when it stops.
A child whose parent is gone (killed without a chance to clean up) stops itself.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Sequence

log = logging.getLogger("t4.worker")


def child_argv(argv: Sequence[str], parent_pid: int) -> list[str]:
    """The command line of a child: the parent's options, one process, the parent's pid.

    Returns:
        ``python -m infra.local.worker ...`` without ``--processes`` and ``--heartbeat``
        (the parent keeps the stack's heartbeat), with ``--parent-pid``.
    """
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in ("--processes", "--heartbeat", "--parent-pid"):
            skip = "=" not in arg
            continue
        out.append(arg)
    return [sys.executable, "-m", "infra.local.worker", *out, "--parent-pid", str(parent_pid)]


class WorkerGroup:
    """The child worker processes of one parent worker."""

    def __init__(self, argv: Sequence[str], children: int) -> None:
        """``argv``: the parent's own options; ``children``: how many more processes to run."""
        self.argv = child_argv(argv, os.getpid())
        self.children = children
        self._procs: list[subprocess.Popen] = []

    def start(self) -> None:
        """Start every child (they share the parent's stdout and stderr)."""
        self._procs = [self._spawn() for _ in range(self.children)]

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(self.argv, stdin=subprocess.DEVNULL)

    def check(self) -> int:
        """Restart children that exited; how many were restarted."""
        restarted = 0
        for i, proc in enumerate(self._procs):
            if proc.poll() is not None:
                log.warning("worker process %d exited with %s; starting another", proc.pid,
                            proc.returncode)
                self._procs[i] = self._spawn()
                restarted += 1
        return restarted

    @property
    def pids(self) -> list[int]:
        """The children's process ids."""
        return [proc.pid for proc in self._procs]

    def stop(self, grace: float = 10.0) -> None:
        """Terminate every child; kill one that has not exited after ``grace`` seconds."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def parent_gone(parent_pid: int | None) -> bool:
    """True when this process was started by a parent worker that no longer runs."""
    return parent_pid is not None and os.getppid() != parent_pid
