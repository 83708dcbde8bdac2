"""Command-line entry: parse options, run the program, map every failure to one line and an exit status.

Only light modules are imported here: main() takes over the stop signals before the modes (and
pandas with them) are loaded, and --help or a usage error answers without loading them.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from typing import Sequence, TextIO

from monitor.cli.options import Options, parse_options, program_name
from monitor.cli.status import ExitStatus, status_for_signal
from monitor.errors import MonitorError, UsageError
from monitor.sampling.signals import EndOnSignals, Stopped, signal_name


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the monitor and return its exit status; errors become one line on stderr, a stop signal its status."""
    ending = EndOnSignals()
    err = stderr or sys.stderr
    try:
        # First: a signal during start-up (or on the way out) ends the program cleanly with its status.
        ending.install()
        return _main(argv, stdout or sys.stdout, err)
    except Stopped as stop:
        # The terminal may be gone (SIGHUP): the status matters, the line is a courtesy.
        with contextlib.suppress(OSError, ValueError):
            print(f"stopped by {signal_name(stop.signum)}", file=err)
        return status_for_signal(stop.signum)
    finally:
        ending.restore()


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        options = parse_options(args)
    except UsageError as exc:
        print(f"{program_name()}: error: {exc}", file=err)
        return ExitStatus.USAGE
    except Stopped:
        raise
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        return program(options, out, err)
    except MonitorError as exc:
        print(f"error: {exc}", file=err)
        return ExitStatus.ERROR
    except Exception as exc:  # the last line of defence against a traceback
        if options.debug:
            traceback.print_exc(file=err)
        else:
            print(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=err)
        return ExitStatus.ERROR


def program(options: Options, out: TextIO, err: TextIO) -> ExitStatus:
    """The main program without error handling."""
    # Each mode, and the libraries it needs, is loaded only when it runs.
    if options.analyze:
        from monitor.cli.analyze import analyze_reports

        return analyze_reports(options, out, err)
    from monitor.output.console import Console

    if options.serve is not None:
        from monitor.cli.serve import serve  # prometheus_client only for the exporter

        return serve(options, Console(out, quiet=options.quiet))
    from monitor.cli.watch import watch

    return watch(options, Console(out, quiet=options.quiet))
