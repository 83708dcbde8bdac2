"""The run's chart: each metric against time, with its average and, for a leak, the fitted trend.

matplotlib is imported here only, when a chart is drawn, so that it never slows the first sample.
A long run is drawn over at most MAX_BINS time slices per line, each slice's mean over its min-max band: a
million-row chart is as fast and as legible as a short one, a steady series is still a line, and no spike is lost.
"""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from monitor.analysis.summary import RunAnalysis
from monitor.analysis.trend import Verdict
from monitor.metrics import ELAPSED, METRIC_TABLE, RESIDENT, SWAPPED, Metric, Unit
from monitor.output.summary_text import format_rate
from monitor.output.units import byte_unit

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_BINS = 2000
# Values closer than this, relative to them or to one unit, draw one flat line: far below any change measured.
FLAT = 1e-9
# The title's characters per line and lines at most: what the 12-inch figure shows at matplotlib's default size.
TITLE_COLUMNS = 100
TITLE_LINES = 3
_TIME_UNITS = (("h", 3600.0, 2 * 3600.0), ("min", 60.0, 120.0), ("s", 1.0, 0.0))
# Metrics drawn in a panel of their own, on their own scale. Resident memory counts shared pages and is often
# many times the private memory: on one axis it would flatten the private line, the one leaks are judged on.
OWN_PANEL = frozenset({RESIDENT})


def _time_unit(span_s: float) -> tuple[str, float]:
    for name, size, from_span in _TIME_UNITS:
        if span_s >= from_span:
            return name, size
    return "s", 1.0


def envelope(
    x: np.ndarray, y: np.ndarray, bins: int = MAX_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, low, mean, high) with at most `bins` points: the minimum, mean and maximum of y in each equal-width x bin.

    Short series come back unchanged (low, mean and high are all y).
    """
    if len(x) <= bins or x[-1] <= x[0]:
        return x, y, y, y
    edges = np.linspace(x[0], x[-1], bins + 1)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    # x is sorted, so each bin is one contiguous run of samples.
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    # fmin and fmax pass over NaN (a value the OS refused) where min and max would spread it; the mean
    # counts only the values there are, and a bin of refused values stays NaN, a gap in the line.
    known = np.isfinite(y)
    sums = np.add.reduceat(np.where(known, y, 0.0), starts)
    counts = np.add.reduceat(known.astype(float), starts)
    mean = np.divide(sums, counts, out=np.full(len(starts), np.nan), where=counts > 0)
    return x[starts], np.fmin.reduceat(y, starts), mean, np.fmax.reduceat(y, starts)


def value_limits(low: float, high: float, whole_numbers: bool) -> tuple[float, float]:
    """The y range for values from `low` to `high`: all of them strictly inside, a flat series from 0 up.

    A flat series would otherwise get matplotlib's +-5 % of nothing (-0.04 to 0.04 for a CPU at 0); a count
    gets a span of at least 4, where whole-number ticks can fall. Non-negative values never get a negative
    tick: below 0 there is only the margin.
    """
    if whole_numbers and high - low < 4:
        middle = (low + high) / 2
        bottom = float(math.floor(middle) - 2)
        bottom = max(bottom, 0.0) if low >= 0 else bottom
        top = max(float(math.ceil(middle) + 2), bottom + 4)
    elif high - low <= FLAT * max(abs(low), abs(high), 1.0):
        # Flat: the line in the middle of 0 and twice its value, so the axis reads from 0; 0 to 1 for a flat 0.
        level = (low + high) / 2
        bottom, top = (0.0, 1.0) if abs(level) <= FLAT else (min(0.0, 2 * level), max(0.0, 2 * level))
    else:
        bottom, top = low, high
    margin = 0.05 * (top - bottom)
    return bottom - margin, top + margin


def chart_title(title: str, width: int = TITLE_COLUMNS, lines: int = TITLE_LINES) -> str:
    """The title wrapped to lines that fit the figure; a very long one is cut, with '...' at the cut."""
    wrapped = textwrap.wrap(title, width, break_on_hyphens=False) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 3] + "..."
    return "\n".join(wrapped)


def write_chart(
    frame: pd.DataFrame, analysis: RunAnalysis, title: str, path: Path, wanted: Callable[[], bool] = lambda: True
) -> bool:
    """Draw every metric of the table on a shared time axis and save a PNG at `path`, whole or not at all.

    `wanted` is asked again once the chart is drawn (the slow part): False leaves no file, and returns False.
    """
    figure = draw_chart(frame, analysis, title)
    if not wanted():
        import matplotlib.pyplot as plt

        plt.close(figure)
        return False
    save_figure(figure, path)
    return True


def save_figure(figure: Figure, path: Path) -> None:
    """Save a figure as a PNG at `path`, whole or not at all (written aside, then renamed), and close it."""
    import matplotlib.pyplot as plt

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
    swapped out, and the I/O panel only when the run did any I/O. Resident memory gets a panel of
    its own, right after the memory panel.
    """

    def any_above_zero(metrics: list[Metric]) -> bool:
        return any(m.column in frame.columns and (frame[m.column].fillna(0) > 0).any() for m in metrics)

    did_io = any_above_zero([m for m in METRIC_TABLE if m.panel == "io"])
    panels: dict[str, list[Metric]] = {}
    table_panel: dict[str, str] = {}
    for metric in METRIC_TABLE:
        if not metric.panel or metric.column not in frame.columns or frame[metric.column].isna().all():
            continue
        if (metric.column == SWAPPED and not any_above_zero([metric])) or (metric.panel == "io" and not did_io):
            continue
        name = metric.column if metric.column in OWN_PANEL else metric.panel
        panels.setdefault(name, []).append(metric)
        table_panel[name] = metric.panel
    order = list(dict.fromkeys(metric.panel for metric in METRIC_TABLE))
    # A stable sort: a panel of its own follows the panel the table puts its metric in.
    return sorted(panels.items(), key=lambda item: order.index(table_panel[item[0]]))


_COLOURS = ("tab:blue", "tab:orange", "tab:green")
# Drawing order: guides (averages, the leak trend) under the data, the data above them and above the spines,
# so no guide hides a series and a series at 0 is not drawn under the axis frame.
GUIDE_ORDER = 2.0
BAND_FILL_ALPHA = 0.25
BAND_EDGE_ALPHA = 0.6
BAND_ORDER = 2.9
DATA_ORDER = 3.0
# The leak trend: a wide, pale line under the data, so both show where the fit is exact.
TREND_WIDTH = 5.0
TREND_ALPHA = 0.4


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
    labels = [metrics[0].chart_title for _, metrics in panels]
    for axis, (_, metrics) in zip(axes[:, 0], panels):
        first = metrics[0]
        # Two panels with one label (private and resident memory) are told apart by their first metric.
        label = first.title[0].upper() + first.title[1:] if labels.count(first.chart_title) > 1 else first.chart_title
        _draw_panel(axis, frame, analysis, metrics, seconds, time_size, label)
    axes[-1, 0].set_xlabel(f"time since the first sample ({time_name})")
    figure.suptitle(chart_title(title))
    return figure


def _draw_panel(
    axis: Axes,
    frame: pd.DataFrame,
    analysis: RunAnalysis,
    metrics: list[Metric],
    seconds: np.ndarray,
    time_size: float,
    label: str,
) -> None:
    first = metrics[0]
    scale, unit_name = 1.0, "%" if first.unit is Unit.PERCENT else ""
    if first.unit in (Unit.BYTES, Unit.BYTES_PER_S):
        peak = max(float(np.nanmax(frame[m.column].to_numpy(dtype=float))) for m in metrics)
        unit_name, scale = byte_unit(peak)
        unit_name += "/s" if first.unit is Unit.BYTES_PER_S else ""
        label = f"{label} ({unit_name})"
    legend: list[tuple[Artist | tuple[Artist, ...], str]] = []
    drawn: list[np.ndarray] = []  # every value drawn, for the y range
    for metric, colour in zip(metrics, _COLOURS):
        raw = frame[metric.column].to_numpy(dtype=float)
        x, low, mean, high = envelope(seconds, raw / scale)
        drawn += [low, high]
        legend.append(_draw_series(axis, metric.column, colour, x / time_size, (low, mean, high), seconds))
        average = analysis.averages.get(metric.column)
        if average is not None:
            average /= scale
            line = axis.axhline(
                average,
                linestyle="--",
                color=colour,
                alpha=0.6,
                linewidth=1,
                zorder=GUIDE_ORDER,
                gid=f"average:{metric.column}",
            )
            legend.append((line, f"average {average:.3g} {unit_name}"))
            drawn.append(np.array([average]))
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
            (line,) = axis.plot(
                ends / time_size,
                fitted,
                color="tab:red",
                linewidth=TREND_WIDTH,
                alpha=TREND_ALPHA,
                solid_capstyle="butt",
                zorder=GUIDE_ORDER,
                gid=f"trend:{metric.column}",
            )
            legend.append((line, f"leak trend\n{format_rate(trend, metric.column)}"))
            drawn.append(fitted)
    _set_value_axis(axis, np.concatenate(drawn), whole_numbers=first.unit is Unit.COUNT)
    axis.set_ylabel(label)
    axis.grid(True, alpha=0.3)
    # Beside the panel, not on it: a legend inside the axes hides whatever data lies under it.
    handles, texts = zip(*legend)
    axis.legend(handles, texts, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")


def _draw_series(
    axis: Axes,
    column: str,
    colour: str,
    x: np.ndarray,
    slices: tuple[np.ndarray, np.ndarray, np.ndarray],
    seconds: np.ndarray,
) -> tuple[Artist | tuple[Artist, ...], str]:
    """One metric's data, sample by sample or slice by slice; its legend entry."""
    from matplotlib.colors import to_rgba

    low, mean, high = slices
    if len(x) == len(seconds):
        marker = "." if len(x) < 200 else None
        (line,) = axis.plot(
            x, mean, marker=marker, linewidth=1.2, color=colour, zorder=DATA_ORDER, gid=f"data:{column}"
        )
        return line, column
    # Steps: each slice's range spans the slice. A slice is narrower than a pixel, so the band is outlined
    # too: a lone spike then shows as a stroke, where a fill alone would be a faint hairline.
    band = axis.fill_between(
        x,
        low,
        high,
        step="post",
        facecolor=to_rgba(colour, BAND_FILL_ALPHA),
        edgecolor=to_rgba(colour, BAND_EDGE_ALPHA),
        linewidth=0.8,
        zorder=BAND_ORDER,
        gid=f"band:{column}",
    )
    # The mean of each slice as a line: a steady series is a band of no height, which draws nothing.
    (line,) = axis.plot(x, mean, linewidth=1.2, color=colour, zorder=DATA_ORDER, gid=f"data:{column}")
    return (band, line), f"{column}: mean of each {_slice_text(seconds)},\nmin to max shaded"


def _set_value_axis(axis: Axes, values: np.ndarray, whole_numbers: bool) -> None:
    """The y range that holds every value drawn, and its ticks."""
    values = values[np.isfinite(values)]
    if len(values):
        axis.set_ylim(value_limits(float(values.min()), float(values.max()), whole_numbers))
    if whole_numbers:
        from matplotlib.ticker import MaxNLocator

        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Plain tick values: an offset ("+4.1e3" above the axis) is easy to miss on a nearly flat series.
    axis.ticklabel_format(axis="y", useOffset=False)


def _slice_text(seconds: np.ndarray) -> str:
    """The time one of MAX_BINS slices of the run spans, in words."""
    width = (float(seconds[-1]) - float(seconds[0])) / MAX_BINS
    name, size = _time_unit(width)
    return f"{width / size:.3g} {name}"
