"""The summary as JSON, one builder for --analyze and for a live run; strict JSON only (no NaN, no Infinity)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

from monitor.analysis.summary import RunAnalysis
from monitor.analysis.trend import Growth


def summary_document(file: Path, analysis: RunAnalysis, run: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary of one report: file, samples, averages and both leak verdicts, then the run's own facts."""
    leak: dict[str, Any] = {}
    for metric, verdicts in analysis.leaks.items():
        trend = verdicts.trend
        leak[metric] = {
            "heuristic": verdicts.heuristic.leak,
            "verdict": trend.verdict.value,
            "rate_per_hour": trend.rate_per_hour,
            "rate_per_hour_90": [trend.rate_low_per_hour, trend.rate_high_per_hour],
            "confidence": trend.confidence,
            "p_value": trend.p_value,
            "hours_to_limit": trend.hours_to_limit,
            "reason": trend.reason,
            "decided_by": None if trend.decided_by is None else trend.decided_by.value,
            "level": growth_document(trend.level),
            "floor": growth_document(trend.floor),
            "min_leak_rate_per_hour": trend.min_rate_per_hour,
            "min_leak_rate_rule": trend.min_rate_rule,
            "resolution_per_hour": trend.resolution_per_hour,
            "judged_from_s": trend.judged_from_s,
            "longer": trend.longer,
        }
    document = {
        "file": str(file),
        "samples": analysis.samples,
        "averages": dict(analysis.averages),
        "peaks": dict(analysis.peaks),
        "leak": leak,
    }
    return finite(document | dict(run or {}))


def growth_document(growth: Growth | None) -> dict[str, Any] | None:
    """One kind of evidence's growth: its rate per hour, 90% interval, p-value and the points it rests on."""
    if growth is None:
        return None
    document: dict[str, Any] = {
        "rate_per_hour": growth.rate_per_hour,
        "rate_per_hour_90": [growth.low_per_hour, growth.high_per_hour],
        "p_value": growth.p_value,
        "points": growth.points,
        "effective_points": growth.effective_points,
    }
    if growth.source:
        document["from"] = growth.source
    return document


def finite(value: Any) -> Any:
    """The same data with every NaN or infinite float replaced by None, so that any JSON parser reads it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def json_line(document: Mapping[str, Any]) -> str:
    """One strict JSON object on one line."""
    return json.dumps(finite(document), allow_nan=False)


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write the document whole or not at all: a temporary file renamed into place, never an empty file."""
    text = json.dumps(finite(document), indent=2, allow_nan=False) + "\n"
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
