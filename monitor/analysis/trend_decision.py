"""The leak verdict's rules: what growth must reach to be a leak or to be bounded, and which evidence decides.

The floor speaks first: what a leak retains is what survives each drop. Growth is a leak when it is
significant at ALPHA and at the smallest leak's rate or more; it is bounded when its interval's upper end is
below the smallest rate that matters; in between the verdict is inconclusive, with about how much longer a
run would settle it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from monitor.analysis.trend_statistics import CONFIDENCE_LEVEL, Slope


class Verdict(str, enum.Enum):
    """What the detector concludes about one metric."""

    LEAK = "leak"
    NO_LEAK = "no-leak"
    INCONCLUSIVE = "inconclusive"

    def __str__(self) -> str:
        return self.value


class Evidence(str, enum.Enum):
    """Which growth decided a verdict: every reading's, or what survives each drop's."""

    LEVEL = "level"
    FLOOR = "floor"

    def __str__(self) -> str:
        return self.value


# One-sided significance of growth for a leak: what the lower end of the 90% interval stands for.
ALPHA = (1 - CONFIDENCE_LEVEL) / 2
# How far the advice to monitor longer looks: beyond this many times the run, it says so.
MAX_LONGER = 100.0


@dataclass(frozen=True)
class Bar:
    """What growth must reach, in quanta per second: `matters` to be a leak, below it to be bounded; a leak
    must also exceed `resolution`, what the samples of a cycling series cannot tell apart."""

    matters: float
    resolution: float
    # Whether `matters` is a share of the size over the run (it then shrinks as the run grows).
    relative: bool

    def leak(self, factor: float = 1.0) -> float:
        """The smallest leak's rate for a run `factor` times as long at the same interval."""
        return max(self.matters / factor if self.relative else self.matters, self.resolution / factor)

    def bound(self, factor: float = 1.0) -> float:
        """The rate an interval must end below for no-leak, for a run `factor` times as long."""
        return self.matters / factor if self.relative else self.matters


@dataclass(frozen=True)
class Judged:
    """One kind of evidence in quanta per second, ready for the decision."""

    evidence: Evidence
    slope: Slope
    points: int
    source: str


def decide(found: list[Judged], bar: Bar) -> tuple[Verdict, Judged | None]:
    """The verdict, and the evidence that decided it (None when inconclusive).

    The floor speaks first: what a leak retains is what survives each drop. Growth is a leak when it
    is significant at ALPHA and at the smallest leak's rate or more; growth is bounded when its
    interval's upper end is below the smallest rate that matters. A floor that falls significantly
    (a process giving back memory it held) bounds nothing. The level decides only what the floor
    leaves open: its growth is a leak if the floor could be growing too (else it is churn that grows,
    not memory kept).
    """
    floor = next((item for item in found if item.evidence is Evidence.FLOOR), None)
    level = next((item for item in found if item.evidence is Evidence.LEVEL), None)
    # When both kinds of evidence agree, what survives each drop is shown where there are drops (it is
    # what a collecting process keeps), else the stronger.
    if floor is not None and matters(floor, bar):
        stronger = level is not None and matters(level, bar) and level.slope.p_up < floor.slope.p_up
        if stronger and floor.source == "stretches" and level is not None:
            return Verdict.LEAK, level
        return Verdict.LEAK, floor
    if floor is not None and bounds(floor, bar):
        # The floor stays put: whatever the level does comes and goes.
        if level is not None and bounds(level, bar):
            return Verdict.NO_LEAK, level
        return Verdict.NO_LEAK, floor
    if level is not None and matters(level, bar) and (floor is None or allows(floor, level, bar)):
        return Verdict.LEAK, level
    if level is not None and bounds(level, bar):
        return Verdict.NO_LEAK, level
    return Verdict.INCONCLUSIVE, None


def allows(floor: Judged, level: Judged, bar: Bar) -> bool:
    """Whether the floor could be growing as the level does: it grows at the smallest leak's rate,
    or its interval reaches the level's rate."""
    return floor.slope.slope >= bar.leak() or floor.slope.high >= level.slope.slope


def matters(item: Judged, bar: Bar) -> bool:
    """Significant growth at the smallest leak's rate or more."""
    return significant(item.slope) and item.slope.slope >= bar.leak()


def bounds(item: Judged, bar: Bar) -> bool:
    """An interval whose upper end is below the smallest rate that matters (a falling floor's excepted)."""
    return item.slope.high < bar.bound() and not (item.evidence is Evidence.FLOOR and item.slope.high < 0)


def significant(slope: Slope) -> bool:
    """Growth above 0: the 90% interval's lower end is above 0 and the rank test rejects no growth at ALPHA."""
    return slope.slope > 0 and slope.low > 0 and slope.p_up < ALPHA


def settled_at(item: Judged, bar: Bar, factor: float) -> bool:
    """Whether a run `factor` times as long, with the same rate and noise, would decide on this evidence.

    At a fixed interval the interval's width shrinks as the run's length to the power -3/2; a default
    practical floor (a share of the size over the run) and the sampling resolution as its length to the
    power -1.
    """
    shrink = factor**-1.5
    slope = item.slope
    low = slope.slope - (slope.slope - slope.low) * shrink
    high = slope.slope + (slope.high - slope.slope) * shrink
    return (slope.slope > 0 and low > 0 and slope.slope >= bar.leak(factor)) or high < bar.bound(factor)


def longer_run(found: list[Judged], bar: Bar) -> float | None:
    """About how many times as long a run would settle the verdict (None: more than MAX_LONGER)."""
    factors = np.geomspace(1.0, MAX_LONGER, 200)[1:]
    settled = [f for f in factors if any(settled_at(item, bar, f) for item in found)]
    return float(settled[0]) if settled else None


def closest(found: list[Judged], bar: Bar) -> Judged:
    """The evidence a shorter extension of the run would settle first (the level on a tie)."""
    steps = np.geomspace(1.0, MAX_LONGER, 200)[1:]

    def needed(item: Judged) -> int:
        return next((k for k, f in enumerate(steps) if settled_at(item, bar, f)), len(steps))

    return min(found, key=lambda item: (needed(item), item.evidence is not Evidence.LEVEL))
