"""The label checks: does a recorded trace behave as its workload was designed to?

Each check looks at the three thirds of the run (by sample order; the samples are evenly spaced) and
compares their floors (10th percentile) and levels (median). Memory is judged in bytes (private plus
swapped, as the detector does), descriptors in counts.

- leak: the floor rises through the window: each third's floor is above the one before by half a
  margin, and the last third's above the first's by the whole margin (256 KiB or 2% of the first
  third's floor, whichever is larger, for memory; 5 descriptors for handles).
- warm-up: growth stops within the first third: from the middle third to the last, neither the
  floor nor the level rises by more than the tolerance.
- churn and steady: no growth from the first third to the last: neither the floor nor the level
  rises by more than the tolerance.

The tolerance is the larger of 8 pages (32 KiB) of memory or 2 descriptors, 1% of the level, and a
quarter of the churn's spread (90th minus 10th percentile, the larger of the two thirds compared).
A trace that fails its check contradicts its design and is dropped, not relabelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KIB = 1024
MEMORY_QUANTUM = 4096
LEAK_MARGIN_BYTES = 256 * KIB
LEAK_MARGIN_SHARE = 0.02
LEAK_MARGIN_HANDLES = 5
TOLERANCE_QUANTA = {"memory": 8, "handles": 2}
TOLERANCE_SHARE = 0.01
TOLERANCE_OF_SPREAD = 0.25
CHECKS = ("leak", "warm-up", "churn", "steady")


@dataclass(frozen=True)
class Thirds:
    """The floor (10th percentile), level (median) and top (90th percentile) of each third of a run."""

    floors: tuple[float, float, float]
    levels: tuple[float, float, float]
    tops: tuple[float, float, float]


def thirds(values: np.ndarray) -> Thirds:
    """The statistics of each third of the samples."""
    a, b, c = np.array_split(np.asarray(values, dtype=float), 3)

    def each(q: float) -> tuple[float, float, float]:
        return float(np.quantile(a, q)), float(np.quantile(b, q)), float(np.quantile(c, q))

    return Thirds(each(0.1), each(0.5), each(0.9))


def _fmt(metric: str, value: float) -> str:
    return f"{value / KIB / KIB:.2f} MiB" if metric == "memory" else f"{value:.0f}"


def check_label(check: str, metric: str, values: np.ndarray) -> tuple[bool, str]:
    """Whether the trace passes `check` ("leak", "warm-up", "churn" or "steady"), and what was seen."""
    if check not in CHECKS:
        raise ValueError(f"unknown check {check!r}; one of {', '.join(CHECKS)}")
    if len(values) < 9:
        return False, f"only {len(values)} samples"
    t = thirds(values)
    f1, f2, f3 = t.floors
    floors = "floors " + " / ".join(_fmt(metric, f) for f in t.floors)
    levels = "levels " + " / ".join(_fmt(metric, v) for v in t.levels)
    if check == "leak":
        margin = max(LEAK_MARGIN_BYTES, LEAK_MARGIN_SHARE * f1) if metric == "memory" else float(LEAK_MARGIN_HANDLES)
        ok = f2 - f1 >= margin / 2 and f3 - f2 >= margin / 2 and f3 - f1 >= margin
        why = f"{floors}: {'rising' if ok else 'not rising'} by the margin {_fmt(metric, margin)}; {levels}"
        return ok, why
    first = 1 if check == "warm-up" else 0
    quantum = MEMORY_QUANTUM if metric == "memory" else 1
    spread = max(t.tops[i] - t.floors[i] for i in (first, 2))
    tolerance = max(
        TOLERANCE_QUANTA[metric] * quantum, TOLERANCE_SHARE * abs(t.levels[first]), TOLERANCE_OF_SPREAD * spread
    )
    floor_rise = f3 - t.floors[first]
    level_rise = t.levels[2] - t.levels[first]
    ok = floor_rise <= tolerance and level_rise <= tolerance
    since = "the middle third" if first else "the first third"
    why = (
        f"{floors}; {levels}: from {since} the floor {'+' if floor_rise >= 0 else ''}{_fmt(metric, floor_rise)}, "
        f"the level {'+' if level_rise >= 0 else ''}{_fmt(metric, level_rise)}, tolerance {_fmt(metric, tolerance)}"
    )
    return ok, why
