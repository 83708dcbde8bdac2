"""Command-line entry: parse options, run the program, map every failure to one line and an exit status."""

from __future__ import annotations

import sys
import traceback
from typing import Sequence, TextIO

from monitor.cli.analyze import analyze_reports
from monitor.cli.options import Options, parse_options, program_name
from monitor.cli.status import ExitStatus
from monitor.cli.watch import watch
from monitor.errors import MonitorError, UsageError
from monitor.output.console import Console


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the monitor and return its exit status; errors become one line on stderr."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options = parse_options(args)
    except UsageError as exc:
        print(f"{program_name()}: error: {exc}", file=err)
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
    if options.serve is not None:
        from monitor.cli.serve import serve  # prometheus_client only for the exporter

        return serve(options, Console(out, quiet=options.quiet))
    return watch(options, Console(out, quiet=options.quiet))
