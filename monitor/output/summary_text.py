"""The end-of-run summary as text: averages, the README rule's verdict and the trend verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from monitor.analysis.running import HEURISTIC_MIN_SAMPLES, HeuristicResult
from monitor.analysis.summary import RunAnalysis
from monitor.analysis.trend import Evidence, Trend, Verdict
from monitor.metrics import BY_COLUMN, HEURISTIC_METRIC, LEAK_CHECKED, METRIC_TABLE, Unit
from monitor.output.log import denied_sentences
from monitor.output.units import NOT_AVAILABLE, format_amount, plural, processes_and_pids

LEAK_WARNING = "WARNING: potential memory leak detected"
NO_LEAK = "No memory leak detected"
RULE_LABEL = "README rule"


@dataclass(frozen=True)
class Summary:
    """What the end-of-run summary says."""

    label: str
    analysis: RunAnalysis
    pids: Sequence[int] = ()
    # PIDs watched through the whole run -> (name, README-rule result); empty for one process.
    per_process: Mapping[int, tuple[str, HeuristicResult]] = field(default_factory=dict)
    # Instances skipped because they could not be read, pid -> name.
    denied: Mapping[int, str] = field(default_factory=dict)


def heuristic_line(result: HeuristicResult, trend: Verdict | None = None) -> str:
    """The README rule's verdict as one labelled line, saying why it differs from the trend verdict when it does."""
    if not result.enough_samples:
        return (
            f"{RULE_LABEL}: too few samples to judge ({result.samples} taken, "
            f"at least {HEURISTIC_MIN_SAMPLES} needed): monitor longer or sample more often"
        )
    detail = f"private memory rose in {result.steps_up} of {result.steps} steps, fell in {result.steps_down}"
    if result.leak:
        line = f"{RULE_LABEL}: {LEAK_WARNING} ({detail})"
        if trend is not None and trend is not Verdict.LEAK:
            line += "; the trend above weighs the whole run and does not call it a leak"
        return line
    if trend is Verdict.LEAK:
        # Said in words, not as "no leak": one dip or one flat step breaks the rule, not the growth.
        return (
            f"{RULE_LABEL}: not met ({detail}): it asks for a rise at two steps in three and never a fall, "
            "which noise and garbage collection break; the trend above weighs the whole run"
        )
    return f"{RULE_LABEL}: {NO_LEAK} ({detail})"


def missed_ticks_sentence(missed: int, due: int, interval_s: float, so_far: bool = False) -> str:
    """Why some samples are not in the report: the ticks the clock had to skip, of how many were due."""
    share = 100.0 * missed / due if due else 0.0
    when = " so far" if so_far else ""
    return (
        f"Missed {missed:,} of {due:,} ticks{when} ({share:.1f}%): the machine or the monitor was too slow to "
        f"sample every {interval_s:g} s; a longer -s keeps every tick"
    )


def format_rate(trend: Trend, metric: str) -> str:
    """'+42.1 MiB/h (90%: 38.0 to 46.3 MiB/h)' or '+3.0 handles/h (90%: 2.1 to 3.9 handles/h)'; 'n/a' where unknown."""
    unit = BY_COLUMN[metric].unit
    if trend.rate_per_hour is None:
        return f"{NOT_AVAILABLE}{_per_hour(unit, '')}"
    (rate, low, high), name = _rates([trend.rate_per_hour, trend.rate_low_per_hour, trend.rate_high_per_hour], unit)
    suffix = _per_hour(unit, name)
    sign = "+" if trend.rate_per_hour >= 0 else ""
    return f"{sign}{rate}{suffix} (90%: {low} to {high}{suffix})"


def _per_hour(unit: Unit, name: str) -> str:
    return f"{name}/h" if unit is Unit.BYTES else " handles/h"


def _rates(
    values: list[float | None], unit: Unit, apart: tuple[int, int] | None = None, unit_of: int | None = None
) -> tuple[list[str], str]:
    """Rates as numbers in one unit (its name apart: ' MiB'), to one decimal, or to as many (up to 3) as
    show the two values at the indices `apart` as different when they are. The unit is the one that
    suits the value at `unit_of`, or the largest."""
    scale, name = 1.0, ""
    if unit is Unit.BYTES:
        chosen = values[unit_of] if unit_of is not None else None
        known = [abs(value) for value in values if value is not None]
        largest = abs(chosen) if chosen is not None else max(known, default=0.0)
        for step, label in enumerate(("B", "KiB", "MiB", "GiB", "TiB", "PiB")):
            scale, name = 1024.0**step, f" {label}"
            if largest < 1024.0 ** (step + 1):
                break
    texts: list[str] = []
    for decimals in range(1, 4):
        texts = [NOT_AVAILABLE if v is None else f"{v / scale:.{decimals}f}" for v in values]
        if apart is None or values[apart[0]] == values[apart[1]] or texts[apart[0]] != texts[apart[1]]:
            break
    return texts, name


def trend_line(trend: Trend, metric: str) -> str:
    """The trend detector's verdict on one metric as one line; its words never contradict its numbers."""
    title = BY_COLUMN[metric].trend_title
    if trend.verdict is Verdict.LEAK:
        line = f"{title}: LEAK, {format_rate(trend, metric)}, {trend.confidence} confidence: {trend.reason}"
        if trend.hours_to_limit is not None:
            line += f"; at this rate {BY_COLUMN[metric].limit} in about {_duration(trend.hours_to_limit)}"
        return line
    if trend.rate_per_hour is None or trend.min_rate_per_hour is None:
        return f"{title}: {'no leak' if trend.verdict is Verdict.NO_LEAK else 'inconclusive'}: {trend.reason}"
    unit = BY_COLUMN[metric].unit
    # Growth within what a cycle climbs between two samples is not told from where the samples fell.
    resolution = trend.resolution_per_hour or 0.0
    blurred = trend.verdict is Verdict.INCONCLUSIVE and resolution > trend.min_rate_per_hour
    smallest_leak = resolution if blurred else trend.min_rate_per_hour
    # The smallest leak that matters in the unit and precision of the interval it is compared with.
    values = [trend.rate_per_hour, trend.rate_low_per_hour, trend.rate_high_per_hour, smallest_leak]
    # In the unit of the smallest leak that matters: the number the others are measured against.
    (rate, low, high, smallest), name = _rates(values, unit, apart=(2, 3), unit_of=3)
    suffix = _per_hour(unit, name)
    sign = "+" if trend.rate_per_hour >= 0 else ""
    which = "its floor " if trend.decided_by is Evidence.FLOOR else ""
    growth = f"{which}{sign}{rate}{suffix} (90%: {low} to {high}{suffix})"
    if trend.verdict is Verdict.NO_LEAK:
        return f"{title}: no leak: {trend.reason}; {growth}, under {smallest}{suffix}"
    bar = "the smallest growth these samples can tell apart" if blurred else "the smallest leak that matters"
    return f"{title}: inconclusive: {trend.reason}; {growth}, {bar} {smallest}{suffix}"


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def average_line(title: str, value: float | None, unit: Unit, peak: float | None = None) -> str:
    """'  Average CPU:               0.60 %, peak 2.00 %' and the like, aligned."""
    label = f"Average {title}:"
    text = NOT_AVAILABLE if value is None else format_amount(value, unit, exact_bytes=True)
    if peak is not None:
        text += f", peak {format_amount(peak, unit)}"
    return f"  {label:<27}{text}"


def format_summary(summary: Summary) -> list[str]:
    """The summary block printed (and logged) at the end of a run."""
    analysis = summary.analysis
    lines = [f"Summary for {summary.label}: {plural(analysis.samples, 'sample')}"]
    if summary.pids:
        lines[0] += f" ({processes_and_pids(summary.pids)})"
    lines += denied_sentences(summary.denied)
    if analysis.samples:
        # Metrics no process gave (an older report, or an OS that does not report them) are left out.
        lines += [
            average_line(m.title, analysis.averages[m.column], m.unit, analysis.peaks.get(m.column))
            for m in METRIC_TABLE
            if analysis.averages.get(m.column) is not None
        ]
    # The trend verdicts lead; the README rule follows, labelled, and says why it differs.
    lines += [trend_line(analysis.leaks[m.column].trend, m.column) for m in LEAK_CHECKED]
    memory = analysis.leaks[HEURISTIC_METRIC]
    lines.append(heuristic_line(memory.heuristic, memory.trend.verdict))
    judged = {pid: entry for pid, entry in summary.per_process.items() if entry[1].enough_samples}
    if judged:
        leaky = [f"pid {pid} ('{name}')" for pid, (name, result) in judged.items() if result.leak]
        if leaky:
            lines.append(f"{RULE_LABEL}, per instance: {LEAK_WARNING} in {', '.join(leaky)}")
        else:
            watched = f"{len(judged)} watched through the whole run"
            lines.append(f"{RULE_LABEL}, per instance: no single instance looks leaky ({watched})")
    return lines
