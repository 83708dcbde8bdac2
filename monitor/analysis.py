"""Pure analysis over samples: running means, averages, the README leak heuristic and the trend verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence, cast

import numpy as np
import pandas as pd

from monitor.columns import HANDLES, MEMORY, METRICS, PID, TIMESTAMP
from monitor.trend import Trend, detect_trend

# The smallest step each leak-checked metric moves in: a memory page, one handle.
QUANTUM = {MEMORY: 4096.0, HANDLES: 1.0}
LEAK_METRICS = (MEMORY, HANDLES)

HEURISTIC_MIN_SAMPLES = 10
HEURISTIC_RISE_PERCENT = 66


class RunningMeans:
    """Means of several metrics kept in O(1) per sample."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.count = 0
        self._sums = [0.0] * len(self.names)

    def add(self, values: Sequence[float]) -> None:
        """Fold one sample in."""
        self.count += 1
        for i, value in enumerate(values):
            self._sums[i] += value

    def means(self) -> dict[str, float]:
        """The current mean of each metric (0.0 before any sample)."""
        if not self.count:
            return {name: 0.0 for name in self.names}
        return {name: total / self.count for name, total in zip(self.names, self._sums)}


@dataclass(frozen=True)
class HeuristicResult:
    """The README rule's view of a memory series."""

    samples: int
    steps_up: int
    steps_down: int

    @property
    def enough_samples(self) -> bool:
        """The rule judges only series of at least 10 samples."""
        return self.samples >= HEURISTIC_MIN_SAMPLES

    @property
    def steps(self) -> int:
        """Consecutive pairs in the series."""
        return max(self.samples - 1, 0)

    @property
    def leak(self) -> bool:
        """No step down and more than 66% of the steps strictly up."""
        return (
            self.enough_samples and self.steps_down == 0 and self.steps_up * 100 > HEURISTIC_RISE_PERCENT * self.steps
        )


class RunningHeuristic:
    """The README rule kept up to date one sample at a time, in O(1) per sample."""

    def __init__(self) -> None:
        self._previous: float | None = None
        self._samples = self._up = self._down = 0

    def add(self, value: float) -> HeuristicResult:
        """Fold one sample in and return the rule's view of the series so far."""
        if self._previous is not None:
            if value > self._previous:
                self._up += 1
            elif value < self._previous:
                self._down += 1
        self._previous = value
        self._samples += 1
        return self.result()

    def result(self) -> HeuristicResult:
        """The rule's view of the series so far."""
        return HeuristicResult(samples=self._samples, steps_up=self._up, steps_down=self._down)


def readme_heuristic(values: Sequence[float]) -> HeuristicResult:
    """Apply the README rule: at least 10 samples, never down, strictly up in over 66% of steps."""
    running = RunningHeuristic()
    for value in values:
        running.add(value)
    return running.result()


def whole_run_series(detail: pd.DataFrame, samples: int) -> dict[int, list[float]]:
    """Private-memory series of each PID present in every one of the run's `samples` ticks."""
    series: dict[int, list[float]] = {}
    if detail.empty:
        return series
    for pid, values in detail.groupby(PID, sort=True)[MEMORY]:
        if len(values) == samples:
            series[int(cast(int, pid))] = values.tolist()
    return series


@dataclass(frozen=True)
class MetricLeak:
    """Both leak verdicts for one metric."""

    heuristic: HeuristicResult
    trend: Trend


@dataclass(frozen=True)
class RunAnalysis:
    """Everything the summary says about a run's rows."""

    samples: int
    averages: dict[str, float]
    leaks: dict[str, MetricLeak]

    @property
    def leak_found(self) -> bool:
        """True when the trend detector calls memory or handles a leak."""
        return any(leak.trend.verdict == "leak" for leak in self.leaks.values())


def elapsed_seconds(timestamps: pd.Series) -> pd.Series:
    """Seconds since the first of a column of ISO 8601 timestamps (with UTC offsets)."""
    moments = pd.to_datetime(timestamps, utc=True)
    return (moments - moments.iloc[0]).dt.total_seconds()


def analyze(frame: pd.DataFrame, headroom: Mapping[str, float | None] | None = None) -> RunAnalysis:
    """Averages and leak verdicts for a report's rows; `headroom` is what is left before each metric's limit."""
    samples = len(frame)
    averages = {metric: float(frame[metric].mean()) if samples else 0.0 for metric in METRICS}
    times = elapsed_seconds(frame[TIMESTAMP]).to_numpy(dtype=float) if samples else np.empty(0)
    leaks = {}
    for metric in LEAK_METRICS:
        values = frame[metric].to_numpy(dtype=float)
        leaks[metric] = MetricLeak(
            heuristic=readme_heuristic(list(values)),
            trend=detect_trend(times, values, QUANTUM[metric], (headroom or {}).get(metric)),
        )
    return RunAnalysis(samples, averages, leaks)
