"""The time left for the object being indexed: a per-object deadline set by the pipeline.

The pipeline gives each object the invocation's remaining time less its safety
margin (``Pipeline.safety_margin_ms``), and extraction bounds its slow calls (Tika)
by it. A call cut short by this deadline is a property of the invocation, never of
the file: its object is retried by the next invocation (its message comes back).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_deadline: ContextVar[float | None] = ContextVar("t4_object_deadline", default=None)


@contextmanager
def object_deadline(seconds: float) -> Iterator[None]:
    """Within the block (on this thread), :func:`seconds_left` counts down from ``seconds``."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def seconds_left() -> float | None:
    """Seconds until the current object's deadline (None when no deadline is set)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()
