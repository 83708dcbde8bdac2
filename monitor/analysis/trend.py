"""A statistical leak detector: growth that is significant, sustained to the end, and bigger than noise.

The README heuristic looks at every step and is vetoed by a single dip. This detector asks instead:

1. What series to judge? Every sample, on times repaired to run forward, reduced to at most
   MAX_POINTS medians of equal-time bins so that the cost stays O(n log n) in time and O(n) in memory.
   A GC-like sawtooth (sharp drops, gradual climbs) is judged by one floor per cycle: the median of
   the cycle's points with the climb since its start taken out, at the cycle's start time. Points of
   one cycle share its errors, so they count once. Drops that free under half a typical
   collection or half a cycle's climb, or a climb that explains under half the spread, are not a
   sawtooth's.
2. Is there an upward trend (p < ALPHA)? Cycle floors, few and independent, get a least-squares
   slope test with Student's t on n - 2 degrees of freedom. Other series must pass two tests:
   Mann-Kendall on the levels with its variance widened for the AR(1) autocorrelation of the noise
   (Hamed and Rao), estimated from the correlation of consecutive steps so that a curved trend is not
   taken for autocorrelation, Bonferroni-combined with a test that the mean increment is above zero
   (which holds when the series wanders like a random walk); and the same slope test on the medians
   of BLOCKS equal stretches of the run (batch means), which holds under dependence of any form
   shorter than a stretch, such as a slow load cycle.
3. Does it last? Rejected only when the last two thirds of the run grow significantly
   (p < ALPHA_SLOWDOWN) slower than PERSISTENCE times the whole run's least-squares rate: growth
   that stops in the first third (warm-up, caches filling) is not a leak.
4. Is it big enough to matter? More than two quanta (4 KiB pages, or handles) and more than half
   the noise's spread over the run.

The rate is the Theil-Sen slope with its 90% interval (widened for autocorrelation too), per hour.
Values are judged in quanta relative to their median, so adding a constant or scaling values and
quantum by a power of two changes nothing but the units of the result.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

# scipy.stats takes half a second to import: it is loaded on first use, after sampling, so that the
# monitor's first sample is not delayed by it.
stats: Any = None


def load_statistics() -> None:
    """Import scipy.stats now (half a second or more) rather than inside the first verdict."""
    global stats
    if stats is None:
        from scipy import stats as loaded

        stats = loaded


class Verdict(str, enum.Enum):
    """What the detector concludes about one metric."""

    LEAK = "leak"
    NO_LEAK = "no-leak"
    INCONCLUSIVE = "inconclusive"

    def __str__(self) -> str:
        return self.value


LEAK = Verdict.LEAK
NO_LEAK = Verdict.NO_LEAK
INCONCLUSIVE = Verdict.INCONCLUSIVE

MIN_SAMPLES = 8
# Longer series are reduced to the medians of this many equal-time bins: enough to judge any trend
# that matters, and the cost of the statistics stays bounded.
MAX_POINTS = 2000
# Theil-Sen takes the median of the slopes between every pair of points, or of this many pairs
# drawn at random (with a fixed seed) when there are more: its memory stays bounded.
MAX_PAIRS = 100_000
# One-sided significance of the upward trend over the last two thirds of the run, and the looser
# one asked of the whole run (so that a dip followed by a recovery is not read as growth).
ALPHA = 0.005
ALPHA_SLOWDOWN = 0.01
# The last two thirds of the run must trend upward on their own evidence, and the last third must
# gain on the middle third at this share of the middle third's gain on the first.
PERSISTENCE = 0.35
# A real leak must add more than this many quanta (pages, handles) over the run, and more than
# this share of the noise's spread: a significant but tiny drift is not worth an alarm.
MIN_QUANTA = 2
MIN_RISE_TO_NOISE = 0.5
# A sawtooth needs this many cycles whose start was seen for its climb to be estimated and removed.
MIN_CYCLES = 2
# The steps are centred in this many blocks to estimate the noise's autocorrelation.
STEP_BLOCKS = 3
# A collection frees at least this share of what its cycle allocated; smaller drops are noise.
MIN_FREED = 0.5
# Taking the climb out must leave at most this share of the spread a straight line leaves: a
# sawtooth explains most of the series' movement, or it is no sawtooth.
MIN_EXPLAINED = 0.5
# The run is also judged by the medians of this many equal stretches (batch means).
BLOCKS = 10
CONFIDENCE_LEVEL = 0.90
AUTOCORRELATION_Z = 1.645
SECONDS_PER_HOUR = 3600.0
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Trend:
    """The detector's verdict on one metric; a quantity that cannot be estimated is None."""

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


@dataclass(frozen=True)
class _Fit:
    """A Theil-Sen line in quanta per second, with its interval."""

    slope: float
    intercept: float
    low: float
    high: float


def detect_trend(
    times_s: ArrayLike,
    values: ArrayLike,
    quantum: float,
    headroom: float | None = None,
) -> Trend:
    """Judge whether `values` (sampled at `times_s`) leak; `headroom` is how much is left before a limit."""
    t = np.asarray(times_s, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    n = len(y)
    problem = _input_problem(t, y, quantum)
    if problem:
        return _inconclusive(n, problem)
    if n < MIN_SAMPLES:
        return _inconclusive(n, f"too few samples ({n}, need {MIN_SAMPLES})")
    level = float(np.median(y))
    with np.errstate(over="ignore", invalid="ignore"):
        z = (y - level) / quantum
    if not np.all(np.isfinite(z)):
        return _inconclusive(n, "values too large for their quantum")
    load_statistics()
    return _judge(*reduce_series(monotonic_times(t), z), n, level, quantum, headroom)


def _input_problem(t: np.ndarray, y: np.ndarray, quantum: float) -> str:
    """Why the inputs cannot be judged at all, or an empty string."""
    if len(t) != len(y):
        return f"{len(t)} times for {len(y)} values"
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        return "times or values that are not finite numbers"
    if not (math.isfinite(quantum) and quantum > 0):
        return f"a quantum of {quantum} (it must be a finite number above 0)"
    return ""


def _inconclusive(n: int, reason: str) -> Trend:
    return Trend(Verdict.INCONCLUSIVE, None, None, None, "low", None, n, reason=reason)


def _judge(t: np.ndarray, z: np.ndarray, n: int, level: float, quantum: float, headroom: float | None) -> Trend:
    """The verdict on a prepared series: times from 0, values in quanta around their median."""
    drops = gc_drops(z)
    floors = None if drops is None else cycle_floors(t, z, drops)
    if floors is not None:
        t, z = floors
    rho = _noise_autocorrelation(z)
    fit = theil_sen(t, z, rho)
    noise = MAD_TO_SD * float(np.median(np.abs(z - (fit.slope * t + fit.intercept))))
    p_up = slope_p(t, z) if floors is not None else max(trend_p(t, z, rho), block_p(t, z))
    first, _, last = _thirds(t, z)
    rise = last - first
    p_later = slowdown_p(t, z)
    rising = p_up < ALPHA
    sustained = p_later >= ALPHA_SLOWDOWN
    big_enough = rise >= MIN_QUANTA and rise >= MIN_RISE_TO_NOISE * noise
    leak = rising and sustained and big_enough
    rate = _per_hour(fit.slope, quantum)
    return Trend(
        verdict=Verdict.LEAK if leak else Verdict.NO_LEAK,
        rate_per_hour=rate,
        rate_low_per_hour=_per_hour(fit.low, quantum),
        rate_high_per_hour=_per_hour(fit.high, quantum),
        confidence=_confidence(leak, p_up, n, len(z)),
        p_value=_finite(p_up),
        samples=n,
        hours_to_limit=_hours_to_limit(leak, rate, headroom),
        reason=_reason(leak, rising, sustained, big_enough),
        intercept=_finite(level + quantum * fit.intercept),
    )


def _reason(leak: bool, rising: bool, sustained: bool, big_enough: bool) -> str:
    if leak:
        return "keeps growing to the end of the run"
    if not sustained and (rising or big_enough):
        return "growth levels off before the end (warm-up, not a leak)"
    if rising:
        return "a drift too small to matter (under 2 quanta or half the noise)"
    return "no sustained upward trend"


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _per_hour(slope: float, quantum: float) -> float | None:
    with np.errstate(over="ignore"):
        return _finite(float(np.float64(slope) * quantum * SECONDS_PER_HOUR))


def _hours_to_limit(leak: bool, rate_per_hour: float | None, headroom: float | None) -> float | None:
    if not leak or rate_per_hour is None or rate_per_hour <= 0 or headroom is None or not math.isfinite(headroom):
        return None
    return _finite(max(headroom, 0.0) / rate_per_hour)


def monotonic_times(t: np.ndarray) -> np.ndarray:
    """Times from 0 that always move forward: a step back or a tie (clock set back, coarse stamps) is repaired.

    Each non-positive step becomes the median positive step, then all steps are scaled so that the
    run keeps the length its forward steps add up to; samples stay in the order they were taken.
    """
    steps = np.diff(t)
    forward = steps > 0
    if forward.all():
        return t - t[0]
    typical = float(np.median(steps[forward])) if forward.any() else 1.0
    repaired = np.where(forward, steps, typical)
    span = float(steps[forward].sum())
    if span > 0:
        repaired *= span / float(repaired.sum())
    return np.concatenate(([0.0], np.cumsum(repaired)))


def reduce_series(t: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The series itself if short, else the median time and value of each of `max_points` equal-time bins."""
    if len(y) <= max_points:
        return t, y
    width = (t[-1] - t[0]) / max_points
    bins = np.minimum(((t - t[0]) / width).astype(np.int64), max_points - 1)
    # Times run forward, so each bin is one contiguous stretch; sort values within their bin only.
    order = np.lexsort((y, bins))
    starts = np.flatnonzero(np.r_[True, np.diff(bins) != 0])
    counts = np.diff(np.r_[starts, len(y)])
    low, high = starts + (counts - 1) // 2, starts + counts // 2
    sorted_y = y[order]
    return (t[low] + t[high]) / 2, (sorted_y[low] + sorted_y[high]) / 2


def gc_drops(y: np.ndarray) -> np.ndarray | None:
    """Where a GC-like sawtooth falls (indices of the last sample before each drop), or None if it is not one.

    GC cycles fall sharply and climb gradually; noise and spikes jump both ways alike. `y` is in quanta.
    """
    diffs = np.diff(y)
    centre = float(np.median(diffs))
    spread = MAD_TO_SD * float(np.median(np.abs(diffs - centre)))
    threshold = max(4 * spread, 3.0)
    # A drop is a real fall, far below the typical step: a slow step of a steady climb is not one.
    # Noise, spikes and steps rise as sharply as they fall: only a fall deeper than the biggest
    # rise is a collection's, whatever the tails of the noise.
    deepest_noise = max(threshold, float(diffs.max()) - centre)
    drops = np.flatnonzero(diffs < min(centre, 0.0) - deepest_noise)
    if len(drops) < MIN_CYCLES:
        return None
    # A collection frees about what its cycle allocated: a fall of under MIN_FREED of the typical
    # collection's is a dip in the noise, and would split a cycle in two.
    depths = -diffs[drops]
    drops = drops[depths >= MIN_FREED * float(np.median(depths))]
    return drops if len(drops) >= MIN_CYCLES else None


def cycle_floors(t: np.ndarray, y: np.ndarray, drops: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The level each GC cycle starts from, one value per cycle at its start time, or None if it is no sawtooth.

    The climb rate is the pooled least-squares slope within cycles; a cycle's floor is the median of
    its points with the climb since its start taken out. Points of one cycle share its errors (a
    climb that is not quite linear in time, uneven intervals), so they give one value, not many. The
    stretch before the first drop is a cycle whose start was never seen, so it is left out. None when
    it is no sawtooth after all: no climb within cycles, drops that free less than MIN_FREED of what
    a cycle climbs (outliers in the noise of a steady climb), or a climb that leaves over
    MIN_EXPLAINED of the spread a straight line leaves.
    """
    depth = float(np.median(y[drops] - y[drops + 1]))
    cycle_s = float(np.median(np.diff(t[drops])))
    start = int(drops[0]) + 1
    t, y = t[start:], y[start:]
    cycle = np.zeros(len(y), dtype=np.int64)
    cycle[drops[1:] + 1 - start] = 1
    cycle = np.cumsum(cycle)
    starts = np.flatnonzero(np.r_[True, np.diff(cycle) != 0])
    since = t - t[starts][cycle]
    counts = np.bincount(cycle).astype(float)
    centred_s = since - (np.bincount(cycle, since) / counts)[cycle]
    centred_y = y - (np.bincount(cycle, y) / counts)[cycle]
    spread = float(np.dot(centred_s, centred_s))
    climb = float(np.dot(centred_s, centred_y)) / spread if spread > 0 else 0.0
    levels = y - climb * since
    if climb <= 0 or depth < MIN_FREED * climb * cycle_s or _spread(t, levels) > MIN_EXPLAINED * _spread(t, y):
        return None
    # Cycles are contiguous: sorting by (cycle, level) puts each cycle's median in the middle of its stretch.
    order = np.lexsort((levels, cycle))
    ends = np.r_[starts[1:], len(y)]
    low, high = starts + (ends - starts - 1) // 2, starts + (ends - starts) // 2
    sorted_levels = levels[order]
    return t[starts], (sorted_levels[low] + sorted_levels[high]) / 2


def block_p(t: np.ndarray, y: np.ndarray, blocks: int = BLOCKS) -> float:
    """One-sided p-value of an upward trend among the medians of `blocks` equal stretches of the run.

    Batch means: dependence that lasts shorter than a block (any autocorrelation, not only AR(1))
    barely links the medians of neighbouring blocks, so the slope test on them keeps its level.
    """
    if len(y) < 2 * blocks:
        return slope_p(t, y)
    block = np.arange(len(y)) * blocks // len(y)
    starts = np.flatnonzero(np.r_[True, np.diff(block) != 0])
    ends = np.r_[starts[1:], len(y)]
    order = np.lexsort((y, block))
    low, high = starts + (ends - starts - 1) // 2, starts + (ends - starts) // 2
    counts = (ends - starts).astype(float)
    return slope_p(np.bincount(block, t) / counts, (y[order][low] + y[order][high]) / 2)


def slope_p(t: np.ndarray, y: np.ndarray) -> float:
    """One-sided p-value of an upward least-squares slope, from Student's t with n - 2 degrees of freedom."""
    n = len(y)
    if n < 3:
        return 1.0
    centred_t = t - t.mean()
    spread = float(np.dot(centred_t, centred_t))
    if spread <= 0:
        return 1.0
    slope = float(np.dot(centred_t, y - y.mean())) / spread
    residuals = y - y.mean() - slope * centred_t
    variance = float(np.dot(residuals, residuals)) / (n - 2) / spread
    if variance <= 0:
        return 0.0 if slope > 0 else 1.0
    return float(stats.t.sf(slope / math.sqrt(variance), n - 2))


def _spread(t: np.ndarray, y: np.ndarray) -> float:
    """The robust spread (scaled MAD) of what the Theil-Sen line leaves."""
    residuals = y - _median_slope(t, y) * t
    return MAD_TO_SD * float(np.median(np.abs(residuals - np.median(residuals))))


def theil_sen(t: np.ndarray, y: np.ndarray, rho: float) -> _Fit:
    """Theil-Sen slope and intercept, with Sen's 90% interval widened for `rho`, the noise's autocorrelation."""
    n = len(y)
    if n < 2 or t[-1] <= t[0]:
        return _Fit(0.0, float(np.median(y)) if n else 0.0, 0.0, 0.0)
    slopes = np.sort(_pair_slopes(t, y))
    slope = float(np.median(slopes))
    intercept = float(np.median(y - slope * t))
    variance = n * (n - 1) * (2 * n + 5) / 18 * ar1_variance_factor(rho, n)
    half_width = float(stats.norm.ppf(0.5 + CONFIDENCE_LEVEL / 2)) * math.sqrt(variance)
    # Sen's ranks (N -+ C) / 2 among all N pairs, as shares of the pairs actually taken.
    share = half_width / (n * (n - 1) / 2)
    pairs = len(slopes)
    low_rank = int(np.clip(math.floor((1 - share) / 2 * pairs), 0, pairs - 1))
    high_rank = int(np.clip(math.ceil((1 + share) / 2 * pairs), 0, pairs - 1))
    return _Fit(slope, intercept, float(slopes[low_rank]), float(slopes[high_rank]))


def trend_p(t: np.ndarray, y: np.ndarray, rho: float) -> float:
    """One-sided p-value of an upward trend, valid whether the series is noise around a line or wanders.

    Around a line (`rho`, the noise's autocorrelation, is 0), the levels test alone; when the series
    wanders, the smaller of the levels test and the increments test, doubled (Bonferroni).
    """
    if len(y) < 3 or np.ptp(y) == 0 or t[-1] <= t[0]:
        return 1.0
    levels = mann_kendall_up(t, y, rho)
    if rho == 0:
        return levels
    return min(1.0, 2 * min(levels, increments_up(t, y)))


def slowdown_p(t: np.ndarray, z: np.ndarray) -> float:
    """One-sided p-value that the last two thirds of the run grow slower than PERSISTENCE times the run's average rate.

    The average rate is the least-squares slope of the whole run, which weighs the ends most; the
    last two thirds, with that share of it taken out, are tested for a downward trend. Growth that
    ends within the first third (a warm-up) fails; a leak that pauses now and then does not.
    """
    span = t[-1] - t[0]
    last = t > t[0] + span / 3
    if last.sum() < 3:
        return 1.0
    centred_t = t - t.mean()
    spread = float(np.dot(centred_t, centred_t))
    rate = float(np.dot(centred_t, z - z.mean())) / spread if spread > 0 else 0.0
    tail_t = t[last] - t[last][0]
    tail = -(z[last] - PERSISTENCE * max(rate, 0.0) * tail_t)
    return trend_p(tail_t, tail, _noise_autocorrelation(tail))


def mann_kendall_up(t: np.ndarray, y: np.ndarray, rho: float) -> float:
    """One-sided p-value of an upward Mann-Kendall trend, its variance widened for autocorrelation.

    Kendall's tau assumes independent points; a positively autocorrelated series wanders, and its
    p-values are far too small. Hamed and Rao's correction multiplies the variance of S by n/n*, here
    for `rho`, the AR(1) autocorrelation of the noise (_noise_autocorrelation).
    """
    n = len(y)
    tau = _kendall_tau_b(t, y)
    if not math.isfinite(tau):
        return 1.0
    _, counts = np.unique(y, return_counts=True)
    pairs = n * (n - 1) / 2
    tied = float(np.sum(counts * (counts - 1) / 2))
    # Times run strictly forward, so only the values have ties: S from tau-b and the tie-corrected variance.
    s = tau * math.sqrt(pairs * (pairs - tied))
    variance = (n * (n - 1) * (2 * n + 5) - float(np.sum(counts * (counts - 1) * (2 * counts + 5)))) / 18
    if variance <= 0:
        return 1.0
    variance *= ar1_variance_factor(rho, n)
    # The continuity correction: S moves in steps of 2.
    return float(stats.norm.sf((s - math.copysign(1.0, s)) / math.sqrt(variance))) if s else 0.5


def increments_up(t: np.ndarray, y: np.ndarray) -> float:
    """One-sided p-value that the series gains on average per unit of time, its variance widened for autocorrelation.

    This is the test that holds for a random walk with drift: increments are then independent, or
    nearly, while a stationary series has increments that cancel out.
    """
    rates = np.diff(y) / np.diff(t)
    weights = np.diff(t)
    m = len(rates)
    if m < 2:
        return 1.0
    total = float(weights.sum())
    mean = float(np.dot(weights, rates)) / total
    deviations = rates - mean
    spread = float(np.dot(weights, deviations**2)) / total
    if spread <= 0:
        return 0.0 if mean > 0 else 1.0
    factor = _mean_variance_factor(_corrected_autocorrelation(deviations), m)
    # Weighted by the length of each step: the weighted mean's variance uses the effective count.
    effective = total**2 / float(np.dot(weights, weights))
    standard_error = math.sqrt(spread * factor / effective * m / max(m - 1, 1))
    return float(stats.t.sf(mean / standard_error, max(m - 1, 1)))


def ar1_variance_factor(rho: float, n: int) -> float:
    """Hamed and Rao's n/n* for Mann-Kendall's S under AR(1) autocorrelation rho of the ranks."""
    if rho <= 0 or n < 3:
        return 1.0
    k = np.arange(1, n - 2, dtype=float)
    weights = (n - k) * (n - k - 1) * (n - k - 2)
    return 1.0 + 2.0 * float(np.dot(weights, rho**k)) / (n * (n - 1) * (n - 2))


def _mean_variance_factor(rho: float, m: int) -> float:
    """How much AR(1) autocorrelation rho widens the variance of a mean of m values."""
    if rho <= 0 or m < 2:
        return 1.0
    k = np.arange(1, m, dtype=float)
    return 1.0 + 2.0 * float(np.dot(1 - k / m, rho**k))


def _noise_autocorrelation(y: np.ndarray) -> float:
    """The AR(1) autocorrelation of the noise, estimated from the steps so that any smooth trend drops out.

    For AR(1) noise of autocorrelation rho, consecutive steps correlate at -(1 - rho) / 2 whatever the
    trend's shape; on ranks (a spike is one rank), converted to a Pearson correlation. Only a value
    significantly above that of white noise (-1/2, one-sided 5%) counts.
    """
    steps = np.diff(y)
    m = len(steps)
    if m < 4:
        return 0.0
    ranks = _average_ranks(steps)
    # Centred within each third, so that a change of slope (a leak that starts mid-run) does not pass
    # for autocorrelation, while a slow wander or a cycle still does; pairs that straddle two thirds are left out.
    blocks = STEP_BLOCKS if m >= 3 * STEP_BLOCKS else 1
    block = np.arange(m) * blocks // m
    counts = np.bincount(block).astype(float)
    centred = ranks - (np.bincount(block, ranks) / counts)[block]
    denominator = float(np.dot(centred, centred))
    if denominator == 0:
        return 0.0
    same = block[:-1] == block[1:]
    raw = float(np.dot(centred[:-1][same], centred[1:][same])) / denominator * m / max(int(same.sum()), 1)
    # Centring within blocks of b steps biases the estimate low by about (1 + 2 r) / b; solved for r.
    b = m / blocks
    rank_r = (raw + 1 / b) / (1 - 2 / b) if b > 2 else raw
    r = 2 * math.sin(math.pi * min(max(rank_r, -1.0), 1.0) / 6)
    # White noise gives steps whose lag-1 correlation is -1/2 with variance 1/(2m) (Bartlett).
    if r <= -0.5 + AUTOCORRELATION_Z * math.sqrt(0.5 / m):
        return 0.0
    return float(np.clip(1 + 2 * r, 0.0, 1.0))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, tied values sharing their average rank (scipy's rankdata, without its per-call overhead)."""
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return ranks


def _corrected_autocorrelation(x: np.ndarray) -> float:
    """The lag-1 autocorrelation, with its small-sample bias of -(1 + 4 rho) / n taken out, in [0, 1]."""
    n = len(x)
    centred = x - x.mean()
    denominator = float(np.dot(centred, centred))
    if n < 3 or denominator == 0:
        return 0.0
    r1 = float(np.dot(centred[:-1], centred[1:])) / denominator
    # As Hamed and Rao do, only an autocorrelation significant at 5% (one-sided, Anderson's bound)
    # widens the variance: short independent series would otherwise lose power to chance.
    if r1 <= (-1 + AUTOCORRELATION_Z * math.sqrt(n - 2)) / (n - 1):
        return 0.0
    # The sample autocorrelation is biased low by about (1 + 4 rho) / n (Kendall); solved for rho.
    return float(np.clip((n * r1 + 1) / (n - 4) if n > 4 else r1, 0.0, 1.0))


def _pair_slopes(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The slopes between every pair of points, or between MAX_PAIRS pairs drawn with a fixed seed."""
    i, j = _pairs(len(y))
    return (y[j] - y[i]) / (t[j] - t[i])


@functools.lru_cache(maxsize=4)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The index pairs (i < j) whose slopes Theil-Sen takes for a series of n points.

    They depend on n alone, and a sliding window judges series of one length again and again: kept
    for the last few lengths (at most 1.6 MB each), read-only.
    """
    if n * (n - 1) // 2 <= MAX_PAIRS:
        i, j = np.triu_indices(n, 1)
    else:
        # A fixed seed: the same series always gets the same verdict.
        drawn = np.random.default_rng(0).integers(0, n, size=(2, MAX_PAIRS))
        drawn = drawn[:, drawn[0] != drawn[1]]
        i, j = np.minimum(drawn[0], drawn[1]), np.maximum(drawn[0], drawn[1])
    i.setflags(write=False)
    j.setflags(write=False)
    return i, j


def _median_slope(t: np.ndarray, y: np.ndarray) -> float:
    return float(np.median(_pair_slopes(t, y)))


def _kendall_tau_b(t: np.ndarray, y: np.ndarray) -> float:
    result = stats.kendalltau(t, y)
    return float(result[0])


def _thirds(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Median level in the first, middle and last third of the run (by time)."""
    cuts = np.linspace(t[0], t[-1], 4)
    parts = [y[t <= cuts[1]], y[(t > cuts[1]) & (t <= cuts[2])], y[t > cuts[2]]]
    levels: list[float | None] = [float(np.median(part)) if len(part) else None for part in parts]
    # A third with no point (very uneven sampling) borrows its neighbours' level.
    known = [level for level in levels if level is not None]
    filled = [float(np.mean(known)) if level is None else level for level in levels]
    return filled[0], filled[1], filled[2]


def _confidence(leak: bool, p_up: float, samples: int, points: int) -> str:
    """For a leak, how strong the evidence of growth is; for no leak, how many samples it rests on."""
    if leak:
        if p_up < 1e-4 and points >= 10:
            return "high"
        return "medium" if p_up < 1e-3 else "low"
    if samples >= 100:
        return "high"
    return "medium" if samples >= 30 else "low"
