"""A statistical leak detector: growth that is significant, sustained to the end, and bigger than noise.

The README heuristic looks at every step and is vetoed by a single dip. This detector asks instead:

1. What series to judge? Normally every sample. A GC-like sawtooth (sharp drops, gradual climbs)
   is judged by the floor each cycle returns to, not by its peaks.
2. Is there an upward trend? Mann-Kendall (Kendall's tau against time, so uneven intervals are
   fine, ranks so spikes and heavy tails barely matter), one-sided, after trend-free pre-whitening
   so that a wandering (autocorrelated) series is not taken for a trend. Cycle floors are few but
   precise, so they get a least-squares slope test instead.
3. Does it last? The trend must hold over the last two thirds of the run on its own, and the last
   third's level must gain on the middle third's at a good part of the rate at which the middle
   gained on the first: growth that stops (warm-up, caches filling) is not a leak.
4. Is it big enough to matter? More than two quanta (4 KiB pages, or handles) and more than half
   the noise's spread over the run.

The rate is the Theil-Sen slope with its 90% interval, per hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

# scipy.stats takes half a second to import: it is loaded on first use, after sampling, so that the
# monitor's first sample is not delayed by it.
stats: Any = None


def _load_stats() -> None:
    global stats
    if stats is None:
        from scipy import stats as loaded

        stats = loaded


LEAK = "leak"
NO_LEAK = "no-leak"
INCONCLUSIVE = "inconclusive"

MIN_SAMPLES = 8
# One-sided significance of the upward trend over the last two thirds of the run, and the looser
# one asked of the whole run (so that a dip followed by a recovery is not read as growth).
ALPHA = 0.005
ALPHA_WHOLE = 0.05
# The last two thirds of the run must trend upward on their own evidence, and the last third must
# gain on the middle third at this share of the middle third's gain on the first.
PERSISTENCE = 0.35
# A real leak must add more than this many quanta (pages, handles) over the run, and more than
# this share of the noise's spread: a significant but tiny drift is not worth an alarm.
MIN_QUANTA = 2
MIN_RISE_TO_NOISE = 0.5
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Trend:
    """The detector's verdict on one metric."""

    verdict: str
    rate_per_hour: float
    rate_low_per_hour: float
    rate_high_per_hour: float
    confidence: str
    p_value: float
    samples: int
    hours_to_limit: float | None = None
    reason: str = ""
    # The fitted line is intercept + rate_per_hour / 3600 * seconds since the first sample.
    intercept: float = 0.0


def detect_trend(
    times_s: ArrayLike,
    values: ArrayLike,
    quantum: float,
    headroom: float | None = None,
) -> Trend:
    """Judge whether `values` (sampled at `times_s`) leak; `headroom` is how much is left before a limit."""
    _load_stats()
    t = np.asarray(times_s, dtype=float)
    y = np.asarray(values, dtype=float)
    n = len(y)
    if n < MIN_SAMPLES or t[-1] - t[0] <= 0:
        return Trend(INCONCLUSIVE, 0.0, 0.0, 0.0, "low", 1.0, n, reason=f"too few samples ({n}, need {MIN_SAMPLES})")
    drops = gc_drops(y, quantum)
    if drops is None:
        st, sy, trend_p = t, y, mann_kendall_up
    else:
        # A sawtooth: judge the floor each cycle returns to. Those few points are precise, which
        # a least-squares slope can use and a rank test cannot.
        st, sy = cycle_floors(t, y, drops)
        trend_p = regression_up
    slope, intercept, low, high = stats.theilslopes(sy, st, alpha=0.90)
    noise = 1.4826 * float(np.median(np.abs(sy - (slope * st + intercept))))
    p_up = trend_p(st, sy)
    later = st > st[0] + (st[-1] - st[0]) / 3
    p_later = trend_p(st[later], sy[later]) if later.sum() >= 3 else 1.0
    first, middle, last = _thirds(st, sy)
    rise = last - first
    rising = p_up < ALPHA_WHOLE
    sustained = p_later < ALPHA and last > middle and last - middle >= PERSISTENCE * (middle - first)
    big_enough = rise >= MIN_QUANTA * quantum and rise >= MIN_RISE_TO_NOISE * noise
    leak = rising and sustained and big_enough
    if leak:
        reason = "keeps growing to the end of the run"
    elif rising and not sustained:
        reason = "growth levels off before the end (warm-up, not a leak)"
    elif rising:
        reason = "a drift too small to matter (under 2 quanta or half the noise)"
    else:
        reason = "no sustained upward trend"
    hours = None
    if leak and headroom is not None and slope > 0:
        hours = max(headroom, 0.0) / (slope * SECONDS_PER_HOUR)
    return Trend(
        verdict=LEAK if leak else NO_LEAK,
        rate_per_hour=slope * SECONDS_PER_HOUR,
        rate_low_per_hour=low * SECONDS_PER_HOUR,
        rate_high_per_hour=high * SECONDS_PER_HOUR,
        confidence=_confidence(leak, p_later, n, len(sy)),
        p_value=p_up,
        samples=n,
        hours_to_limit=hours,
        reason=reason,
        intercept=float(intercept) + slope * float(t[0]),
    )


def gc_drops(y: np.ndarray, quantum: float) -> np.ndarray | None:
    """Where a GC-like sawtooth falls (indices of the last sample before each drop), or None if it is not one.

    GC cycles fall sharply and climb gradually; noise and spikes jump both ways alike.
    """
    diffs = np.diff(y)
    centre = float(np.median(diffs))
    spread = 1.4826 * float(np.median(np.abs(diffs - centre)))
    threshold = max(4 * spread, 3 * quantum)
    drops = np.flatnonzero(diffs < centre - threshold)
    rises = np.flatnonzero(diffs > centre + threshold)
    if len(drops) < 2 or len(drops) <= 2 * len(rises):
        return None
    # A noise outlier on a ramp also falls sharply, but far less than a collection does.
    sizes = -diffs[drops]
    return drops[sizes >= 0.5 * float(np.median(sizes))]


def cycle_floors(t: np.ndarray, y: np.ndarray, drops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest point of each cycle between two drops, at its own time.

    The stretch before the first drop is a cycle's tail whose floor was never seen, so it is left out.
    """
    starts = drops + 1
    ends = np.append(drops[1:] + 1, len(y))
    ft, fy = [], []
    for start, end in zip(starts, ends):
        if end <= start:
            continue
        # The median of the three lowest points: one outlier cannot fake a floor.
        lowest = start + np.argsort(y[start:end], kind="stable")[:3]
        ft.append(float(np.median(t[lowest])))
        fy.append(float(np.median(y[lowest])))
    return np.asarray(ft), np.asarray(fy)


def mann_kendall_up(t: np.ndarray, y: np.ndarray) -> float:
    """One-sided p-value of an upward Mann-Kendall trend, after trend-free pre-whitening.

    Kendall's tau assumes independent points; a positively autocorrelated series wanders, and its
    p-values are far too small. Trend-free pre-whitening (Yue and Wang) removes the Theil-Sen trend,
    takes the lag-1 autocorrelation r1 out of what is left (e[t] - r1 * e[t-1]), puts the trend
    back and tests that: a wander loses its false trend, a real trend keeps its strength.
    """
    if len(y) >= 4:
        slope, intercept = stats.theilslopes(y, t)[:2]
        residuals = y - (slope * t + intercept)
        r1 = _lag1_autocorrelation(residuals)
        if r1 > 0:
            t, y = t[1:], residuals[1:] - r1 * residuals[:-1] + slope * t[1:]
    tau, p_two_sided = stats.kendalltau(t, y)
    return _one_sided(tau, p_two_sided)


def regression_up(t: np.ndarray, y: np.ndarray) -> float:
    """One-sided p-value that the least-squares slope of y on t is above zero."""
    if len(y) < 3 or np.ptp(y) == 0:
        return 1.0
    fit = stats.linregress(t, y)
    if fit.stderr == 0:
        return 0.0 if fit.slope > 0 else 1.0
    return float(stats.t.sf(fit.slope / fit.stderr, len(y) - 2))


def _lag1_autocorrelation(x: np.ndarray) -> float:
    centred = x - x.mean()
    denominator = float(np.dot(centred, centred))
    if denominator == 0:
        return 0.0
    # Capped: an estimate from a short series can reach 1, which would wipe the series out.
    return min(float(np.dot(centred[:-1], centred[1:])) / denominator, 0.9)


def _thirds(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Median level in the first, middle and last third of the run (by time)."""
    cuts = np.linspace(t[0], t[-1], 4)
    thirds = [y[t <= cuts[1]], y[(t > cuts[1]) & (t <= cuts[2])], y[t > cuts[2]]]
    # A third with no point (very uneven sampling) borrows its neighbours' level.
    levels = [float(np.median(part)) if len(part) else math.nan for part in thirds]
    if math.isnan(levels[1]):
        levels[1] = (levels[0] + levels[2]) / 2
    return levels[0], levels[1], levels[2]


def _one_sided(tau: float, p_two_sided: float) -> float:
    if math.isnan(tau) or math.isnan(p_two_sided):
        return 1.0  # a constant series: no trend at all
    return p_two_sided / 2 if tau > 0 else 1 - p_two_sided / 2


def _confidence(leak: bool, p_later: float, samples: int, points: int) -> str:
    if leak:
        if p_later < 1e-4 and points >= 10:
            return "high"
        return "medium" if p_later < 1e-3 else "low"
    if samples >= 100:
        return "high"
    return "medium" if samples >= 30 else "low"
