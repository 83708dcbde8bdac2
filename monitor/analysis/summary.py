"""A run's verdicts from its rows: averages, the README heuristic and the trend of each leak-checked metric."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from monitor.analysis.running import HeuristicResult, readme_heuristic
from monitor.analysis.trend import Trend, Verdict, detect_trend
from monitor.metrics import ELAPSED, LEAK_CHECKED, METRICS


@dataclass(frozen=True)
class MetricLeak:
    """Both leak verdicts for one metric."""

    heuristic: HeuristicResult
    trend: Trend


@dataclass(frozen=True)
class RunAnalysis:
    """Everything the summary says about a run's rows."""

    samples: int
    averages: dict[str, float | None]
    leaks: dict[str, MetricLeak]
    peaks: dict[str, float | None] = field(default_factory=dict)

    @property
    def leak_found(self) -> bool:
        """True when the trend detector calls memory or handles a leak."""
        return any(leak.trend.verdict is Verdict.LEAK for leak in self.leaks.values())


def analyze(
    frame: pd.DataFrame,
    headroom: Mapping[str, float | None] | None = None,
    min_rates: Mapping[str, float] | None = None,
) -> RunAnalysis:
    """Averages and leak verdicts of a report's rows (with an elapsed_s column); `headroom` is what is left
    before each metric's limit, `min_rates` the smallest growth per hour called a leak, for the metrics given."""
    samples = len(frame)
    # A metric the report has no column for (an older report), or no value in, has no average or peak.
    present = [metric for metric in METRICS if metric in frame.columns and frame[metric].notna().any()]
    averages = {metric: finite_or_none(frame[metric].mean()) if metric in present else None for metric in METRICS}
    peaks = {metric: finite_or_none(frame[metric].max()) if metric in present else None for metric in METRICS}
    times = frame[ELAPSED].to_numpy(dtype=float)
    leaks = {}
    for metric in LEAK_CHECKED:
        values = frame[metric.column].to_numpy(dtype=float)
        judged = values.copy()
        # Memory the kernel swapped out is still the process's: a leak pushed to swap stays a leak.
        for column in metric.judged_with:
            if column in frame.columns:
                judged += np.nan_to_num(frame[column].to_numpy(dtype=float))
        # A row with no process (the last one of a tree, which gives only the CPU it spent) is not judged.
        given = np.isfinite(values)
        leaks[metric.column] = MetricLeak(
            heuristic=readme_heuristic(values[given]),
            trend=detect_trend(
                times[given],
                judged[given],
                metric.quantum,
                (headroom or {}).get(metric.column),
                min_rate_per_hour=(min_rates or {}).get(metric.column),
            ),
        )
    return RunAnalysis(samples, averages, leaks, peaks)


def finite_or_none(value: float) -> float | None:
    """The value as a float, or None when it is NaN or infinite."""
    number = float(value)
    return number if math.isfinite(number) else None
