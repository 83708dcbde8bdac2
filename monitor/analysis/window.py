"""Leak verdicts over a sliding window of the most recent samples, for a monitor that never ends.

The window is a bounded ring buffer, so memory stays flat however long the exporter runs. The trend
is recomputed only every few ticks: often enough to follow the process, rarely enough that the
analysis costs on average at most a tenth of the sampling interval (the cost of the last analysis
decides how many ticks to wait before the next).
"""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from monitor.analysis.trend import Trend, Verdict, detect_trend

# The analysis may take at most this share of the time between samples, on average.
ANALYSIS_SHARE = 0.1
# While the window fills, a verdict is refreshed once the samples it rests on span this much more
# time: a verdict on 40 s of data is refreshed at 50 s. More often would cost an analysis every
# tick or two for a verdict that barely moves.
FILL_GROWTH = 0.25


class SlidingWindow:
    """The last `capacity` (time, value) pairs of one metric, in a preallocated ring buffer."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a window holds at least one sample, not {capacity}")
        self.capacity = capacity
        self._times = np.empty(capacity)
        self._values = np.empty(capacity)
        self._next = 0
        self.count = 0

    def add(self, time_s: float, value: float) -> None:
        """Keep one sample, forgetting the oldest when full."""
        self._times[self._next] = time_s
        self._values[self._next] = value
        self._next = (self._next + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Times and values in the order they were added (copies)."""
        if self.count < self.capacity:
            return self._times[: self.count].copy(), self._values[: self.count].copy()
        order = np.r_[self._next : self.capacity, 0 : self._next]
        return self._times[order], self._values[order]


class WindowedTrend:
    """A SlidingWindow whose trend verdict is refreshed at most every few ticks.

    `share` is the part of the sampling interval this window's analysis may take on average; several
    windows analysed on one tick split ANALYSIS_SHARE between them. `refresh_s` spaces the analyses
    further, by sample time: a verdict over an hour's window moves little in a few seconds. The verdict
    is the end-of-run summary's, practical floor included: `min_rate_per_hour`, or by default a share
    of the window's median over the window's length.
    """

    def __init__(
        self,
        capacity: int,
        interval_s: float,
        quantum: float,
        share: float = ANALYSIS_SHARE,
        clock: Callable[[], float] = time.perf_counter,
        refresh_s: float = 0.0,
        min_rate_per_hour: float | None = None,
    ) -> None:
        self.window = SlidingWindow(capacity)
        self._interval_s = interval_s
        self._quantum = quantum
        self._share = share
        self._clock = clock
        self._refresh_s = refresh_s
        self._min_rate_per_hour = min_rate_per_hour
        self._last_analysis_s = -math.inf
        self._first_s: float | None = None
        self._ticks_to_wait = 0
        self.trend: Trend | None = None
        self.analyses = 0

    def add(self, time_s: float, value: float, headroom: Callable[[], float | None] | None = None) -> Trend | None:
        """Keep one sample; recompute the verdict when its turn has come; return the latest verdict.

        `headroom` gives what is left before the metric's limit; it is asked only when the verdict
        is recomputed.
        """
        self.window.add(time_s, value)
        if self._first_s is None:
            self._first_s = time_s
        if self._ticks_to_wait > 0:
            self._ticks_to_wait -= 1
            return self.trend
        if time_s - self._last_analysis_s < self._spacing_s(time_s):
            return self.trend
        self._last_analysis_s = time_s
        started = self._clock()
        times, values = self.window.arrays()
        self.trend = detect_trend(
            times,
            values,
            self._quantum,
            headroom() if headroom is not None else None,
            min_rate_per_hour=self._min_rate_per_hour,
        )
        self.analyses += 1
        cost_s = self._clock() - started
        # Wait long enough that this analysis, spread over the ticks until the next, stays within its share.
        self._ticks_to_wait = max(0, math.ceil(cost_s / (self._share * self._interval_s)) - 1)
        return self.trend

    def _spacing_s(self, time_s: float) -> float:
        """Sample time between two analyses: refresh_s, but shorter while the window is still filling,
        so that early verdicts follow the data (refreshed once it has grown by FILL_GROWTH)."""
        if self.trend is None or self.trend.verdict is Verdict.INCONCLUSIVE:
            return 0.0
        filled_s = time_s - (self._first_s if self._first_s is not None else time_s)
        return min(self._refresh_s, filled_s * FILL_GROWTH)
