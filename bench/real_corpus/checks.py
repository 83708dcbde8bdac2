"""The label checks: does a recorded trace behave as its workload was designed to?

Each check compares the three thirds of the run (by sample order; the samples are evenly spaced):
their floors (10th percentile) and levels (median). Memory is judged in bytes (private plus swapped,
as the detector does), descriptors in counts.

- leak: the floor rises through the window: each third's floor is above the one before by half a
  margin, and the last third's above the first's by the whole margin (for memory 256 KiB or 2% of
  the middle third's floor, whichever is larger; for descriptors 5).
- no-leak (warm-up, churn, steady or idle): growth stops within the first third, where every
  process starts up: the last third's floor and level are above the highest of the first two
  thirds' by no more than their tolerance: the largest of 8 pages (32 KiB) of memory or 2
  descriptors, 1% of the middle third's level, and a share of the churn's spread (90th minus 10th
  percentile, the larger of the middle and last thirds'), 15% for the floor and 25% for the level.

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
# Floors move less with churn than levels do, but a sawtooth's floor still depends on where the
# thirds cut its cycles: 15% of the spread for floors, a quarter for levels.
FLOOR_TOLERANCE_OF_SPREAD = 0.15
LEVEL_TOLERANCE_OF_SPREAD = 0.25
LABELS = ("leak", "no-leak")


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


def check_label(label: str, metric: str, values: np.ndarray) -> tuple[bool, str]:
    """Whether the trace behaves as `label` ("leak" or "no-leak") says, and what was seen."""
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}; one of {', '.join(LABELS)}")
    if len(values) < 9:
        return False, f"only {len(values)} samples"
    t = thirds(values)
    f1, f2, f3 = t.floors
    floors = "floors " + " / ".join(_fmt(metric, f) for f in t.floors)
    levels = "levels " + " / ".join(_fmt(metric, v) for v in t.levels)
    if label == "leak":
        margin = max(LEAK_MARGIN_BYTES, LEAK_MARGIN_SHARE * f2) if metric == "memory" else float(LEAK_MARGIN_HANDLES)
        ok = f2 - f1 >= margin / 2 and f3 - f2 >= margin / 2 and f3 - f1 >= margin
        return ok, f"{floors}: {'rising' if ok else 'not rising'} by the margin {_fmt(metric, margin)}; {levels}"
    quantum = MEMORY_QUANTUM if metric == "memory" else 1
    spread = max(t.tops[1] - f2, t.tops[2] - f3)
    least = max(TOLERANCE_QUANTA[metric] * quantum, TOLERANCE_SHARE * abs(t.levels[1]))
    floor_tolerance = max(least, FLOOR_TOLERANCE_OF_SPREAD * spread)
    level_tolerance = max(least, LEVEL_TOLERANCE_OF_SPREAD * spread)
    # A deep dip in one earlier third (a worker that unmapped its memory for a while) is no rise.
    floor_rise, level_rise = f3 - max(f1, f2), t.levels[2] - max(t.levels[:2])
    ok = floor_rise <= floor_tolerance and level_rise <= level_tolerance
    return ok, (
        f"{floors}; {levels}: the last third's floor {_signed(metric, floor_rise)} "
        f"(tolerance {_fmt(metric, floor_tolerance)}), the level {_signed(metric, level_rise)} "
        f"(tolerance {_fmt(metric, level_tolerance)})"
    )


def _signed(metric: str, value: float) -> str:
    return ("+" if value >= 0 else "") + _fmt(metric, value)
