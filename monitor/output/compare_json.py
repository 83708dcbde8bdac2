"""A comparison of two runs as one strict JSON object (no NaN, no Infinity)."""

from __future__ import annotations

from typing import Any, Sequence

from monitor.analysis.compare import CONFIDENCE, WARM_UP_SHARE, Comparison, MetricChange
from monitor.output.compare_text import RunLabel
from monitor.output.summary_json import finite


def comparison_document(
    baseline: RunLabel, candidate: RunLabel, comparison: Comparison, gated: Sequence[str]
) -> dict[str, Any]:
    """The baseline and candidate, the stretch compared, every metric's change, and the gated metrics found higher."""
    higher = comparison.higher(gated)
    document = {
        "baseline": {"file": baseline.file, "samples": baseline.samples, "span_s": comparison.baseline_span_s},
        "candidate": {"file": candidate.file, "samples": candidate.samples, "span_s": comparison.candidate_span_s},
        "compared_s": [comparison.start_s, comparison.end_s],
        "warm_up_share": WARM_UP_SHARE,
        "confidence": CONFIDENCE,
        "tolerance_pct": comparison.tolerance_pct,
        "metrics": {column: _metric(change) for column, change in comparison.changes.items()},
        "regression": bool(higher),
        "higher": higher,
    }
    return finite(document)


def _metric(change: MetricChange) -> dict[str, Any]:
    return {
        "verdict": change.verdict.value,
        "median_change": change.change,
        "median_change_low": change.change_low,
        "median_change_high": change.change_high,
        "relative_change": change.relative_change,
        "peak_change": change.peak_change,
        "baseline_median": change.baseline_level,
        "candidate_median": change.candidate_level,
        "baseline_peak": change.baseline_peak,
        "candidate_peak": change.candidate_peak,
        "tolerance": change.tolerance,
        "samples": [change.baseline_samples, change.candidate_samples],
        "reason": change.reason,
    }
