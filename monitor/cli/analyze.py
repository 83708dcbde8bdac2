"""The --analyze mode: saved reports in, the same summary (or JSON Lines) out, nothing sampled."""

from __future__ import annotations

from typing import TextIO

from monitor.analysis.summary import analyze
from monitor.cli.options import Options
from monitor.cli.status import ExitStatus
from monitor.errors import MonitorError
from monitor.output.console import Console
from monitor.output.csv_report import read_report
from monitor.output.files import CHART_SUFFIX
from monitor.output.summary_json import json_line, summary_document
from monitor.output.summary_text import Summary, format_summary
from monitor.output.units import plural


def analyze_reports(options: Options, out: TextIO, err: TextIO) -> ExitStatus:
    """Print the summary (or a JSON line) of each saved report; a bad file is reported and skipped."""
    status = ExitStatus.SUCCESS
    leak_found = False
    console = Console(out)  # a reader that goes away (`| head`) ends the output quietly, not the analysis
    for path in options.analyze:
        try:
            frame = read_report(path)
            analysis = analyze(frame)
            if options.plot and len(frame):
                from monitor.output.chart import write_chart  # matplotlib only when a chart is drawn

                title = f"{path.name} ({plural(analysis.samples, 'sample')})"
                write_chart(frame, analysis, title, path.with_suffix(CHART_SUFFIX))
        except (MonitorError, OSError) as exc:
            print(f"error: {exc}", file=err)
            status = ExitStatus.ERROR
            continue
        leak_found |= analysis.leak_found
        if options.json:
            console.summary(json_line(summary_document(path, analysis)))
        else:
            for line in format_summary(Summary(f"'{path}'", analysis)):
                console.summary(line)
    if status is ExitStatus.SUCCESS and options.fail_on_leak and leak_found:
        return ExitStatus.LEAK_FOUND
    return status
