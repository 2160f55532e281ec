"""The numbers the templates derive from their few sizing parameters, in one place.

CloudFormation has no arithmetic, so ``pipeline.yaml`` and ``tika.yaml`` carry these
numbers as ``Mappings`` looked up by a parameter; ``tests/unit/test_deploy_templates.py``
checks that every mapping equals what this module computes, and the docs quote the
formulas. Print the mappings with ``python -m infra.aws.sizing``.

Time budget, from the one parameter ``LambdaTimeout`` (F, seconds; both templates)::

    Tika client timeout   T = F / 5          the indexer gives up on one Tika call
    Tika task timeout     S = T + 15 s       Tika kills a parse the client abandoned
    load balancer idle    I = S + 30 s       never cuts a request Tika may still answer
    safety margin         M = T + W          W = Elasticsearch timeout (30 s) + 10 s:
                                             the last extraction and the write still fit
    visibility timeout    V = 6 F + 300 s    AWS: six function timeouts, plus the
                                             longest batching window
    oldest-message alarm  A = 2 V            one retried message never pages

Tika capacity: a task of ``TaskSize`` takes ``slots`` parses at once (4 per vCPU,
at least 600 MiB of heap each); the service takes ``slots x MaxTasks``
(``TikaCapacity``). The indexer's fan-out is ``MaxConcurrency x Threads``, so
``pipeline.yaml`` derives ``MaxConcurrency = TikaCapacity // Threads``: every
thread of every invocation may be in Tika at once without exceeding it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from indexer.settings import Settings

LAMBDA_TIMEOUTS: tuple[int, ...] = (120, 180, 300, 600, 900)
"""The indexer timeouts offered (seconds); 900 is Lambda's maximum."""
WRITE_RESERVE_S = int(Settings.es_timeout) + 10
"""Seconds kept for the last bulk write after the last extraction (W)."""
SERVER_SLACK_S = 15
BALANCER_SLACK_S = 30
MAX_BATCHING_WINDOW_S = 300
"""Lambda's longest ``MaximumBatchingWindowInSeconds``."""
LAMBDA_MIN_CONCURRENCY = 2
"""The smallest ``ScalingConfig.MaximumConcurrency`` Lambda accepts."""


@dataclass(frozen=True)
class TimeBudget:
    """Every timeout derived from the indexer's function timeout (seconds unless named)."""

    function: int
    tika_client: int
    tika_task_ms: int
    balancer_idle: int
    margin_ms: int
    visibility: int
    age_alarm: int


def time_budget(function_timeout: int) -> TimeBudget:
    """The budget for an indexer timeout of ``function_timeout`` seconds (see the module).

    Raises:
        ValueError: ``function_timeout`` is not one of ``LAMBDA_TIMEOUTS``.
    """
    if function_timeout not in LAMBDA_TIMEOUTS:
        raise ValueError(f"LambdaTimeout {function_timeout} is not one of {LAMBDA_TIMEOUTS}")
    tika = function_timeout // 5
    task = tika + SERVER_SLACK_S
    visibility = 6 * function_timeout + MAX_BATCHING_WINDOW_S
    return TimeBudget(function=function_timeout, tika_client=tika, tika_task_ms=task * 1000,
                      balancer_idle=task + BALANCER_SLACK_S,
                      margin_ms=(tika + WRITE_RESERVE_S) * 1000,
                      visibility=visibility, age_alarm=2 * visibility)


@dataclass(frozen=True)
class TaskSize:
    """A Fargate CPU/memory pair for Tika and what it is configured to take."""

    name: str
    cpu: int
    memory: int
    heap_mib: int
    slots: int


PARENT_HEAP_MIB = 256
"""Heap of Tika's watchdog process; the parsing happens in its forked child."""
HEADROOM = 0.25
"""Share of task memory left outside the child's heap: metaspace, threads, buffers, OS."""
SLOTS_PER_VCPU = 4
MIN_HEAP_PER_SLOT_MIB = 600


def task_size(cpu: int, memory: int) -> TaskSize:
    """Tika's sizing on a task of ``cpu`` units and ``memory`` MiB.

    Raises:
        ValueError: Fargate does not offer that pair, or it leaves too little heap.
    """
    if not fargate_accepts(cpu, memory):
        raise ValueError(f"Fargate has no task of {cpu} CPU units and {memory} MiB")
    heap = int(memory * (1 - HEADROOM)) - PARENT_HEAP_MIB
    heap -= heap % 128
    slots = min(SLOTS_PER_VCPU * cpu // 1024, heap // MIN_HEAP_PER_SLOT_MIB)
    if slots < 1:
        raise ValueError(f"{memory} MiB leaves no room for one Tika parse")
    return TaskSize(f"{cpu // 1024}vCPU-{memory // 1024}GB", cpu, memory, heap, slots)


def fargate_accepts(cpu: int, memory: int) -> bool:
    """Whether Fargate (Linux) runs a task of ``cpu`` units and ``memory`` MiB."""
    gib = memory / 1024
    steps = {256: [0.5, 1, 2], 512: range(1, 5), 1024: range(2, 9), 2048: range(4, 17),
             4096: range(8, 31), 8192: range(16, 61, 4), 16384: range(32, 121, 8)}
    return cpu in steps and gib in steps[cpu]


TASK_SIZES: dict[str, TaskSize] = {
    t.name: t for t in (task_size(1024, 4096), task_size(2048, 8192), task_size(4096, 16384),
                        task_size(8192, 32768))}
MAX_TASKS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16)
THREADS: tuple[int, ...] = (4, 8, 16, 32)
TIKA_CAPACITIES: tuple[int, ...] = tuple(sorted({s.slots * n for s in TASK_SIZES.values()
                                                 for n in MAX_TASKS}))


def max_concurrency(tika_capacity: int, threads: int) -> int:
    """Concurrent indexer invocations whose threads all fit in ``tika_capacity``."""
    return tika_capacity // threads


def mappings() -> dict[str, dict[str, Any]]:
    """The ``Mappings`` the templates must carry (``TimeBudget`` in both)."""
    budget = {str(f): _budget_entry(time_budget(f)) for f in LAMBDA_TIMEOUTS}
    return {
        "TimeBudget": budget,
        "TaskSizes": {name: {"Cpu": str(s.cpu), "Memory": str(s.memory),
                             "HeapMiB": s.heap_mib, "Slots": s.slots}
                      for name, s in TASK_SIZES.items()},
        "TikaCapacity": {name: {str(n): s.slots * n for n in MAX_TASKS}
                         for name, s in TASK_SIZES.items()},
        "Concurrency": {str(c): {str(t): max_concurrency(c, t) for t in THREADS
                                 if max_concurrency(c, t) >= LAMBDA_MIN_CONCURRENCY}
                        for c in TIKA_CAPACITIES if c >= 2 * min(THREADS)},
    }


def _budget_entry(b: TimeBudget) -> dict[str, int]:
    return {"TikaTimeout": b.tika_client, "TikaTaskTimeoutMillis": b.tika_task_ms,
            "IdleTimeout": b.balancer_idle, "SafetyMarginMillis": b.margin_ms,
            "Visibility": b.visibility, "AgeAlarm": b.age_alarm}


def main() -> int:
    """Print the mappings as JSON (paste into the templates after a change)."""
    json.dump(mappings(), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
