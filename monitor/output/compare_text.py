"""A comparison of two runs as text: a heading, one table row per metric, and the verdict."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.analysis.compare import CONFIDENCE, WARM_UP_SHARE, Change, Comparison, MetricChange
from monitor.metrics import BY_COLUMN, Unit
from monitor.output.units import NOT_AVAILABLE, human_bytes, plural

REGRESSION_NOTE = "exit status 4 with --fail-on-regression"
_HEADER = ("metric", "baseline", "candidate", "change", f"{CONFIDENCE:.0%} interval", "peak change", "verdict")
_WIDTHS = (17, 11, 11, 11, 26, 12)
_HUGE = 1024.0**5  # from here on numbers are shown in the exponent form


@dataclass(frozen=True)
class RunLabel:
    """How one side of a comparison is named: its report and how many samples over how long."""

    file: str
    samples: int


def format_amount(value: float | None, unit: Unit, signed: bool = False) -> str:
    """A metric's value in its unit, '+' before a rise when `signed`: '+20.0 MiB', '-1.5', '3.0 KiB/s'."""
    if value is None:
        return NOT_AVAILABLE
    per_s = "/s" if unit is Unit.BYTES_PER_S else ""
    if abs(value) >= _HUGE:
        # A number no process gives (a damaged report): three digits, not three hundred.
        text = f"{value:.3g}" + (f" B{per_s}" if unit in (Unit.BYTES, Unit.BYTES_PER_S) else "")
    elif unit in (Unit.BYTES, Unit.BYTES_PER_S):
        text = human_bytes(value) + per_s
    else:
        text = f"{value:.1f}"
    if not any(digit in text for digit in "123456789"):
        return text.lstrip("-")  # 0 shown without a sign: "-0.0" would read as a fall
    return ("+" if signed and value > 0 else "") + text


def spans_differ(comparison: Comparison) -> bool:
    """True when one run is more than 1% longer than the other: its end is then not compared."""
    longer = max(comparison.baseline_span_s, comparison.candidate_span_s)
    return longer - comparison.end_s > 0.01 * longer


def seconds_text(seconds: float) -> str:
    """A span of time in the unit that reads best: '7.8 s', '12.5 min', '3.2 h'."""
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def metric_name(column: str) -> str:
    """The metric as the table names it: 'CPU %', 'private memory', 'handles/FDs'."""
    metric = BY_COLUMN[column]
    return f"{metric.title} %" if metric.unit is Unit.PERCENT else metric.title


def format_comparison(baseline: RunLabel, candidate: RunLabel, comparison: Comparison) -> list[str]:
    """The heading, the table and the verdict lines."""
    lines = [
        f"Comparing '{candidate.file}' ({plural(candidate.samples, 'sample')}, "
        f"{seconds_text(comparison.candidate_span_s)}) with the baseline '{baseline.file}' "
        f"({plural(baseline.samples, 'sample')}, {seconds_text(comparison.baseline_span_s)})",
        f"Compared {seconds_text(comparison.start_s)} to {seconds_text(comparison.end_s)} after each run's first "
        f"sample (the first {WARM_UP_SHARE:.0%} is warm-up, left out); tolerance {comparison.tolerance_pct:g}% "
        "or one quantum",
    ]
    longer = _beyond_common_end(comparison)
    if longer:
        lines.append(longer)
    lines.append(_row(_HEADER))
    lines += [_metric_row(change) for change in comparison.changes.values()]
    lines += verdict_lines(comparison)
    return lines


def _beyond_common_end(comparison: Comparison) -> str:
    spans = {"baseline": comparison.baseline_span_s, "candidate": comparison.candidate_span_s}
    longer = max(spans, key=lambda role: spans[role])
    extra = spans[longer] - comparison.end_s
    if not spans_differ(comparison):
        return ""
    return (
        f"The {longer} ran {seconds_text(extra)} longer: that part is not compared, so that both runs cover "
        "the same time"
    )


def _row(cells: tuple[str, ...]) -> str:
    first, *numbers, verdict = cells
    parts = [first.ljust(_WIDTHS[0])] + [cell.rjust(width) for cell, width in zip(numbers, _WIDTHS[1:])]
    return " ".join(parts) + "  " + verdict


def _metric_row(change: MetricChange) -> str:
    unit = BY_COLUMN[change.column].unit
    name = metric_name(change.column)
    if change.verdict is Change.MISSING:
        return f"{name.ljust(_WIDTHS[0])} {change.verdict.value}: {change.reason}"
    interval = NOT_AVAILABLE
    if change.change_low is not None and change.change_high is not None:
        interval = f"{format_amount(change.change_low, unit, True)} to {format_amount(change.change_high, unit, True)}"
    verdict = change.verdict.value
    if change.verdict is Change.INCONCLUSIVE and change.change is None:
        verdict += f" ({change.reason})"
    return _row(
        (
            name,
            format_amount(change.baseline_level, unit),
            format_amount(change.candidate_level, unit),
            format_amount(change.change, unit, True),
            interval,
            format_amount(change.peak_change, unit, True),
            verdict,
        )
    )


def verdict_lines(comparison: Comparison) -> list[str]:
    """One line for the metrics found higher, one for those found lower; or that none changed beyond doubt."""
    lines = []
    for kind, words in ((Change.HIGHER, "Higher than the baseline"), (Change.LOWER, "Lower than the baseline")):
        changed = [change for change in comparison.changes.values() if change.verdict is kind]
        if changed:
            lines.append(f"{words}: " + ", ".join(_change_words(change) for change in changed))
    if not lines:
        counts = {kind: 0 for kind in Change}
        for change in comparison.changes.values():
            counts[change.verdict] += 1
        told = ", ".join(f"{counts[kind]} {kind.value}" for kind in Change if counts[kind])
        lines.append(f"No metric is higher or lower than the baseline ({told})")
    return lines


def _change_words(change: MetricChange) -> str:
    unit = BY_COLUMN[change.column].unit
    relative = "" if change.relative_change is None else f", {change.relative_change:+.1%}"
    return f"{metric_name(change.column)} ({format_amount(change.change, unit, True)}{relative})"
