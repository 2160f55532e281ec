"""Ratios that hold on a noisy machine: ours and its baseline interleaved, round by round.

The machines these benchmarks run on are shared: their speed drifts by tens of per
cent within a minute (the same run twice in a row once gave ``fetch`` 0.69x, then
0.86x the raw pool). One ratio from one pair of runs measures the drift as much as
the code. So every benchmark runs each contender once per round, in an order that
rotates from round to round, at least ``MIN_ROUNDS`` rounds, takes the ratio of each
round's pair (both measured within seconds of each other), and reports the median
ratio with its spread (min-max). The docs quote the medians.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

MIN_ROUNDS = 5


@dataclass(frozen=True)
class Spread:
    """The median of per-round ratios and their range."""

    median: float
    low: float
    high: float
    rounds: int

    def __str__(self) -> str:
        return (f"{self.median:.2f}x (min {self.low:.2f}, max {self.high:.2f}, "
                f"{self.rounds} rounds)")

    def meets(self, target: float) -> bool:
        """The median reaches ``target``."""
        return self.median >= target


def spread(ratios: Sequence[float]) -> Spread:
    """The ``Spread`` of per-round ratios.

    Raises:
        ValueError: no ratio given.
    """
    if not ratios:
        raise ValueError("no rounds to summarize")
    return Spread(statistics.median(ratios), min(ratios), max(ratios), len(ratios))


def paired(ours: Sequence[float], baseline: Sequence[float], *,
           higher_is_better: bool = True) -> Spread:
    """Per-round ratios of ``ours`` to ``baseline`` (rates, or times with
    ``higher_is_better=False``: then the ratio is baseline time / our time), summarized.

    Either way a ratio above 1 means ours did better in that round.

    Raises:
        ValueError: the two lists differ in length or are empty.
    """
    if len(ours) != len(baseline):
        raise ValueError(f"{len(ours)} rounds of ours against {len(baseline)} of the baseline")
    if higher_is_better:
        return spread([o / b for o, b in zip(ours, baseline, strict=True)])
    return spread([b / o for o, b in zip(ours, baseline, strict=True)])


def interleave(rounds: int, contenders: Mapping[str, Callable[[int], float]]
               ) -> dict[str, list[float]]:
    """Run every contender once per round (``fn(round)`` returns its measure), the order
    rotated each round so that none always runs first; the measures by contender.

    Raises:
        ValueError: fewer than ``MIN_ROUNDS`` rounds.
    """
    if rounds < MIN_ROUNDS:
        raise ValueError(f"at least {MIN_ROUNDS} rounds are needed for a median and a "
                         f"spread, got {rounds}")
    names = list(contenders)
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            out[name].append(contenders[name](r))
    return out


def seconds(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call of ``fn``."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
