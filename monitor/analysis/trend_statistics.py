"""Rank statistics for growth: Theil-Sen slopes with intervals and p-values that allow for dependent noise.

A slope is estimated by Theil-Sen (the median of the slopes between pairs of points). Its one-sided
p-value comes from Mann-Kendall's S, and its interval from Sen's ranks among the pair slopes; both
use the variance of S with ties taken into account, widened by the integrated autocorrelation time
of the residuals' ranks (Geyer's initial positive sequence): n points that move together count as
n / IACT independent ones. That holds for any short-range dependence (request churn, a slow wander,
the climbs of a sawtooth), not only AR(1). Points that come in clusters sharing a draw (the readings
of one collection cycle) are widened by the clusters' design effect too, where it is larger, and the
continuity correction is taken at the resolution of the independent points.

scipy.stats is loaded on first use (it takes half a second or more to import).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np

# Theil-Sen takes the median of the slopes between every pair of points, or of this many pairs
# drawn at random (with a fixed seed) when there are more: its memory stays bounded.
MAX_PAIRS = 100_000
CONFIDENCE_LEVEL = 0.90
# A slope needs this many points for its interval to mean anything.
MIN_POINTS = 4


@functools.cache
def scipy_stats() -> ModuleType:
    """scipy.stats, imported on first use."""
    from scipy import stats

    return stats


def load_statistics() -> None:
    """Import scipy.stats now (half a second or more) rather than inside the first verdict."""
    scipy_stats()


@dataclass(frozen=True)
class Slope:
    """A Theil-Sen line (value units per second) with its CONFIDENCE_LEVEL interval and one-sided p-value."""

    slope: float
    intercept: float
    low: float
    high: float
    p_up: float
    # How many independent points the data are worth (n / IACT).
    effective_points: float


def robust_slope(t: np.ndarray, y: np.ndarray, clusters: np.ndarray | None = None) -> Slope | None:
    """Theil-Sen slope of y over t, its interval and the p-value that it is above 0; None with too few points.

    With `clusters` (a label per point: the points of one cycle), the variance is widened by the larger of
    the IACT and the clusters' design effect.
    """
    n = len(y)
    if n < MIN_POINTS or not t[-1] > t[0]:
        return None
    slopes = np.sort(_pair_slopes(t, y))
    slope = float(np.median(slopes))
    intercept = float(np.median(y - slope * t))
    residual_ranks = _average_ranks(y - intercept - slope * t)
    iact = integrated_autocorrelation(residual_ranks)
    if clusters is not None:
        iact = max(iact, design_effect(residual_ranks, clusters))
    s, variance = kendall_s(t, y)
    variance *= iact
    if variance <= 0:
        # Every value is equal: no slope at all, known exactly.
        return Slope(slope, intercept, slope, slope, 0.5, n / iact)
    stats = scipy_stats()
    # The continuity correction: S moves in steps of 2 among independent points, of 2 * IACT**2 here.
    p_up = float(stats.norm.sf((s - math.copysign(min(iact**2, abs(s)), s)) / math.sqrt(variance))) if s else 0.5
    # Sen's interval: ranks (N -+ C) / 2 among the N pairs, as shares of the pairs actually taken.
    half_width = float(stats.norm.ppf(0.5 + CONFIDENCE_LEVEL / 2)) * math.sqrt(variance)
    share = half_width / (n * (n - 1) / 2)
    pairs = len(slopes)
    low = slopes[int(np.clip(math.floor((1 - share) / 2 * pairs), 0, pairs - 1))]
    high = slopes[int(np.clip(math.ceil((1 + share) / 2 * pairs), 0, pairs - 1))]
    return Slope(slope, intercept, float(low), float(high), p_up, n / iact)


def kendall_s(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mann-Kendall's S (rising minus falling pairs) for times that run forward, and its variance with no trend."""
    n = len(y)
    tau = float(scipy_stats().kendalltau(t, y)[0])
    if not math.isfinite(tau):
        return 0.0, 0.0
    _, counts = np.unique(y, return_counts=True)
    pairs = n * (n - 1) / 2
    tied = float(np.sum(counts * (counts - 1) / 2))
    # Only the values have ties: S from tau-b, and the tie-corrected variance.
    s = tau * math.sqrt(pairs * (pairs - tied))
    variance = (n * (n - 1) * (2 * n + 5) - float(np.sum(counts * (counts - 1) * (2 * counts + 5)))) / 18
    return s, variance


def integrated_autocorrelation(x: np.ndarray) -> float:
    """The integrated autocorrelation time of x (1 for independent values, up to len(x)), after Geyer.

    Geyer's initial positive sequence: sums of autocorrelations at lags 2k and 2k + 1 are added while
    they stay positive and shrink; the first that does not ends the sum, so that the noise of long lags
    is left out.
    """
    n = len(x)
    centred = np.asarray(x, dtype=float) - float(np.mean(x)) if n else np.empty(0)
    if n < MIN_POINTS or not float(np.dot(centred, centred)) > 0:
        return 1.0
    spectrum = np.fft.rfft(centred, 2 * n)
    autocovariance = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    rho = autocovariance / autocovariance[0]
    pairs = rho[0 : n - 1 : 2] + rho[1:n:2][: len(rho[0 : n - 1 : 2])]
    # The initial positive and monotone sequence: stop at the first pair sum that is not positive.
    stop = int(np.argmax(pairs <= 0)) if np.any(pairs <= 0) else len(pairs)
    kept = np.minimum.accumulate(pairs[:stop])
    return float(np.clip(-1.0 + 2.0 * float(np.sum(kept)), 1.0, n))


def design_effect(x: np.ndarray, clusters: np.ndarray) -> float:
    """Kish's design effect 1 + (m - 1) ICC of x in clusters of mean size m (1 to len(x)).

    The intra-cluster correlation is the one-way ANOVA estimate (clipped to 0..1): when what the
    clusters share dominates (a cycle's floor drawn afresh), n points count as about one per cluster;
    when it is small beside the noise within them, as about n.
    """
    n = len(x)
    labels, index, sizes = np.unique(clusters, return_inverse=True, return_counts=True)
    k = len(labels)
    if k < 2 or n <= k:
        return float(max(n, 1)) if k < 2 else 1.0
    means = np.bincount(index, weights=x) / sizes
    within = float(np.sum((x - means[index]) ** 2)) / (n - k)
    # x are residuals from a fitted line, which took one of the cluster means' k - 1 degrees of freedom.
    between = float(np.sum(sizes * (means - float(np.mean(x))) ** 2)) / max(k - 2, 1)
    size = (n - float(np.sum(sizes**2)) / n) / (k - 1)
    spread = between + (size - 1) * within
    icc = float(np.clip((between - within) / spread, 0.0, 1.0)) if spread > 0 else 0.0
    return float(np.clip(1 + (float(np.mean(sizes)) - 1) * icc, 1.0, n))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, tied values sharing their average rank (scipy's rankdata, without its per-call overhead)."""
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    return ranks


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
