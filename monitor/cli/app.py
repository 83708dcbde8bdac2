"""Command-line entry: take over the stop signals, parse options, run, map every failure to one line and a status.

Loading this module loads only the signal handling: main() takes over the stop signals first and
then loads the options and the mode that runs (pandas with it), so that a signal at any moment of
start-up ends the program cleanly, and --help or a usage error answers without the heavy libraries.
"""

from __future__ import annotations

import os
import sys

from monitor.sampling.signals import EndOnSignals, Stopped, loading, signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Sequence, TextIO

    from monitor.cli.options import Options
    from monitor.cli.status import ExitStatus


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the monitor and return its exit status; errors become one line on stderr, a stop signal its status."""
    ending = EndOnSignals()
    # Started with stdout or stderr closed (`>&-`): print nothing there, and still sample and write the files.
    err = _or_nowhere(stderr or sys.stderr)
    out = _or_nowhere(stdout or sys.stdout)
    try:
        ending.install()
        return _main(argv, out, err)
    except Stopped as stop:
        import contextlib  # later signals are ignored: these load whole

        from monitor.cli.status import status_for_signal

        with contextlib.suppress(OSError, ValueError):  # the terminal may be gone (SIGHUP): the status matters
            print(f"stopped by {signal_name(stop.signum)}", file=err)
        return status_for_signal(stop.signum)
    finally:
        ending.restore()


def _or_nowhere(stream: TextIO | None) -> TextIO:
    """The stream, or for a closed one (None) the null device, open for the rest of the process."""
    return stream if stream is not None else open(os.devnull, "w")


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    with loading():
        import traceback

        from monitor.cli.options import parse_options, program_name
        from monitor.cli.status import ExitStatus
        from monitor.errors import MonitorError, UsageError
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
    except ModuleNotFoundError as exc:
        print(
            f"error: the Python package '{exc.name}' is missing; install the requirements into the Python that "
            f"runs the monitor ({sys.executable} -m pip install -r requirements.txt), or run it with the virtual "
            "environment's python",
            file=err,
        )
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
    from monitor.cli.options import AnalyzeOptions, CompareOptions, ServeOptions

    if isinstance(options, CompareOptions):
        with loading():
            from monitor.cli.compare import compare
        return compare(options, out, err)
    if isinstance(options, AnalyzeOptions):
        with loading():
            from monitor.cli.analyze import analyze_reports
        return analyze_reports(options, out, err)
    with loading():
        from monitor.output.console import Console
    console = Console(out, quiet=options.quiet)
    if isinstance(options, ServeOptions):
        with loading():
            from monitor.cli.serve import serve  # prometheus_client only for the exporter
        return serve(options, console)
    with loading():
        from monitor.cli.watch import watch
    return watch(options, console)
