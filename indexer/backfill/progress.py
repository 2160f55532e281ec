"""Progress of a run, handed to a callback; the bar that shows it lives in the command line."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Progress:
    """Counts so far. ``total_*`` are known when the caller counted first (for the ETA)."""

    objects: int = 0
    bytes: int = 0
    indexed: int = 0
    unchanged: int = 0
    failed: int = 0
    enqueued: int = 0
    total_objects: int | None = None
    total_bytes: int | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    @property
    def rate(self) -> float:
        """Objects per second since the start."""
        return self.objects / self.elapsed

    @property
    def eta(self) -> float | None:
        """Seconds left, or None when the total is unknown or nothing is done yet."""
        if self.total_objects is None or not self.objects:
            return None
        return max(self.total_objects - self.objects, 0) / self.rate


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def format_line(p: Progress, width: int = 20) -> str:
    """One status line: bar (when the total is known), objects, bytes, rate, ETA, outcomes."""
    parts = []
    if p.total_objects:
        done = min(p.objects / p.total_objects, 1.0)
        filled = int(done * width)
        parts.append(f"[{'#' * filled}{'.' * (width - filled)}] {done:4.0%}")
        parts.append(f"{p.objects:,}/{p.total_objects:,} objects")
    else:
        parts.append(f"{p.objects:,} objects")
    parts.append(human_bytes(p.bytes))
    parts.append(f"{p.rate:,.0f}/s")
    if p.eta is not None:
        parts.append(f"ETA {_clock(p.eta)}")
    outcome = f"indexed {p.indexed:,} unchanged {p.unchanged:,} failed {p.failed:,}"
    if p.enqueued:
        outcome += f" enqueued {p.enqueued:,}"
    parts.append(outcome)
    return "  ".join(parts)
