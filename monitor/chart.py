"""The run's chart: CPU %, private memory and handles/FDs against time, with averages and leak trends.

matplotlib is imported here only, when a chart is drawn, so that it never slows the first sample.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from monitor.analysis import RunAnalysis, elapsed_seconds
from monitor.columns import CPU, HANDLES, MEMORY, TIMESTAMP
from monitor.report import format_rate

_BYTE_UNITS = (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024), ("B", 1))
_TIME_UNITS = (("h", 3600.0, 2 * 3600.0), ("min", 60.0, 120.0), ("s", 1.0, 0.0))


def _byte_unit(peak: float) -> tuple[str, float]:
    for name, size in _BYTE_UNITS:
        if peak >= size:
            return name, float(size)
    return "B", 1.0


def _time_unit(span_s: float) -> tuple[str, float]:
    for name, size, from_span in _TIME_UNITS:
        if span_s >= from_span:
            return name, size
    return "s", 1.0


def write_chart(frame: pd.DataFrame, analysis: RunAnalysis, title: str, path: Path) -> None:
    """Draw the three metrics on a shared time axis and save a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt

    seconds = elapsed_seconds(frame[TIMESTAMP]).to_numpy(dtype=float)
    time_name, time_size = _time_unit(float(seconds[-1]) if len(seconds) else 0.0)
    x = seconds / time_size
    memory_name, memory_size = _byte_unit(float(frame[MEMORY].max()) if len(frame) else 0.0)
    panels = (
        (CPU, "CPU (%, 100 = one core)", 1.0, "%"),
        (MEMORY, f"Private memory ({memory_name})", memory_size, memory_name),
        (HANDLES, "Handles / FDs", 1.0, ""),
    )
    figure, axes = plt.subplots(3, 1, sharex=True, figsize=(10, 7.5), constrained_layout=True)
    for axis, (column, label, scale, unit) in zip(axes, panels):
        values = frame[column].to_numpy(dtype=float) / scale
        axis.plot(x, values, marker="." if len(x) < 200 else None, linewidth=1.2, color="tab:blue", label=column)
        average = analysis.averages[column] / scale
        axis.axhline(average, linestyle="--", color="tab:gray", linewidth=1, label=f"average {average:.3g} {unit}")
        leak = analysis.leaks.get(column)
        if leak is not None and leak.trend.verdict == "leak" and len(x):
            trend = leak.trend
            fitted = (trend.intercept + trend.rate_per_hour / 3600.0 * seconds) / scale
            axis.plot(x, fitted, color="tab:red", linewidth=1.5, label=f"leak trend {format_rate(trend, column)}")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
        axis.legend(loc="upper left", fontsize="small")
    axes[-1].set_xlabel(f"time since the first sample ({time_name})")
    figure.suptitle(title)
    figure.savefig(path, dpi=100)
    plt.close(figure)
