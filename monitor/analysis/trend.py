"""The leak verdict: `leak`, `no-leak` or `inconclusive`, from the growth of what a process keeps.

1. What is judged: the last two thirds of the run (growth that stops within the first third is a
   warm-up), on times repaired to run forward, at most MAX_POINTS bins (trend_series).
2. Two kinds of evidence, each a Theil-Sen rate with a 90% interval that allows for dependent noise
   (trend_statistics): the level (every reading) and the floor (what survives each collection or wave
   of churn: the lowest reading after each deep drop, or every reading less its climb since the last
   drop where the cycles climb, whichever is the more precise; else the lowest of each of a few
   stretches). A rising floor under big waves is a leak even when the level is flat; a big sawtooth
   on a flat floor is not.
3. The smallest leak that matters (the practical floor): by default the run must grow by
   MIN_SHARE of the process's median size, and by MIN_QUANTA pages or handles, over its length; or a
   rate given with --min-leak-rate. A series of cycles must also grow over the judged part by more
   than its cycles climb in one sampling interval (the resolution: less could come from where in each
   cycle the samples fell).
4. The floor speaks first (trend_decision). `leak` when it grows significantly (its interval above 0)
   at that rate or more, or when the level does and the floor could be growing too; `no-leak` only
   when an interval's upper end is below the practical floor; `inconclusive` in between, with about
   how much longer a run would settle it.

Values are judged in quanta relative to their median; with a given rate, adding a constant to the
values changes nothing but the fitted line's intercept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from monitor.analysis.trend_decision import (
    Bar,
    Evidence,
    Judged,
    Verdict,
    closest,
    decide,
    longer_run,
    matters,
    significant,
)
from monitor.analysis.trend_series import (
    climb_corrected_points,
    cycle_resolution,
    floor_points,
    judged_from,
    monotonic_times,
    reduce_series,
)
from monitor.analysis.trend_statistics import load_statistics, robust_slope

__all__ = ["Evidence", "Growth", "Trend", "Verdict", "detect_trend", "load_statistics"]


LEAK = Verdict.LEAK
NO_LEAK = Verdict.NO_LEAK
INCONCLUSIVE = Verdict.INCONCLUSIVE

MIN_SAMPLES = 8
# The practical floor: a leak adds at least this share of the process's median size over the run
# (a 7.65 MB process that ends at 7.66 MB has not leaked), and at least this many quanta (a file or
# a connection opened once and kept is a state, not a leak).
MIN_SHARE = 0.05
MIN_QUANTA = 4
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Growth:
    """The growth of one kind of evidence over the judged part of the run, per hour, with its 90% interval."""

    rate_per_hour: float | None
    low_per_hour: float | None
    high_per_hour: float | None
    p_value: float | None
    # The points it rests on, and how many independent ones they are worth.
    points: int
    effective_points: float | None
    # For the floor, how its points were found: "drops", "climbs" or "stretches".
    source: str = ""


@dataclass(frozen=True)
class Trend:
    """The detector's verdict on one metric; a quantity that cannot be estimated is None.

    The headline rate, interval and p-value are those of the evidence that decided (for an
    inconclusive verdict, the one closest to deciding).
    """

    verdict: Verdict
    rate_per_hour: float | None
    rate_low_per_hour: float | None
    rate_high_per_hour: float | None
    confidence: str
    p_value: float | None
    samples: int
    hours_to_limit: float | None = None
    reason: str = ""
    # The fitted line is intercept + rate_per_hour / 3600 * seconds since the first sample.
    intercept: float | None = None
    level: Growth | None = None
    floor: Growth | None = None
    # The smallest growth that counts as a leak, and where it comes from.
    min_rate_per_hour: float | None = None
    min_rate_rule: str = ""
    decided_by: Evidence | None = None
    judged_from_s: float | None = None
    # For an inconclusive verdict: about how many times as long a run at this interval would settle it.
    longer: float | None = None
    # For a series of cycles: the growth its samples cannot tell from where in each cycle they fell.
    resolution_per_hour: float | None = None


def detect_trend(
    times_s: ArrayLike,
    values: ArrayLike,
    quantum: float,
    headroom: float | None = None,
    *,
    min_rate_per_hour: float | None = None,
) -> Trend:
    """Judge whether `values` (sampled at `times_s`) leak; `headroom` is how much is left before a limit,
    `min_rate_per_hour` the smallest growth that counts as a leak (default: see MIN_SHARE)."""
    t = np.asarray(times_s, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    n = len(y)
    problem = _input_problem(t, y, quantum, min_rate_per_hour)
    if problem:
        return _inconclusive(n, problem)
    if n < MIN_SAMPLES:
        return _inconclusive(n, f"too few samples ({n}, need {MIN_SAMPLES})")
    level = float(np.median(y))
    with np.errstate(over="ignore", invalid="ignore"):
        z = (y - level) / quantum
    if not np.all(np.isfinite(z)):
        return _inconclusive(n, "values too large for their quantum")
    t = monotonic_times(t)
    span_s = float(t[-1] - t[0])
    t, levels, lows = reduce_series(t, z)
    if not span_s > 0:
        return _inconclusive(n, "all samples were taken at the same time")
    if min_rate_per_hour is None:
        min_slope = max(MIN_SHARE * abs(level) / quantum, MIN_QUANTA) / span_s
        rule = f"default: {MIN_SHARE:.0%} of the median over the run, at least {MIN_QUANTA} pages or handles"
    else:
        min_slope = min_rate_per_hour / quantum / SECONDS_PER_HOUR
        rule = "--min-leak-rate"
    start = judged_from(t)
    judged = t >= start
    evidence = [_evidence(Evidence.LEVEL, t[judged], levels[judged], "")]
    evidence.append(_floor_evidence(t, lows, start))
    found = [item for item in evidence if item is not None]
    if not found:
        return _inconclusive(n, "too few samples in the last two thirds of the run")
    bar = Bar(min_slope, cycle_resolution(t, lows, start), relative=min_rate_per_hour is None)
    verdict, decided = decide(found, bar)
    headline = decided or closest(found, bar)
    rate = _per_hour(headline.slope.slope, quantum)
    longer = None if verdict is not INCONCLUSIVE else longer_run(found, bar)
    return Trend(
        verdict=verdict,
        rate_per_hour=rate,
        rate_low_per_hour=_per_hour(headline.slope.low, quantum),
        rate_high_per_hour=_per_hour(headline.slope.high, quantum),
        confidence=_confidence(
            verdict, min(item.slope.p_up for item in found if item is headline or matters(item, bar)), n
        ),
        p_value=_finite(headline.slope.p_up),
        samples=n,
        hours_to_limit=_hours_to_limit(verdict, rate, headroom),
        reason=_reason(verdict, decided, found, levels, t, start, bar, longer, n),
        intercept=_finite(level + quantum * headline.slope.intercept),
        level=_growth(evidence[0], quantum),
        floor=_growth(evidence[1], quantum),
        min_rate_per_hour=_per_hour(min_slope, quantum) if min_rate_per_hour is None else float(min_rate_per_hour),
        min_rate_rule=rule,
        resolution_per_hour=_per_hour(bar.resolution, quantum) if bar.resolution > 0 else None,
        decided_by=decided.evidence if decided else None,
        judged_from_s=_finite(start),
        longer=longer,
    )


def _input_problem(t: np.ndarray, y: np.ndarray, quantum: float, min_rate: float | None) -> str:
    """Why the inputs cannot be judged at all, or an empty string."""
    if len(t) != len(y):
        return f"{len(t)} times for {len(y)} values"
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        return "times or values that are not finite numbers"
    if not (math.isfinite(quantum) and quantum > 0):
        return f"a quantum of {quantum} (it must be a finite number above 0)"
    if min_rate is not None and not (math.isfinite(min_rate) and min_rate > 0):
        return f"a smallest leak rate of {min_rate} (it must be a finite number above 0)"
    return ""


def _inconclusive(n: int, reason: str) -> Trend:
    return Trend(Verdict.INCONCLUSIVE, None, None, None, "low", None, n, reason=reason)


def _evidence(
    kind: Evidence, t: np.ndarray, y: np.ndarray, source: str, clusters: np.ndarray | None = None
) -> Judged | None:
    slope = robust_slope(t, y, clusters)
    return None if slope is None else Judged(kind, slope, len(y), source)


def _floor_evidence(t: np.ndarray, lows: np.ndarray, start: float) -> Judged | None:
    """The floor's growth from its lowest points, or from the climb-corrected readings where the cycles climb:
    whichever pins the growth down to the narrower interval (both estimate the same rate)."""
    climbs_t, climbs_y, cycles = climb_corrected_points(t, lows, start)
    candidates = [
        _evidence(Evidence.FLOOR, *floor_points(t, lows, start)),
        # What a cycle keeps may be drawn afresh each cycle: its readings share it (a design effect).
        _evidence(Evidence.FLOOR, climbs_t, climbs_y, "climbs", clusters=cycles),
    ]
    found = [item for item in candidates if item is not None]
    return min(found, key=lambda item: item.slope.high - item.slope.low) if found else None


def _growth(item: Judged | None, quantum: float) -> Growth | None:
    if item is None:
        return None
    slope = item.slope
    return Growth(
        rate_per_hour=_per_hour(slope.slope, quantum),
        low_per_hour=_per_hour(slope.low, quantum),
        high_per_hour=_per_hour(slope.high, quantum),
        p_value=_finite(slope.p_up),
        points=item.points,
        effective_points=_finite(slope.effective_points),
        source=item.source,
    )


def _reason(
    verdict: Verdict,
    decided: Judged | None,
    found: list[Judged],
    levels: np.ndarray,
    t: np.ndarray,
    start: float,
    bar: Bar,
    longer: float | None,
    samples: int,
) -> str:
    """Why, in words; numbers are left to the caller, and no brackets."""
    if verdict is Verdict.LEAK and decided is not None:
        if decided.evidence is Evidence.FLOOR:
            if decided.source in ("drops", "climbs"):
                return "what survives each drop keeps growing to the end of the run"
            return "its lowest readings keep rising to the end of the run"
        return "keeps growing to the end of the run"
    if verdict is Verdict.NO_LEAK:
        # The run's first tenth against the judged part: a start-up or a warm-up that has levelled off.
        early = levels[t <= t[0] + (t[-1] - t[0]) / 10]
        if float(np.median(levels[t >= start]) - np.median(early)) >= bar.bound() * (t[-1] - t[0]):
            return "growth levels off within the first third: a warm-up, not a leak"
        return "growth since the first third is below the smallest leak that matters"
    grown = [item for item in found if significant(item.slope)]
    if any(item.slope.slope >= bar.bound() for item in grown):
        # Large enough to matter, but within what the cycles climb between two samples.
        what = (
            "significant growth, but no more than its cycles climb between two samples: "
            "where in each cycle the samples fell could make it"
        )
    elif grown:
        what = "significant growth, but it may be smaller than the smallest leak that matters"
    else:
        what = "the data cannot yet tell growth that matters from noise"
    if longer is None:
        return f"{what}: monitor much longer to settle it"
    more = max(1, math.ceil((longer - 1) * samples))
    times = math.ceil(longer * 10) / 10
    return f"{what}: a run about {times:g} times as long, about {more} more samples at this interval, would settle it"


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _per_hour(slope: float, quantum: float) -> float | None:
    with np.errstate(over="ignore"):
        return _finite(float(np.float64(slope) * quantum * SECONDS_PER_HOUR))


def _hours_to_limit(verdict: Verdict, rate_per_hour: float | None, headroom: float | None) -> float | None:
    if verdict is not Verdict.LEAK or headroom is None or not math.isfinite(headroom):
        return None
    return _finite(max(headroom, 0.0) / rate_per_hour) if rate_per_hour and rate_per_hour > 0 else None


def _confidence(verdict: Verdict, p_up: float, samples: int) -> str:
    """For a leak, how strong the evidence of growth is; otherwise how many samples it rests on."""
    if verdict is Verdict.LEAK:
        if p_up < 1e-4:
            return "high"
        return "medium" if p_up < 1e-2 else "low"
    if verdict is Verdict.INCONCLUSIVE:
        return "low"
    if samples >= 100:
        return "high"
    return "medium" if samples >= 30 else "low"
