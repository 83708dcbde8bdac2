"""Two runs compared metric by metric: the change of the typical level with a block-bootstrap interval, and a verdict.

1. What is compared? The same stretch of elapsed time in both runs: from WARM_UP_SHARE of the shorter
   run's length (the warm-up, left out) to the shorter run's end, so that runs of different lengths or
   sampling intervals are compared over the same seconds since their first sample. Longer series are
   reduced to the medians of at most MAX_POINTS equal-time bins.
2. The typical level of a run is its median, interpolated within tied values (the median of grouped
   data): a metric that moves in whole steps (handles, CPU clock ticks) then moves smoothly with the
   share of samples at each step instead of jumping a whole step when that share crosses one half.
3. The interval of the change is a circular block bootstrap of the difference of the two levels: the
   samples of a time series are not independent draws, so each run is resampled in blocks whose length
   follows its own autocorrelation, the two runs independently. A short run holds few blocks, and blocks
   shorter than the dependence understate the spread: the interval is widened for both (see
   change_interval and blocks_for).
4. The verdict: `same` when the whole interval lies within the tolerance, `higher` (`lower`) when the
   interval lies above (below) zero and the change exceeds the tolerance, else `inconclusive`. The
   tolerance is the given percentage of the smaller of the two levels, and at least one quantum of the
   metric: a page, a handle, and for CPU % the larger of 1 point and one clock tick over the sampling
   interval (CPU time is counted in ticks, so a sample at -s 0.2 moves in steps of 5 points).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import zlib
from dataclasses import dataclass
from statistics import NormalDist
from typing import Iterable, Mapping

import numpy as np

from monitor.analysis.trend_series import MAX_POINTS, monotonic_times, reduce_series
from monitor.metrics import METRIC_TABLE, Metric, Unit

# The first fifth of the compared time is warm-up (start-up, caches filling, a JIT): left out of the levels.
WARM_UP_SHARE = 0.2
CONFIDENCE = 0.95
RESAMPLES = 2000
# Fewer samples than this in either run's compared stretch give no verdict: a block bootstrap needs blocks.
MIN_SAMPLES = 8
DEFAULT_TOLERANCE_PCT = 5.0
SEED = 20_260_301
# The bootstrap variance is scaled up for its first-order bias by at most this much (the spread doubled).
MAX_VARIANCE_FACTOR = 4.0
# CPU time is counted in clock ticks: 1/100 s on Linux (USER_HZ), about 1/64 s on Windows.
CPU_TICK_S = 0.01


class Change(str, enum.Enum):
    """What the comparison concludes about one metric."""

    HIGHER = "higher"
    LOWER = "lower"
    SAME = "same"
    INCONCLUSIVE = "inconclusive"
    MISSING = "missing"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class RunSeries:
    """One run's samples: seconds since its first sample, and each metric's values (NaN where empty)."""

    elapsed_s: np.ndarray
    values: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class MetricChange:
    """The comparison of one metric; a quantity that cannot be estimated is None."""

    column: str
    verdict: Change
    reason: str
    baseline_level: float | None = None
    candidate_level: float | None = None
    change: float | None = None
    change_low: float | None = None
    change_high: float | None = None
    relative_change: float | None = None
    baseline_peak: float | None = None
    candidate_peak: float | None = None
    peak_change: float | None = None
    tolerance: float | None = None
    baseline_samples: int = 0
    candidate_samples: int = 0


@dataclass(frozen=True)
class Comparison:
    """Every metric's change from the baseline to the candidate, and the stretch of time compared."""

    changes: dict[str, MetricChange]
    start_s: float  # the compared stretch of elapsed time, the same in both runs
    end_s: float
    baseline_span_s: float
    candidate_span_s: float
    tolerance_pct: float

    def higher(self, columns: Iterable[str]) -> list[str]:
        """The given metrics whose verdict is `higher`, in the order given."""
        return [c for c in columns if c in self.changes and self.changes[c].verdict is Change.HIGHER]


def compare_runs(
    baseline: RunSeries,
    candidate: RunSeries,
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT,
    metrics: Iterable[Metric] = METRIC_TABLE,
) -> Comparison:
    """Compare every metric of the candidate run with the baseline run over the same stretch of elapsed time."""
    base_t, cand_t = _times(baseline.elapsed_s), _times(candidate.elapsed_s)
    base_span = float(base_t[-1]) if len(base_t) else 0.0
    cand_span = float(cand_t[-1]) if len(cand_t) else 0.0
    end = min(base_span, cand_span)
    start = WARM_UP_SHARE * end
    interval = min(_interval(base_t), _interval(cand_t))
    changes = {}
    with np.errstate(all="ignore"):  # overflowing or undefined numbers become None below, never a warning
        for metric in metrics:
            changes[metric.column] = _compare_metric(
                metric,
                (base_t, baseline.values.get(metric.column)),
                (cand_t, candidate.values.get(metric.column)),
                (start, end),
                (tolerance_pct, tolerance_floor(metric, interval)),
            )
    return Comparison(changes, start, end, base_span, cand_span, tolerance_pct)


def tolerance_floor(metric: Metric, interval_s: float) -> float:
    """One quantum of the metric (a page, a handle); for CPU %, 1 point or one clock tick per interval if more."""
    if metric.unit is Unit.PERCENT and interval_s > 0:
        return max(metric.quantum, 100 * CPU_TICK_S / interval_s)
    return metric.quantum


def _interval(t: np.ndarray) -> float:
    """The run's typical sampling interval: the median step between samples (inf for fewer than two)."""
    steps = np.diff(t)
    steps = steps[steps > 0]
    return float(np.median(steps)) if len(steps) else math.inf


def _times(elapsed: np.ndarray) -> np.ndarray:
    t = np.asarray(elapsed, dtype=float)
    return monotonic_times(t) if len(t) else t


def _compare_metric(
    metric: Metric,
    base: tuple[np.ndarray, np.ndarray | None],
    cand: tuple[np.ndarray, np.ndarray | None],
    window: tuple[float, float],
    tolerance: tuple[float, float],  # the percentage of the level, and the floor
) -> MetricChange:
    column = metric.column
    missing = [role for role, (_, y) in (("baseline", base), ("candidate", cand)) if y is None or not _any_finite(y)]
    if missing:
        where = "either run" if len(missing) == 2 else f"the {missing[0]}"
        return MetricChange(column, Change.MISSING, f"no values in {where}")
    start, end = window
    (tb, yb), (tc, yc) = _within(*base, start, end), _within(*cand, start, end)
    peak_b, peak_c = _peak(*base, end), _peak(*cand, end)
    counted = MetricChange(
        column,
        Change.INCONCLUSIVE,
        f"too few samples after the warm-up ({len(yb)} and {len(yc)}; {MIN_SAMPLES} needed)",
        baseline_peak=peak_b,
        candidate_peak=peak_c,
        peak_change=_finite(peak_c - peak_b) if peak_b is not None and peak_c is not None else None,
        baseline_samples=len(yb),
        candidate_samples=len(yc),
    )
    if min(len(yb), len(yc)) < MIN_SAMPLES:
        return counted
    tb, yb, _ = reduce_series(tb, yb, MAX_POINTS)
    tc, yc, _ = reduce_series(tc, yc, MAX_POINTS)
    level_b, level_c = typical_level(yb), typical_level(yc)
    low, high = change_interval(tb, yb, tc, yc)
    change = level_c - level_b
    pct, floor = tolerance
    allowed = max(pct / 100 * min(abs(level_b), abs(level_c)), floor)
    relative = change / abs(level_b) if level_b != 0 else math.nan
    verdict, reason = judge(change, low, high, allowed)
    return dataclasses.replace(
        counted,
        verdict=verdict,
        reason=reason,
        baseline_level=_finite(level_b),
        candidate_level=_finite(level_c),
        change=_finite(change),
        change_low=_finite(low),
        change_high=_finite(high),
        relative_change=_finite(relative),
        tolerance=_finite(allowed),
    )


def judge(change: float, low: float, high: float, tolerance: float) -> tuple[Change, str]:
    """The verdict on a change with its interval: `same` inside the tolerance, `higher`/`lower` beyond it and zero."""
    if not all(math.isfinite(x) for x in (change, low, high, tolerance)):
        return Change.INCONCLUSIVE, "the values are too large to compare"
    if -tolerance <= low and high <= tolerance:
        return Change.SAME, "the whole interval lies within the tolerance"
    if low > 0 and change > tolerance:
        return Change.HIGHER, "the interval lies above zero and the change exceeds the tolerance"
    if high < 0 and change < -tolerance:
        return Change.LOWER, "the interval lies below zero and the change exceeds the tolerance"
    if low > 0 or high < 0:
        return Change.INCONCLUSIVE, "a change beyond doubt, but not clearly beyond the tolerance"
    return Change.INCONCLUSIVE, "the interval reaches beyond the tolerance: a longer run would tell"


def typical_level(values: np.ndarray) -> float:
    """The median, interpolated within tied values (as the median of grouped data)."""
    y = np.asarray(values, dtype=float)
    return float(_levels(y[np.newaxis, :], np.unique(y))[0])


def _levels(rows: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """The interpolated median of each row, whose values all come from the sorted `distinct` values."""
    n = rows.shape[1]
    k = (n - 1) // 2
    lower_median = np.partition(rows, k, axis=1)[:, k]
    below = (rows < lower_median[:, np.newaxis]).sum(axis=1)
    tied = (rows == lower_median[:, np.newaxis]).sum(axis=1)
    # The tied value stands for the cell halfway to its neighbouring values in the data (the same
    # width on both sides where it has one neighbour only, none where all values are equal).
    at = np.searchsorted(distinct, lower_median)
    neighbours = np.concatenate(([np.nan], distinct, [np.nan]))
    half_low = (lower_median - neighbours[at]) / 2
    half_high = (neighbours[at + 2] - lower_median) / 2
    half_low = np.where(np.isnan(half_low), half_high, half_low)
    half_high = np.where(np.isnan(half_high), half_low, half_high)
    half_low, half_high = np.nan_to_num(half_low), np.nan_to_num(half_high)
    share = (n / 2 - below) / tied  # in (0, 1]: how far into the tied cell the middle of the data falls
    return lower_median - half_low + (half_low + half_high) * share


def change_interval(tb: np.ndarray, yb: np.ndarray, tc: np.ndarray, yc: np.ndarray) -> tuple[float, float]:
    """The CONFIDENCE interval of typical_level(yc) - typical_level(yb) by a circular block bootstrap of each run.

    The percentile interval is widened about its middle: each run's bootstrap variance by its blocks'
    bias factor (blocks_for) and by k / (k - 1) for its k blocks, and the quantile by Student's t over the
    normal one, on Welch's degrees of freedom, for the few independent blocks a short run holds.
    """
    (cand, cand_blocks, cand_factor), (base, base_blocks, base_factor) = (
        _resampled_levels(tc, yc),
        _resampled_levels(tb, yb),
    )
    draws = cand - base
    tail = (1 - CONFIDENCE) / 2
    low, middle, high = np.quantile(draws, [tail, 0.5, 1 - tail])
    variances = (float(np.var(cand)), float(np.var(base)))
    blocks = (cand_blocks, base_blocks)
    factors = (cand_factor, base_factor)
    widened = [v * f * k / (k - 1) for v, f, k in zip(variances, factors, blocks)]
    total = sum(widened)
    if total > 0 and math.isfinite(total):
        # Welch-Satterthwaite, with each variance as its share of the total so that nothing overflows.
        freedom = 1 / sum((w / total) ** 2 / (k - 1) for w, k in zip(widened, blocks))
        z = NormalDist().inv_cdf(1 - tail)
        factor = t_quantile(1 - tail, freedom) / z * math.sqrt(total / sum(variances))
        low, high = middle - factor * (middle - low), middle + factor * (high - middle)
    return float(low), float(high)


def t_quantile(p: float, freedom: float) -> float:
    """Student's t quantile from the normal one (Cornish-Fisher, Abramowitz and Stegun 26.7.5): within 1% from
    2 degrees of freedom up."""
    z = NormalDist().inv_cdf(p)
    v = max(freedom, 2.0)
    terms = (
        (z**3 + z) / 4,
        (5 * z**5 + 16 * z**3 + 3 * z) / 96,
        (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
        (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160,
    )
    return z + sum(term / v ** (k + 1) for k, term in enumerate(terms))


def _resampled_levels(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """RESAMPLES typical levels of circular block resamples of y, how many blocks y holds, and the factor
    their variance is to be scaled up by."""
    n = len(y)
    chosen = blocks_for(y)
    block = chosen.length
    # Each run's draws come from its own sample times, whichever side it is on: swapping the runs
    # mirrors the interval exactly, and a run compared with itself (or with itself shifted by a
    # constant) is resampled alike on both sides, so its interval holds the shift only.
    rng = np.random.default_rng([SEED, zlib.crc32(np.ascontiguousarray(t, dtype=float).tobytes()), n])
    blocks = -(-n // block)
    starts = rng.integers(0, n, size=(RESAMPLES, blocks), dtype=np.int64)
    index = (starts[:, :, np.newaxis] + np.arange(block)) % n
    rows = y[index.reshape(RESAMPLES, blocks * block)[:, :n]]
    return _levels(rows, np.unique(y)), n / block, chosen.variance_factor


@dataclass(frozen=True)
class Blocks:
    """How a run is resampled: the block length, and the factor its bootstrap variance is scaled up by."""

    length: int
    variance_factor: float = 1.0


def block_length(y: np.ndarray) -> int:
    """The circular block bootstrap's block length for y."""
    return blocks_for(y).length


def blocks_for(y: np.ndarray) -> Blocks:
    """Blocks for y and the factor that takes out their bias.

    The length is Politis and White's (2004, as corrected by Patton, Politis and White 2009), made at least
    twice G/g, the autocorrelation's first moment over the long-run variance, and at most a third of the
    series. Blocks of length b understate the variance by G/(g b) to first order (Kunsch 1989): the factor
    1 / (1 - G/(g b)), at most MAX_VARIANCE_FACTOR, takes that out. Short series underestimate
    autocorrelation, so G/g is also read from the lag-1 correlation, corrected for its bias and taken as
    AR(1), and the larger of the two is used.
    """
    n = len(y)
    x = np.asarray(y, dtype=float) - float(np.mean(y))
    variance = float(x @ x) / n if n else 0.0
    if n < MIN_SAMPLES or not variance > 0 or not math.isfinite(variance):
        return Blocks(1)
    x /= math.sqrt(variance)  # in units of its spread: tiny or huge values neither underflow nor overflow below
    k_n = max(5, math.ceil(math.sqrt(math.log10(n))))
    m_max = min(math.ceil(math.sqrt(n)) + k_n, n - 1)
    b_max = math.ceil(min(3 * math.sqrt(n), n / 3))
    covariances = np.array([float(x[: n - k] @ x[k:]) / n for k in range(m_max + 1)])
    correlations = covariances[1:] / covariances[0]
    # The smallest lag after which K_N correlations in a row are insignificant.
    small = np.abs(correlations) < 2 * math.sqrt(math.log10(n) / n)
    m_hat = next((m for m in range(m_max - k_n + 1) if small[m : m + k_n].all()), m_max)
    lags = max(min(2 * m_hat, m_max), 1)
    k = np.arange(1, lags + 1)
    weights = np.clip(2 * (1 - k / lags), 0, 1)  # the flat-top window: 1 up to half the lags, then down to 0
    g = covariances[0] + 2 * float(np.sum(weights * covariances[1 : lags + 1]))
    big_g = 2 * float(np.sum(weights * k * covariances[1 : lags + 1]))
    if not g > 0 or not math.isfinite(big_g):
        return Blocks(b_max)
    optimal = (2 * big_g * big_g / (4 / 3 * g * g)) ** (1 / 3) * n ** (1 / 3)
    # The lag-1 correlation, less biased (Kendall: -(1 + 4 rho) / n), read as AR(1): G/g = 2 rho / (1 - rho^2).
    rho = min(float(correlations[0]) + (1 + 4 * float(correlations[0])) / n, 0.99)
    ratio = max(big_g / g, 2 * rho / (1 - rho * rho) if rho > 0 else 0.0)
    wanted = max(optimal, 2 * ratio)
    length = int(min(max(math.ceil(wanted), 1), b_max)) if math.isfinite(wanted) else b_max
    bias = ratio / length
    factor = 1 / (1 - bias) if bias < 1 - 1 / MAX_VARIANCE_FACTOR else MAX_VARIANCE_FACTOR
    return Blocks(length, max(factor, 1.0))


def _any_finite(y: np.ndarray) -> bool:
    return bool(np.isfinite(np.asarray(y, dtype=float)).any())


def _within(t: np.ndarray, y: np.ndarray | None, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(y, dtype=float)
    keep = np.isfinite(values) & (t >= start) & (t <= end)
    return t[keep], values[keep]


def _peak(t: np.ndarray, y: np.ndarray | None, end: float) -> float | None:
    """The largest value up to `end`, warm-up included: a peak is what meets a limit."""
    values = np.asarray(y, dtype=float)
    keep = np.isfinite(values) & (t <= end)
    return _finite(float(values[keep].max())) if keep.any() else None


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
