"""The --compare mode: two saved reports, or a saved baseline and a new run, compared metric by metric."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from monitor.analysis.compare import RunSeries, compare_runs
from monitor.cli.options import CompareOptions, WatchOptions
from monitor.cli.report_files import COMPARISON_CHART_END, check_is_report, written_beside
from monitor.cli.status import ExitStatus
from monitor.errors import MonitorError
from monitor.metrics import CPU, ELAPSED, HANDLES, MEMORY, METRICS
from monitor.output.compare_json import comparison_document
from monitor.output.compare_text import REGRESSION_NOTE, RunLabel, format_comparison, metric_name
from monitor.output.console import Console
from monitor.output.files import CHART_SUFFIX, REPORT_SUFFIX
from monitor.output.saved_report import is_detail, read_report
from monitor.output.summary_json import json_line

# The metrics whose rise fails a build with --fail-on-regression: the README's three.
GATED = (CPU, MEMORY, HANDLES)


def compare(options: CompareOptions, out: TextIO, err: TextIO) -> ExitStatus:
    """Compare the candidate (a saved report, or a run made now) with the baseline report; print and chart it."""
    baseline_path = newest_report(options.baseline)
    baseline = load_run(baseline_path, "baseline")  # a bad baseline is said before any run starts
    if isinstance(options.candidate, Path):
        candidate_path = newest_report(options.candidate)
        return _compare(options, (baseline_path, baseline), (candidate_path, load_run(candidate_path)), out, err)
    with_run = _watch_candidate(options.candidate, options.json, out, err)
    if isinstance(with_run, ExitStatus):
        return with_run
    candidate_path, run_status = with_run
    status = _compare(options, (baseline_path, baseline), (candidate_path, load_run(candidate_path)), out, err)
    return run_status if status is ExitStatus.SUCCESS else status


def newest_report(path: Path) -> Path:
    """The path itself, or for a folder (as `-r baseline` fills it) the newest run's report in it."""
    if not path.is_dir():
        return path
    reports = [found for found in path.glob("*" + REPORT_SUFFIX) if written_beside(found) is None]
    if not reports:
        raise MonitorError(f"{path}: no report in this folder; give a report the monitor wrote, or its folder")
    return max(reports, key=lambda found: (found.stat().st_mtime, found.name))


def load_run(path: Path, role: str = "candidate") -> pd.DataFrame:
    """A saved report's rows; MonitorError naming the problem and the fix for anything else."""
    check_is_report(path)
    frame = read_report(path)
    if is_detail(frame):
        report = written_beside(path)
        instead = f"its run's report ({report})" if report is not None else "a run's report"
        raise MonitorError(f"{path}: a per-process detail CSV; give {instead} as the {role}")
    if frame.empty:
        raise MonitorError(f"{path}: the report holds no samples, so there is nothing to compare; give a run's report")
    return frame


def run_series(frame: pd.DataFrame) -> RunSeries:
    """The report's times and every metric column it has, as arrays."""
    return RunSeries(
        frame[ELAPSED].to_numpy(dtype=float),
        {column: frame[column].to_numpy(dtype=float, na_value=np.nan) for column in METRICS if column in frame},
    )


def _watch_candidate(
    run: WatchOptions, as_json: bool, out: TextIO, err: TextIO
) -> tuple[Path, ExitStatus] | ExitStatus:
    """Run the monitoring mode for the candidate: its report and status, or the status of a run that was stopped."""
    from monitor.cli.watch import watch

    # With --json stdout holds the comparison alone; the run's table and summary go to stderr.
    console = Console(err if as_json else out, quiet=run.quiet)
    reports: list[Path] = []
    status = watch(run, console, reports.append)
    if status not in (ExitStatus.SUCCESS, ExitStatus.LEAK_FOUND) or not reports:
        return status  # stopped by a signal: nothing to compare
    return reports[-1], status


def _compare(
    options: CompareOptions,
    baseline: tuple[Path, pd.DataFrame],
    candidate: tuple[Path, pd.DataFrame],
    out: TextIO,
    err: TextIO,
) -> ExitStatus:
    (base_path, base_frame), (cand_path, cand_frame) = baseline, candidate
    base_run, cand_run = run_series(base_frame), run_series(cand_frame)
    comparison = compare_runs(base_run, cand_run, options.tolerance_pct)
    base_label = RunLabel(str(base_path), len(base_frame))
    cand_label = RunLabel(str(cand_path), len(cand_frame))
    console = Console(out)
    higher = comparison.higher(GATED)
    if options.json:
        console.summary(json_line(comparison_document(base_label, cand_label, comparison, GATED)))
    else:
        for line in format_comparison(base_label, cand_label, comparison):
            console.summary(line)
        if higher:
            named = ", ".join(metric_name(column) for column in higher)
            console.summary(f"Regression: {named} higher than the baseline ({REGRESSION_NOTE})")
    status = ExitStatus.SUCCESS
    if options.plot:
        from monitor.output.compare_chart import write_comparison_chart  # matplotlib only when a chart is drawn

        chart = cand_path.with_name(cand_path.stem + COMPARISON_CHART_END + CHART_SUFFIX)
        title = f"{cand_path.name} (candidate) against {base_path.name} (baseline)"
        notes = Console(err) if options.json else console
        try:
            write_comparison_chart(base_run, cand_run, comparison, title, chart)
            notes.summary(f"Wrote {chart}")
        except OSError as exc:
            print(
                f"error: writing the chart {chart} failed ({exc.strerror or exc}); "
                f"copy {cand_path.name} to a writable folder and compare the copy",
                file=err,
            )
            status = ExitStatus.ERROR
    if options.fail_on_regression and higher and status is ExitStatus.SUCCESS:
        return ExitStatus.REGRESSION_FOUND
    return status
