"""Console text: the per-sample table and the end-of-run summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from monitor.analysis import HeuristicResult, RunAnalysis
from monitor.columns import CPU, HANDLES, MEMORY
from monitor.trend import Trend

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")

LEAK_WARNING = "WARNING: potential memory leak detected"
NO_LEAK = "No memory leak detected"
TREND_TITLES = {MEMORY: "Memory trend", HANDLES: "Handles/FDs trend"}


def human_bytes(value: float) -> str:
    """1536 -> '1.5 KiB'."""
    size = float(value)
    for unit in _UNITS:
        if abs(size) < 1024 or unit == _UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


_ROW = "{time:<12}  {cpu:>8} {cpu_avg:>9}  {mem:>11} {mem_avg:>13}  {fds:>7} {fds_avg:>9}  {procs:>5}"


def format_header() -> str:
    """The table's column titles."""
    return _ROW.format(
        time="time",
        cpu="cpu %",
        cpu_avg="(avg)",
        mem="private mem",
        mem_avg="(avg)",
        fds="handles",
        fds_avg="(avg)",
        procs="procs",
    )


def format_row(
    clock_time: str,
    values: Mapping[str, float],
    averages: Mapping[str, float],
    process_count: int,
) -> str:
    """One sample as a table row: current value and running average of each metric."""
    return _ROW.format(
        time=clock_time,
        cpu=f"{values[CPU]:.1f}",
        cpu_avg=f"({averages[CPU]:.1f})",
        mem=human_bytes(values[MEMORY]),
        mem_avg=f"({human_bytes(averages[MEMORY])})",
        fds=f"{values[HANDLES]:.0f}",
        fds_avg=f"({averages[HANDLES]:.1f})",
        procs=process_count,
    )


LEAK_MARKER = "  <- leak warning"


def format_progress(elapsed_s: float, total_s: float, samples: int, planned: int) -> str:
    """'[#####-----] 12.0/20 s, 6/10 samples, 8 s left' for the live progress line."""
    share = min(max(elapsed_s / total_s, 0.0), 1.0) if total_s > 0 else 1.0
    filled = round(share * 20)
    left = max(total_s - elapsed_s, 0.0)
    return (
        f"[{'#' * filled}{'-' * (20 - filled)}] {elapsed_s:.1f}/{total_s:g} s, "
        f"{samples}/{planned} samples, {left:.0f} s left"
    )


@dataclass(frozen=True)
class Summary:
    """What the end-of-run summary says."""

    label: str
    analysis: RunAnalysis
    pids: Sequence[int] = ()
    # PIDs watched through the whole run -> (name, README-rule result); empty for one process.
    per_process: Mapping[int, tuple[str, HeuristicResult]] = field(default_factory=dict)


def heuristic_line(result: HeuristicResult) -> str:
    """The README rule's verdict as one line."""
    if not result.enough_samples:
        return (
            f"Too few samples to judge a memory leak ({result.samples} taken, "
            f"at least 10 needed): monitor longer or sample more often"
        )
    detail = f"private memory rose in {result.steps_up} of {result.steps} steps, fell in {result.steps_down}"
    return f"{LEAK_WARNING} ({detail})" if result.leak else f"{NO_LEAK} ({detail})"


def _per_hour(value: float, metric: str) -> str:
    if metric == MEMORY:
        return human_bytes(value)
    return f"{value:.1f}"


def format_rate(trend: Trend, metric: str) -> str:
    """'+42.1 MiB/h (90%: 38.0 MiB-46.3 MiB)' or '+3.0 handles/h (90%: 2.1-3.9)'."""
    unit = "/h" if metric == MEMORY else " handles/h"
    sign = "+" if trend.rate_per_hour >= 0 else ""
    low, high = _per_hour(trend.rate_low_per_hour, metric), _per_hour(trend.rate_high_per_hour, metric)
    return f"{sign}{_per_hour(trend.rate_per_hour, metric)}{unit} (90%: {low} to {high})"


def trend_line(trend: Trend, metric: str) -> str:
    """The trend detector's verdict on one metric as one line."""
    title = TREND_TITLES[metric]
    if trend.verdict == "leak":
        line = f"{title}: LEAK, {format_rate(trend, metric)}, {trend.confidence} confidence"
        if trend.hours_to_limit is not None:
            line += f"; the limit is reached in about {_duration(trend.hours_to_limit)}"
        return line
    if trend.verdict == "inconclusive":
        return f"{title}: inconclusive ({trend.reason})"
    return f"{title}: no leak ({trend.reason}; {format_rate(trend, metric)})"


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def format_summary(summary: Summary) -> list[str]:
    """The summary block printed (and logged) at the end of a run."""
    analysis = summary.analysis
    averages = analysis.averages
    lines = [f"Summary for {summary.label}: {analysis.samples} samples"]
    if summary.pids:
        lines[0] += f" (pids {', '.join(str(pid) for pid in summary.pids)})"
    if analysis.samples:
        lines += [
            f"  Average CPU:            {averages[CPU]:.2f} %",
            f"  Average private memory: {human_bytes(averages[MEMORY])} ({averages[MEMORY]:.0f} bytes)",
            f"  Average handles/FDs:    {averages[HANDLES]:.2f}",
        ]
    lines.append(heuristic_line(analysis.leaks[MEMORY].heuristic))
    lines += [trend_line(analysis.leaks[metric].trend, metric) for metric in TREND_TITLES]
    if summary.per_process:
        leaky = [f"pid {pid} ('{name}')" for pid, (name, result) in summary.per_process.items() if result.leak]
        if leaky:
            lines.append(f"{LEAK_WARNING} in single instances: {', '.join(leaky)}")
        else:
            lines.append(f"No single instance looks leaky ({len(summary.per_process)} watched through the whole run)")
    return lines


def summary_json(analysis: RunAnalysis) -> dict[str, Any]:
    """The summary as plain data: samples, averages and both leak verdicts of each metric."""
    leak: dict[str, Any] = {}
    for metric, verdicts in analysis.leaks.items():
        trend = verdicts.trend
        leak[metric] = {
            "heuristic": verdicts.heuristic.leak,
            "verdict": trend.verdict,
            "rate_per_hour": trend.rate_per_hour,
            "rate_per_hour_90": [trend.rate_low_per_hour, trend.rate_high_per_hour],
            "confidence": trend.confidence,
            "p_value": trend.p_value,
            "hours_to_limit": trend.hours_to_limit,
            "reason": trend.reason,
        }
    return {"samples": analysis.samples, "averages": dict(analysis.averages), "leak": leak}
