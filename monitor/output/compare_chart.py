"""The chart of a comparison: both runs overlaid on the time since their first sample, one panel per metric.

matplotlib is imported here only, when the chart is drawn. Long runs are drawn as in the run's own chart:
the mean of each of at most MAX_BINS time slices over its min-max band.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monitor.analysis.compare import Change, Comparison, RunSeries
from monitor.metrics import BY_COLUMN, METRIC_TABLE, Unit
from monitor.output.chart import BAND_FILL_ALPHA, chart_title, envelope, save_figure, value_limits
from monitor.output.compare_text import format_amount, metric_name, spans_differ

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The metrics of the exit status are drawn whenever a run has them; others only when either run moved off 0.
ALWAYS_DRAWN = METRIC_TABLE[:3]
_ROLES = (("baseline", "tab:blue"), ("candidate", "tab:orange"))
_BYTE_UNITS = (("GiB", 1024.0**3), ("MiB", 1024.0**2), ("KiB", 1024.0), ("B", 1.0))


def write_comparison_chart(
    baseline: RunSeries, candidate: RunSeries, comparison: Comparison, title: str, path: Path
) -> None:
    """Draw the comparison and save a PNG at `path`, whole or not at all."""
    save_figure(draw_comparison(baseline, candidate, comparison, title), path)


def compared_columns(baseline: RunSeries, candidate: RunSeries, comparison: Comparison) -> list[str]:
    """The metrics drawn, in the table's order: those with values, the quiet ones (all 0 in both) left out."""

    def values(run: RunSeries, column: str) -> np.ndarray:
        found = run.values.get(column)
        return np.empty(0) if found is None else np.asarray(found, dtype=float)

    drawn = []
    for metric in METRIC_TABLE:
        both = np.concatenate([values(baseline, metric.column), values(candidate, metric.column)])
        known = both[np.isfinite(both)]
        if metric.column in comparison.changes and len(known) and (metric in ALWAYS_DRAWN or (known != 0).any()):
            drawn.append(metric.column)
    return drawn


def draw_comparison(baseline: RunSeries, candidate: RunSeries, comparison: Comparison, title: str) -> Figure:
    """The comparison as a matplotlib Figure, legends beside the panels."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt

    columns = compared_columns(baseline, candidate, comparison) or [METRIC_TABLE[0].column]
    span = max(comparison.baseline_span_s, comparison.candidate_span_s)
    time_name, time_size = ("h", 3600.0) if span >= 7200 else ("min", 60.0) if span >= 120 else ("s", 1.0)
    figure, axes = plt.subplots(
        len(columns), 1, sharex=True, figsize=(12, max(6.0, 2.6 * len(columns))), constrained_layout=True, squeeze=False
    )
    for axis, column in zip(axes[:, 0], columns):
        _draw_panel(axis, column, (baseline, candidate), comparison, time_size)
    axes[-1, 0].set_xlabel(f"time since each run's first sample ({time_name})")
    figure.suptitle(chart_title(title))
    return figure


def _draw_panel(
    axis: Axes, column: str, runs: tuple[RunSeries, RunSeries], comparison: Comparison, time_size: float
) -> None:
    unit = BY_COLUMN[column].unit
    change = comparison.changes[column]
    scale, unit_name = 1.0, {Unit.PERCENT: "%", Unit.PER_S: "/s"}.get(unit, "")
    if unit in (Unit.BYTES, Unit.BYTES_PER_S):
        peak = max((float(np.nanmax(np.abs(_values(run, column)), initial=0.0)) for run in runs), default=0.0)
        unit_name, scale = next(((n, s) for n, s in _BYTE_UNITS if peak >= s), ("B", 1.0))
        unit_name += "/s" if unit is Unit.BYTES_PER_S else ""
    drawn: list[np.ndarray] = []
    # The warm-up, left out of the levels, and the end of the stretch both runs cover.
    axis.axvspan(0, comparison.start_s / time_size, color="0.85", alpha=0.5, linewidth=0, label="warm-up (left out)")
    if spans_differ(comparison):
        end = comparison.end_s / time_size
        axis.axvline(end, color="0.4", linestyle=":", linewidth=1, label="end of the shorter run")
    levels = (change.baseline_level, change.candidate_level)
    for (role, colour), run, level in zip(_ROLES, runs, levels):
        seconds = np.asarray(run.elapsed_s, dtype=float)
        values = _values(run, column) / scale
        if not len(seconds) or not np.isfinite(values).any():
            continue
        x, low, mean, high = envelope(seconds, values)
        if len(x) < len(seconds):
            axis.fill_between(x / time_size, low, high, step="post", color=colour, alpha=BAND_FILL_ALPHA, linewidth=0)
        axis.plot(x / time_size, mean, linewidth=1.2, color=colour, label=role)
        drawn += [low, high]
        if level is not None:
            axis.hlines(
                level / scale,
                comparison.start_s / time_size,
                comparison.end_s / time_size,
                colors=colour,
                linestyles="--",
                linewidth=1,
                label=f"{role} median {format_amount(level, unit)}",
            )
            drawn.append(np.array([level / scale]))
    values = np.concatenate(drawn) if drawn else np.empty(0)
    values = values[np.isfinite(values)]
    if len(values):
        axis.set_ylim(value_limits(float(values.min()), float(values.max()), unit is Unit.COUNT))
    axis.ticklabel_format(axis="y", useOffset=False)
    label = metric_name(column)
    axis.set_ylabel(f"{label} ({unit_name})" if unit_name and unit_name != "%" else label)
    axis.set_title(f"{label}: {_verdict_words(change.verdict, change.change, unit)}", loc="left", fontsize="medium")
    axis.grid(True, alpha=0.3)
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small")


def _verdict_words(verdict: Change, change: float | None, unit: Unit) -> str:
    if change is None:
        return verdict.value
    return f"{verdict.value}, median {format_amount(change, unit, signed=True)}"


def _values(run: RunSeries, column: str) -> np.ndarray:
    found = run.values.get(column)
    return np.full(len(run.elapsed_s), np.nan) if found is None else np.asarray(found, dtype=float)
