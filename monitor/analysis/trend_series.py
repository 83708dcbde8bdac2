"""A series made ready for the leak verdict: times that run forward, a bounded number of points, the
part of the run that is judged, and the floor (what survives each collection or wave of churn).

The floor is read from the drops: a process that collects garbage, or finishes a wave of work, falls
sharply to what it keeps, then climbs again. The lowest point after each deep drop, up to the next, is
what survived that drop. Where the cycles climb, every reading less what it climbed since its drop
(at the cycles' typical rate) is a reading of the floor too, many per cycle rather than one. Where
there are too few drops (steady noise, a staircase, slow churn), the floor is the lowest point of each
of a few equal stretches (window minima).
"""

from __future__ import annotations

import numpy as np

# Longer series are reduced to this many equal-time bins (the median of each for the level, its
# minimum for the floor): enough to judge any trend that matters, and the cost stays bounded.
MAX_POINTS = 2000
# The first third of the run is not judged: growth that stops within it (start-up, caches filling,
# a heap sizing itself) is a warm-up, not a leak.
WARM_UP_SHARE = 1 / 3
# A drop is a fall deeper than this many robust spreads of the steps, and than MIN_DROP_QUANTA.
DROP_SPREADS = 4.0
MIN_DROP_QUANTA = 3.0
# A drop frees at least this share of what the deepest drops free (their 90th percentile): a
# shallower one is a dip within a cycle, or a wave that fell only part of the way.
MIN_FREED = 0.5
DEEP_DROP_QUANTILE = 0.9
# The floor needs this many points, from drops or else from stretches of at least MIN_STRETCH_POINTS.
MIN_FLOOR_POINTS = 4
FLOOR_STRETCHES = 8
MIN_STRETCH_POINTS = 3
MAD_TO_SD = 1.4826
# A cycle's climb is the Theil-Sen slope of at most this many of its readings (its cost stays bounded).
CLIMB_POINTS = 200


def monotonic_times(t: np.ndarray) -> np.ndarray:
    """Seconds since the first sample, always moving forward, from times that may tie or step back.

    A step back (a clock set back) becomes the median forward step (1 s when there is none). Samples
    that share a time (stamps coarser than the interval) are spread evenly over the step to the next
    time, the last ones over the median step. Every sample is kept, in the order it was taken.
    """
    t = np.asarray(t, dtype=float)
    if not len(t):
        return np.empty(0)
    steps = np.diff(t)
    forward = steps > 0
    typical = float(np.median(steps[forward])) if forward.any() else 1.0
    times = np.concatenate(([0.0], np.cumsum(np.where(steps < 0, typical, steps))))
    if forward.all() or not len(steps):
        return times
    # Ties: each group of samples with one time shares the step to the next time evenly.
    firsts = np.flatnonzero(np.r_[True, np.diff(times) > 0])
    sizes = np.diff(np.r_[firsts, len(times)])
    gaps = np.diff(np.r_[times[firsts], times[firsts[-1]] + typical])
    group = np.repeat(np.arange(len(firsts)), sizes)
    offsets = np.arange(len(times)) - firsts[group]
    return times[firsts][group] + offsets * (gaps / sizes)[group]


def reduce_series(
    t: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, levels, floors): the series itself if short, else per equal-time bin its median time,
    median value and lowest value."""
    if len(y) <= max_points:
        return t, y, y
    width = (t[-1] - t[0]) / max_points
    bins = np.minimum(((t - t[0]) / width).astype(np.int64), max_points - 1)
    # Times run forward, so each bin is one contiguous stretch; sort values within their bin only.
    order = np.lexsort((y, bins))
    starts = np.flatnonzero(np.r_[True, np.diff(bins) != 0])
    counts = np.diff(np.r_[starts, len(y)])
    low, high = starts + (counts - 1) // 2, starts + counts // 2
    sorted_y = y[order]
    return (t[low] + t[high]) / 2, (sorted_y[low] + sorted_y[high]) / 2, sorted_y[starts]


def judged_from(t: np.ndarray) -> float:
    """The time from which the run is judged: the end of its first third."""
    return float(t[0] + (t[-1] - t[0]) * WARM_UP_SHARE)


def drops(y: np.ndarray) -> np.ndarray:
    """Index of the last falling step of each deep drop of `y` (in quanta): where a collection or a wave ends."""
    steps = np.diff(y)
    if len(steps) < 2:
        return np.empty(0, dtype=np.int64)
    centre = float(np.median(steps))
    spread = MAD_TO_SD * float(np.median(np.abs(steps - centre)))
    falling = np.flatnonzero(steps < centre - max(DROP_SPREADS * spread, MIN_DROP_QUANTA))
    if not len(falling):
        return falling
    # A drop over several samples is one drop, from its first falling step to its last.
    firsts = falling[~np.isin(falling - 1, falling)]
    lasts = falling[~np.isin(falling + 1, falling)]
    depths = y[firsts] - y[lasts + 1]
    return lasts[depths >= MIN_FREED * float(np.quantile(depths, DEEP_DROP_QUANTILE))]


def floor_points(t: np.ndarray, y: np.ndarray, start: float) -> tuple[np.ndarray, np.ndarray, str]:
    """(times, values, how) of the floor from `start` on: the lowest point after each deep drop ("drops"),
    else the lowest point of each of a few equal stretches ("stretches"); empty when there are too few."""
    ends = drops(y)
    bounds = np.r_[ends + 1, len(y)]
    lowest = [a + int(np.argmin(y[a:b])) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    # The drop before `start` counts when what it left lasts into the judged part.
    kept = [i for i, b in zip(lowest, bounds[1:]) if t[b - 1] >= start]
    if len(kept) >= MIN_FLOOR_POINTS:
        return t[kept], y[kept], "drops"
    judged = np.flatnonzero(t >= start)
    stretches = min(FLOOR_STRETCHES, len(judged) // MIN_STRETCH_POINTS)
    if stretches < MIN_FLOOR_POINTS:
        return np.empty(0), np.empty(0), ""
    parts = np.array_split(judged, stretches)
    lowest = [int(part[np.argmin(y[part])]) for part in parts]
    return t[lowest], y[lowest], "stretches"


def climb_corrected_points(t: np.ndarray, y: np.ndarray, start: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, values, cycles) from `start` on: every reading after a deep drop, less what it climbed since
    that drop at the cycles' typical rate (the median of their Theil-Sen slopes), and the cycle each is
    in; empty unless there are MIN_FLOOR_POINTS drops reaching `start` and the cycles climb."""
    firsts = drops(y) + 1
    bounds = np.r_[firsts, len(y)]
    if np.sum(t[bounds[1:] - 1] >= start) < MIN_FLOOR_POINTS:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    climb = cycle_climb(t, y)
    if not climb > 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    cycle = np.searchsorted(firsts, np.arange(len(y)), side="right") - 1
    chosen = (cycle >= 0) & (t >= start)
    since_drop = t[chosen] - t[firsts[cycle[chosen]]]
    return t[chosen], y[chosen] - climb * since_drop, cycle[chosen]


def cycle_climb(t: np.ndarray, y: np.ndarray) -> float:
    """How fast the cycles between deep drops climb: the median of their Theil-Sen slopes (0 without drops)."""
    ends = drops(y)
    bounds = np.r_[ends + 1, len(y)]
    rates = [_climb(t[a:b], y[a:b]) for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= MIN_STRETCH_POINTS]
    return float(np.median(rates)) if len(ends) and rates else 0.0


def cycle_resolution(t: np.ndarray, y: np.ndarray, start: float) -> float:
    """The smallest growth from `start` on that the samples can tell from where in its cycle each fell
    (quanta per second): what the cycles climb in one sampling interval, over the judged span.

    A cycle's lowest sample lies up to one interval's climb above what it kept, and that offset drifts
    from cycle to cycle when the cycles and the samples keep a near-constant ratio (a stroboscope):
    the floor and the level then seem to grow by up to one interval's climb over any run.
    """
    span = float(t[-1] - start)
    ends = drops(y)
    if not len(ends) or not span > 0:
        return 0.0
    # A cycle climbs steadily when every step of it rises: its smallest step is what it climbs at least.
    # A wave that jumps up and stays (a flat top or a flat bottom) has a step of 0: its low samples are exact.
    bounds = np.r_[ends + 1, len(y)]
    steps = [float(np.min(np.diff(y[a:b]))) for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= MIN_STRETCH_POINTS]
    return max(float(np.median(steps)), 0.0) / span if steps else 0.0


def _climb(t: np.ndarray, y: np.ndarray) -> float:
    """The Theil-Sen slope of one cycle, from at most CLIMB_POINTS of its readings spread over it."""
    pick = np.unique(np.linspace(0, len(y) - 1, min(len(y), CLIMB_POINTS)).astype(np.int64))
    i, j = np.triu_indices(len(pick), 1)
    return float(np.median((y[pick[j]] - y[pick[i]]) / (t[pick[j]] - t[pick[i]])))
