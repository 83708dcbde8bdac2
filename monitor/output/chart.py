"""The run's chart: each metric against time, with its average and, for a leak, the fitted trend.

matplotlib is imported here only, when a chart is drawn, so that it never slows the first sample.
A long run is drawn as a min/max envelope over at most MAX_BINS time bins per line: a million-row
chart is as fast and as legible as a short one, and no spike is lost.
"""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from monitor.analysis.summary import RunAnalysis
from monitor.analysis.trend import Verdict
from monitor.metrics import ELAPSED, METRIC_TABLE, SWAPPED, Metric, Unit
from monitor.output.summary_text import format_rate

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_BINS = 2000
# The title's characters per line and lines at most: what the 12-inch figure shows at matplotlib's default size.
TITLE_COLUMNS = 100
TITLE_LINES = 3
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


def envelope(x: np.ndarray, y: np.ndarray, bins: int = MAX_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, low, high) with at most `bins` points: the minimum and maximum of y in each equal-width x bin.

    Short series come back unchanged (low == high == y).
    """
    if len(x) <= bins or x[-1] <= x[0]:
        return x, y, y
    edges = np.linspace(x[0], x[-1], bins + 1)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    # x is sorted, so each bin is one contiguous run of samples.
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    # fmin and fmax pass over NaN (a value the OS refused) where min and max would spread it.
    return x[starts], np.fmin.reduceat(y, starts), np.fmax.reduceat(y, starts)


def _whole_number_axis(axis: Axes) -> None:
    """Integer ticks only; a flat count gets a span of a few whole numbers, where ticks can fall."""
    from matplotlib.ticker import MaxNLocator

    low, high = axis.get_ylim()
    if high - low < 4:
        middle = (low + high) / 2
        axis.set_ylim(math.floor(middle) - 2, math.ceil(middle) + 2)
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))


def chart_title(title: str, width: int = TITLE_COLUMNS, lines: int = TITLE_LINES) -> str:
    """The title wrapped to lines that fit the figure; a very long one is cut, with '...' at the cut."""
    wrapped = textwrap.wrap(title, width, break_on_hyphens=False) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 3] + "..."
    return "\n".join(wrapped)


def write_chart(frame: pd.DataFrame, analysis: RunAnalysis, title: str, path: Path) -> None:
    """Draw every metric of the table on a shared time axis and save a PNG at `path`, whole or not at all."""
    import matplotlib.pyplot as plt

    figure = draw_chart(frame, analysis, title)
    partial = path.with_name(path.name + ".partial")
    try:
        figure.savefig(partial, dpi=100, format="png")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        plt.close(figure)


def chart_panels(frame: pd.DataFrame) -> list[tuple[str, list[Metric]]]:
    """The panels to draw, in the table's order: each with the metrics it shows.

    A metric the report has no value for is left out; swapped memory only when something was
    swapped out, and the I/O panel only when the run did any I/O.
    """

    def any_above_zero(metrics: list[Metric]) -> bool:
        return any(m.column in frame.columns and (frame[m.column].fillna(0) > 0).any() for m in metrics)

    did_io = any_above_zero([m for m in METRIC_TABLE if m.panel == "io"])
    panels: dict[str, list[Metric]] = {}
    for metric in METRIC_TABLE:
        if not metric.panel or metric.column not in frame.columns or frame[metric.column].isna().all():
            continue
        if (metric.column == SWAPPED and not any_above_zero([metric])) or (metric.panel == "io" and not did_io):
            continue
        panels.setdefault(metric.panel, []).append(metric)
    return list(panels.items())


_COLOURS = ("tab:blue", "tab:orange", "tab:green")


def draw_chart(frame: pd.DataFrame, analysis: RunAnalysis, title: str) -> Figure:
    """The chart as a matplotlib Figure: one panel per kind of metric, legends beside the panels, not on the data."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt

    seconds = frame[ELAPSED].to_numpy(dtype=float)
    time_name, time_size = _time_unit(float(seconds[-1]) if len(seconds) else 0.0)
    panels = chart_panels(frame)
    height = max(7.5, 2.4 * len(panels))
    figure, axes = plt.subplots(
        len(panels), 1, sharex=True, figsize=(12, height), constrained_layout=True, squeeze=False
    )
    for axis, (_, metrics) in zip(axes[:, 0], panels):
        _draw_panel(axis, frame, analysis, metrics, seconds, time_size)
    axes[-1, 0].set_xlabel(f"time since the first sample ({time_name})")
    figure.suptitle(chart_title(title))
    return figure


def _draw_panel(
    axis: Axes, frame: pd.DataFrame, analysis: RunAnalysis, metrics: list[Metric], seconds: np.ndarray, time_size: float
) -> None:
    first = metrics[0]
    scale, unit_name, label = 1.0, "%" if first.unit is Unit.PERCENT else "", first.chart_title
    if first.unit in (Unit.BYTES, Unit.BYTES_PER_S):
        peak = max(float(np.nanmax(frame[m.column].to_numpy(dtype=float))) for m in metrics)
        unit_name, scale = _byte_unit(peak)
        unit_name += "/s" if first.unit is Unit.BYTES_PER_S else ""
        label = f"{first.chart_title} ({unit_name})"
    for metric, colour in zip(metrics, _COLOURS):
        raw = frame[metric.column].to_numpy(dtype=float)
        x, low, high = envelope(seconds, raw / scale)
        x = x / time_size
        if low is high:
            marker = "." if len(x) < 200 else None
            axis.plot(x, low, marker=marker, linewidth=1.2, color=colour, label=metric.column)
        else:
            axis.fill_between(x, low, high, color=colour, alpha=0.35, linewidth=0, label=f"{metric.column} (min-max)")
        average = analysis.averages.get(metric.column)
        if average is not None:
            average /= scale
            text = f"average {average:.3g} {unit_name}"
            axis.axhline(average, linestyle="--", color=colour, alpha=0.6, linewidth=1, label=text)
        leak = analysis.leaks.get(metric.column)
        trend = leak.trend if leak is not None else None
        if (
            trend is not None
            and trend.verdict is Verdict.LEAK
            and trend.rate_per_hour is not None
            and trend.intercept is not None
            and len(seconds)
        ):
            ends = np.array([seconds[0], seconds[-1]])
            fitted = (trend.intercept + trend.rate_per_hour / 3600.0 * ends) / scale
            label_text = f"leak trend\n{format_rate(trend, metric.column)}"
            axis.plot(ends / time_size, fitted, color="tab:red", linewidth=1.5, label=label_text)
    if first.unit is Unit.COUNT:
        _whole_number_axis(axis)
    axis.set_ylabel(label)
    axis.grid(True, alpha=0.3)
    # Beside the panel, not on it: a legend inside the axes hides whatever data lies under it.
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")
