"""The benchmarks' ratios (``bench/rounds.py``): interleaved rounds, median and spread."""

from __future__ import annotations

import pytest

from bench.rounds import MIN_ROUNDS, interleave, paired, spread


def test_rounds_rotate_the_order_so_none_always_runs_first() -> None:
    calls: list[tuple[int, str]] = []
    measures = interleave(6, {name: (lambda r, name=name: calls.append((r, name)) or r)
                              for name in ("ours", "baseline", "other")})
    firsts = [name for r, name in calls if (r, name) == next(c for c in calls if c[0] == r)]
    assert firsts == ["ours", "baseline", "other", "ours", "baseline", "other"]
    assert measures == {name: [0, 1, 2, 3, 4, 5] for name in ("ours", "baseline", "other")}
    with pytest.raises(ValueError, match=f"at least {MIN_ROUNDS} rounds"):
        interleave(MIN_ROUNDS - 1, {"ours": float})


def test_the_ratio_is_taken_per_round_and_summarized_by_its_median() -> None:
    # The machine slows down tenfold in round 3: per-round ratios do not care.
    ours = [90, 95, 9, 100, 92]
    base = [100, 100, 10, 100, 100]
    result = paired(ours, base)
    assert (result.median, result.low, result.high, result.rounds) == (0.92, 0.9, 1.0, 5)
    assert result.meets(0.9) and not result.meets(0.95)
    assert str(result) == "0.92x (min 0.90, max 1.00, 5 rounds)"
    # times: lower is better, and a ratio above 1 still means ours did better
    assert paired([1.0, 2.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0, 2.0],
                  higher_is_better=False).median == 2.0
    with pytest.raises(ValueError):
        paired([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        spread([])
