"""The --analyze mode: saved reports in, the same summary (or JSON Lines) out, nothing sampled."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from monitor.analysis.summary import RunAnalysis, analyze
from monitor.cli.options import AnalyzeOptions
from monitor.cli.report_files import check_is_report, reports_to_read
from monitor.cli.status import ExitStatus
from monitor.errors import MonitorError
from monitor.output.console import Console
from monitor.output.files import CHART_SUFFIX
from monitor.output.saved_report import is_detail, per_process, read_report
from monitor.output.summary_json import json_line, summary_document
from monitor.output.summary_text import Summary, format_summary
from monitor.output.units import plural


@dataclass(frozen=True)
class Series:
    """What one summary is about: a run's report, or one process of a detail CSV."""

    label: str  # "'reports/app.csv'" or "pid 812 ('app') in 'reports/app_processes.csv'"
    title: str  # the chart's title
    chart: Path
    frame: pd.DataFrame
    facts: dict[str, Any] = field(default_factory=dict)  # added to the JSON line: the pid and name


def analyze_reports(options: AnalyzeOptions, out: TextIO, err: TextIO) -> ExitStatus:
    """Print the summary (or a JSON line) of each saved report, then write its chart with --plot.

    A file that cannot be read, or a chart that cannot be written, gets one line on stderr and exit
    status 1; the other reports are still analysed.
    """
    status = ExitStatus.SUCCESS
    leak_found = False
    console = Console(out)  # a reader that goes away (`| head`) ends the output quietly, not the analysis
    # `Wrote ...` goes with the summary, but to stderr under --json, so that stdout stays JSON Lines.
    notes = Console(err) if options.json else console
    for path in reports_to_read(options.reports):
        try:
            check_is_report(path)
            series = series_of(path, read_report(path))
        except MonitorError as exc:
            print(f"error: {exc}", file=err)
            status = ExitStatus.ERROR
            continue
        analysed = []
        for one in series:  # each summary printed as soon as it is known: a detail CSV may hold many processes
            analysis = analyze(one.frame, min_rates=dict(options.min_leak_rates))
            analysed.append((one, analysis))
            leak_found |= analysis.leak_found
            if options.json:
                console.summary(json_line(summary_document(path, analysis, one.facts)))
            else:
                for line in format_summary(Summary(one.label, analysis)):
                    console.summary(line)
        if options.plot and not write_charts(path, analysed, notes, err):
            status = ExitStatus.ERROR
    if status is ExitStatus.SUCCESS and options.fail_on_leak and leak_found:
        return ExitStatus.LEAK_FOUND
    return status


def series_of(path: Path, frame: pd.DataFrame) -> list[Series]:
    """The report as one series, or a detail CSV as one series per process, each with its own chart."""
    if not is_detail(frame) or frame.empty:  # an empty detail CSV still gets its (empty) summary
        title = f"{path.name} ({plural(len(frame), 'sample')})"
        return [Series(f"'{path}'", title, path.with_suffix(CHART_SUFFIX), frame)]
    return [
        Series(
            f"pid {rows.pid} ('{rows.name}') in '{path}'",
            f"{path.name}, pid {rows.pid} ('{rows.name}'), {plural(len(rows.frame), 'sample')}",
            path.with_name(f"{path.stem}_pid{rows.pid}{CHART_SUFFIX}"),
            rows.frame,
            {"pid": rows.pid, "name": rows.name},
        )
        for rows in per_process(frame)
    ]


def write_charts(path: Path, analysed: list[tuple[Series, RunAnalysis]], notes: Console, err: TextIO) -> bool:
    """Draw each series' chart beside the report and say `Wrote ...`; False, after one line on stderr, when
    a chart cannot be written (the report's other charts, in the same folder, are not tried)."""
    if not any(len(one.frame) for one, _ in analysed):
        notes.summary(f"No chart for {path}: it holds no samples")
        return True
    from monitor.output.chart import write_chart  # matplotlib only when a chart is drawn

    for one, analysis in analysed:
        try:
            write_chart(one.frame, analysis, one.title, one.chart)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            print(
                f"error: writing the chart {one.chart} failed ({reason}); "
                f"copy {path.name} to a writable folder and run --analyze --plot on the copy",
                file=err,
            )
            return False
        notes.summary(f"Wrote {one.chart}")
    return True
