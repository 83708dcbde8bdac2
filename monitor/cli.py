"""Command-line entry: parse options, run the program, map every failure to one line and an exit status."""

from __future__ import annotations

import json
import sys
import traceback
from typing import Sequence, TextIO

from monitor.analysis import analyze
from monitor.console import Console
from monitor.options import Options, parse_options
from monitor.recorder import read_report
from monitor.report import Summary, format_summary, summary_json
from monitor.run import CHART_SUFFIX, monitor
from monitor.status import ExitStatus, MonitorError, UsageError


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the monitor and return its exit status; errors become one line on stderr."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options = parse_options(args)
    except UsageError as exc:
        print(f"main.py: error: {exc}", file=err)
        return ExitStatus.USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        return program(options, out, err)
    except MonitorError as exc:
        print(f"error: {exc}", file=err)
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return ExitStatus.INTERRUPTED
    except Exception as exc:  # the last line of defence against a traceback
        if options.debug:
            traceback.print_exc(file=err)
        else:
            print(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=err)
        return ExitStatus.ERROR


def program(options: Options, out: TextIO, err: TextIO) -> ExitStatus:
    """The main program without error handling."""
    if options.analyze:
        return analyze_reports(options, out, err)
    return monitor(options, Console(out, quiet=options.quiet))


def analyze_reports(options: Options, out: TextIO, err: TextIO) -> ExitStatus:
    """Print the summary (or a JSON line) of each saved report; a bad file is reported and skipped."""
    status = ExitStatus.SUCCESS
    leak_found = False
    for path in options.analyze:
        try:
            frame = read_report(path)
            analysis = analyze(frame)
            if options.plot and len(frame):
                from monitor.chart import write_chart  # matplotlib only when a chart is drawn

                write_chart(
                    frame, analysis, f"{path.name} ({analysis.samples} samples)", path.with_suffix(CHART_SUFFIX)
                )
        except (MonitorError, OSError) as exc:
            print(f"error: {exc}", file=err)
            status = ExitStatus.ERROR
            continue
        leak_found |= analysis.leak_found
        if options.json:
            print(json.dumps({"file": str(path), **summary_json(analysis)}), file=out)
        else:
            for line in format_summary(Summary(f"'{path}'", analysis)):
                print(line, file=out)
    if status is ExitStatus.SUCCESS and options.fail_on_leak and leak_found:
        return ExitStatus.LEAK_FOUND
    return status
