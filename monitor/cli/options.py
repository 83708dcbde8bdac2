"""Command-line parsing: argv in, one validated frozen Options out."""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn, Sequence

from monitor import __version__
from monitor.errors import UsageError
from monitor.metrics import HANDLES, MEMORY

DEFAULT_INTERVAL = "5"
# Below a millisecond the clock would only spin; beyond a year a run is a mistake (and overflows dates).
MIN_INTERVAL_S = Decimal("0.001")
MAX_DURATION_S = Decimal(365 * 24 * 3600)
DEFAULT_REPORTS_DIR = Path("output/reports")
DEFAULT_LOGS_DIR = Path("output/logs")
DEFAULT_WINDOW_S = 3600.0
# The options named in errors about the output directories.
REPORTS_OPTION = "-r/--reports-dir"
LOGS_OPTION = "-l/--logs-dir"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_TOLERANCE_PCT = 5.0
MAX_TOLERANCE_PCT = 1000.0


@dataclass(frozen=True)
class Options:
    """Everything a run needs to know, validated once."""

    process_names: tuple[str, ...]
    pid: int | None
    command: tuple[str, ...]
    duration_s: float
    interval_s: float
    sample_count: int
    reports_dir: Path
    logs_dir: Path
    include_children: bool = False
    debug: bool = False
    analyze: tuple[Path, ...] = ()
    json: bool = False
    quiet: bool = False
    plot: bool = True
    fail_on_leak: bool = False
    cmdline: str | None = None  # a regular expression matched against full command lines
    wide: bool = False
    serve: tuple[str, int] | None = None  # (host, port) of the Prometheus exporter
    window_s: float = DEFAULT_WINDOW_S
    per_pid: bool = False
    write_reports: bool = True  # the exporter writes report CSVs only when -r is given
    compare: tuple[Path, ...] = ()  # BASELINE CANDIDATE, or BASELINE alone to compare a new run with it
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT
    fail_on_regression: bool = False
    compare_plot: bool = False  # --plot with --compare: the chart of both runs
    # --min-leak-rate: (metric column, growth per hour) pairs; a metric left out keeps the default.
    min_leak_rates: tuple[tuple[str, float], ...] = ()

    @property
    def process_name(self) -> str | None:
        """The one -p name outside --serve (None without -p)."""
        return self.process_names[0] if self.process_names else None

    @property
    def window_samples(self) -> int:
        """How many of the most recent samples the exporter's verdicts look at."""
        return max(math.ceil(self.window_s / self.interval_s), 8) if self.interval_s else 0


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports errors as one exception instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def _seconds(text: str) -> Decimal:
    """Parse a finite positive number of seconds, keeping it exact for the sample count."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, got {text!r}")
    return value


def _duration(text: str) -> Decimal:
    """Parse -d: seconds from 0.001 up to one year."""
    value = _seconds(text)
    if not MIN_INTERVAL_S <= value <= MAX_DURATION_S:
        raise argparse.ArgumentTypeError(
            f"must be from {MIN_INTERVAL_S} to {MAX_DURATION_S} seconds (one year), got {text.strip()}"
        )
    return value


def _interval(text: str) -> Decimal:
    """Parse -s: seconds from 0.001 up to one year (and, checked later, up to the duration)."""
    value = _seconds(text)
    if not MIN_INTERVAL_S <= value <= MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"must be from {MIN_INTERVAL_S} seconds to the duration, got {text.strip()}")
    return value


def _percent(text: str) -> float:
    """Parse --tolerance: a finite percentage from 0 to MAX_TOLERANCE_PCT."""
    try:
        value = float(text.strip().removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage such as 5 or 2.5, got {text!r}") from None
    if not 0 <= value <= MAX_TOLERANCE_PCT:
        raise argparse.ArgumentTypeError(f"must be a percentage from 0 to {MAX_TOLERANCE_PCT:g}, got {text.strip()}")
    return value


def _pid(text: str) -> int:
    """Parse a process id."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or above, got {text!r}")
    return value


def program_name() -> str:
    """What the user typed to run us: 'main.py', or 'procmon' when installed."""
    return Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "main.py"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; --help is what the README documents."""
    parser = _Parser(
        prog=program_name(),
        description=(
            "Watch every process with a name (or one PID, or a command you launch) for a duration, "
            "sample CPU %, private memory (USS) and open handles/file descriptors, "
            "write a CSV report and a log, print averages and warn about memory leaks."
        ),
        epilog=f"Launch form: {program_name()} -d SECONDS [-s SECONDS] -- COMMAND [ARGS...]",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "-p",
        "--process",
        metavar="NAME",
        action="append",
        help="exact process name to monitor (every instance); with --serve it may be given several times",
    )
    target.add_argument("--pid", type=_pid, metavar="PID", help="monitor exactly this process id")
    target.add_argument(
        "--cmdline",
        type=_pattern,
        metavar="PATTERN",
        help="monitor every process whose full command line matches this regular expression (as pgrep -f)",
    )
    parser.add_argument(
        "-d",
        "--duration",
        type=_duration,
        metavar="SECONDS",
        help="how long to monitor, in seconds (0.001 up to 31536000, one year)",
    )
    parser.add_argument(
        "-s",
        "--sampling",
        type=_interval,
        metavar="SECONDS",
        help=f"seconds between samples (default {DEFAULT_INTERVAL}, at least {MIN_INTERVAL_S}); fractions allowed",
    )
    parser.add_argument(
        "-r",
        "--reports-dir",
        type=Path,
        metavar="DIR",
        help=f"where CSV reports go (default {DEFAULT_REPORTS_DIR}); created when missing",
    )
    parser.add_argument(
        "-l",
        "--logs-dir",
        type=Path,
        default=DEFAULT_LOGS_DIR,
        metavar="DIR",
        help=f"where log files go (default {DEFAULT_LOGS_DIR}); created when missing",
    )
    parser.add_argument(
        "--include-children", action="store_true", help="add every descendant of the monitored processes"
    )
    parser.add_argument(
        "--analyze",
        nargs="+",
        type=Path,
        metavar="REPORT",
        help="re-analyse saved CSV reports instead of monitoring (-p and -d not needed)",
    )
    parser.add_argument(
        "--compare",
        nargs="+",
        type=Path,
        metavar=("BASELINE", "CANDIDATE"),
        help="compare CANDIDATE.csv with BASELINE.csv, or a new run (-p, --pid, --cmdline or -- COMMAND, with -d) "
        "with BASELINE.csv: the change of each metric and a verdict",
    )
    parser.add_argument(
        "--tolerance",
        type=_percent,
        metavar="PCT",
        help=f"with --compare: a change within PCT%% of the level (or one quantum) is 'same' "
        f"(default {DEFAULT_TOLERANCE_PCT:g})",
    )
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="with --compare: exit with status 4 when CPU, private memory or handles is higher",
    )
    parser.add_argument(
        "--json", action="store_true", help="with --analyze: one JSON object per report per line; with --compare: one"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    parser.add_argument(
        "--wide", action="store_true", help="also show resident and swapped memory, threads, I/O and context switches"
    )
    parser.add_argument(
        "--serve",
        type=_address,
        metavar="[HOST:]PORT",
        help=f"run as a Prometheus exporter serving /metrics (host {DEFAULT_HOST} unless given) until stopped",
    )
    parser.add_argument(
        "--window",
        type=_seconds,
        metavar="SECONDS",
        help=f"with --serve: the leak verdicts look at this many seconds of samples (default {DEFAULT_WINDOW_S:g})",
    )
    parser.add_argument("--per-pid", action="store_true", help="with --serve: also label series with each PID")
    plot = parser.add_mutually_exclusive_group()
    plot.add_argument("--no-plot", action="store_true", help="do not write the PNG chart beside the report")
    plot.add_argument(
        "--plot",
        action="store_true",
        help="with --analyze: also write each report's PNG chart; with --compare: the chart of both runs",
    )
    parser.add_argument(
        "--fail-on-leak",
        action="store_true",
        help="exit with status 3 when the trend detector finds a memory or handle leak",
    )
    parser.add_argument(
        "--min-leak-rate",
        type=_leak_rate,
        action="append",
        metavar="RATE",
        help="the smallest growth called a leak, e.g. 5MiB/h for memory or 10/h for handles (once each); "
        "default: 5%% of the median over the run",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors and log every sample")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def parse_options(argv: Sequence[str]) -> Options:
    """Turn argv into Options, or raise UsageError with a one-line reason."""
    own_args, command = _split_command(list(argv))
    args = build_parser().parse_args(own_args)
    # Whether -r was given matters to the exporter, so its default is filled in here.
    reports_given = args.reports_dir is not None
    args.reports_dir = args.reports_dir if reports_given else DEFAULT_REPORTS_DIR
    # Whether -s was given decides how errors speak of it, so its default is filled in here too.
    args.sampling_given = args.sampling is not None
    args.sampling = args.sampling if args.sampling_given else Decimal(DEFAULT_INTERVAL)
    _check_compare(args, command)
    if args.compare is not None and len(args.compare) == 2:
        return Options(
            process_names=(),
            pid=None,
            command=(),
            duration_s=0.0,
            interval_s=0.0,
            sample_count=0,
            reports_dir=args.reports_dir,
            logs_dir=args.logs_dir,
            debug=args.debug,
            json=args.json,
            quiet=args.quiet,
            plot=False,
            compare=tuple(args.compare),
            tolerance_pct=_tolerance(args),
            fail_on_regression=args.fail_on_regression,
            compare_plot=args.plot,
        )
    if args.analyze:
        if command or args.process is not None or args.pid is not None or args.cmdline is not None:
            raise UsageError("--analyze reads saved reports; it takes no -p, --pid, --cmdline or command")
        return Options(
            process_names=(),
            pid=None,
            command=(),
            duration_s=0.0,
            interval_s=0.0,
            sample_count=0,
            reports_dir=args.reports_dir,
            logs_dir=args.logs_dir,
            debug=args.debug,
            analyze=tuple(args.analyze),
            json=args.json,
            quiet=args.quiet,
            plot=args.plot,
            fail_on_leak=args.fail_on_leak,
            min_leak_rates=_leak_rates(args.min_leak_rate),
        )
    if (args.json or args.plot) and args.compare is None:
        raise UsageError("--json and --plot go with --analyze REPORT.csv or --compare BASELINE.csv")
    names: tuple[str, ...] = tuple(args.process or ())
    _check_modes(args, names, command)
    # An exporter runs until it is stopped; a duration, when given, still ends it.
    duration: Decimal = args.duration if args.duration is not None else MAX_DURATION_S
    interval: Decimal = args.sampling
    if interval > duration:
        if args.sampling_given:
            raise UsageError(
                f"argument -s/--sampling: {interval} s is longer than the duration {duration} s, "
                "so no sample would be taken; use a sampling interval up to the duration"
            )
        raise UsageError(
            f"the sampling interval (default {interval} s) is longer than the duration {duration} s, "
            f"so no sample would be taken; give -s up to {duration} (fractions allowed), or -d of at least {interval}"
        )
    return Options(
        process_names=names,
        pid=args.pid,
        command=tuple(command),
        duration_s=float(duration),
        interval_s=float(interval),
        sample_count=math.floor(duration / interval),
        reports_dir=args.reports_dir,
        logs_dir=args.logs_dir,
        include_children=args.include_children,
        debug=args.debug,
        quiet=args.quiet,
        plot=not args.no_plot and args.serve is None,
        fail_on_leak=args.fail_on_leak,
        cmdline=args.cmdline,
        wide=args.wide,
        serve=args.serve,
        window_s=float(args.window) if args.window is not None else DEFAULT_WINDOW_S,
        per_pid=args.per_pid,
        write_reports=args.serve is None or reports_given,
        json=args.json,
        compare=tuple(args.compare or ()),
        tolerance_pct=_tolerance(args),
        fail_on_regression=args.fail_on_regression,
        compare_plot=args.plot,
        min_leak_rates=_leak_rates(args.min_leak_rate),
    )


def _tolerance(args: argparse.Namespace) -> float:
    return DEFAULT_TOLERANCE_PCT if args.tolerance is None else float(args.tolerance)


def _check_compare(args: argparse.Namespace, command: list[str]) -> None:
    """Usage errors of --compare and the options that go with it, one line each."""
    if args.compare is None:
        if args.tolerance is not None or args.fail_on_regression:
            given = "--tolerance" if args.tolerance is not None else "--fail-on-regression"
            raise UsageError(f"{given} goes with --compare BASELINE.csv: add --compare, or leave {given} out")
        return
    if args.analyze:
        raise UsageError("--analyze and --compare are two modes: give one of them")
    if args.serve is not None:
        raise UsageError("--serve runs until stopped and --compare compares finished runs: give one of them")
    if len(args.compare) > 2:
        raise UsageError(
            f"argument --compare: {len(args.compare)} files given; give BASELINE.csv CANDIDATE.csv, "
            "or BASELINE.csv and a run to watch"
        )
    live = command or args.process is not None or args.pid is not None or args.cmdline is not None
    if len(args.compare) == 2 and args.fail_on_leak:
        raise UsageError(
            "--fail-on-leak judges one run; --compare BASELINE.csv CANDIDATE.csv compares two: leave it out "
            "(--analyze CANDIDATE.csv --fail-on-leak judges a saved run)"
        )
    if len(args.compare) == 2 and live:
        raise UsageError(
            "--compare BASELINE.csv CANDIDATE.csv compares two saved reports and takes no -p, --pid, --cmdline "
            "or command; to compare a new run, give the baseline alone"
        )
    if len(args.compare) == 1 and not live:
        raise UsageError(
            "--compare BASELINE.csv needs a second run: give the candidate report after the baseline, "
            "or a run to watch (-p NAME, --pid PID, --cmdline PATTERN or -- COMMAND, with -d SECONDS)"
        )


def _check_modes(args: argparse.Namespace, names: tuple[str, ...], command: list[str]) -> None:
    """Usage errors of the target and mode options, one line each."""
    if args.serve is None and args.duration is None:
        raise UsageError("the following arguments are required: -d/--duration")
    if any(not name.strip() for name in names):
        raise UsageError("argument -p/--process: the process name is empty; give the name to monitor")
    if len(names) > 1 and args.serve is None:
        raise UsageError("argument -p/--process: give one name (several names go with --serve)")
    chosen = sum(1 for given in (names, args.pid is not None, args.cmdline is not None, command) if given)
    if chosen > 1:
        raise UsageError("give one of -p, --pid, --cmdline or a command after --, not several")
    if chosen == 0:
        raise UsageError("nothing to monitor: give -p NAME, --pid PID, --cmdline PATTERN or -- COMMAND (see --help)")
    if args.serve is None and (args.window is not None or args.per_pid):
        given = "--window" if args.window is not None else "--per-pid"
        raise UsageError(f"{given} goes with --serve [HOST:]PORT: add --serve, or leave {given} out")
    if args.serve is not None and args.fail_on_leak:
        raise UsageError("--fail-on-leak ends a run with status 3; an exporter serves procmon_leak: leave it out")
    if args.serve is not None and command:
        raise UsageError("--serve watches running processes: give -p, --pid or --cmdline, not a command after --")
    if args.window is not None and args.window < 8 * args.sampling:
        at = f"-s {args.sampling}" if args.sampling_given else f"the sampling interval (default {args.sampling} s)"
        raise UsageError(
            f"argument --window: {args.window} s holds fewer than 8 samples at {at}; "
            f"give a window of at least 8 sampling intervals ({float(8 * args.sampling):g} s), or a shorter -s"
        )


_SIZES = {"B": 1, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}
_PER = {"S": 3600.0, "MIN": 60.0, "H": 1.0, "D": 1 / 24}
_RATE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]iB|B)?\s*(?:/\s*(s|min|h|d))?", re.IGNORECASE)


def _leak_rate(text: str) -> tuple[str, float]:
    """Parse --min-leak-rate: a size per time for memory (5MiB/h), a count per time for handles (10/h)."""
    found = _RATE.fullmatch(text.strip())
    if not found:
        raise argparse.ArgumentTypeError(
            f"expected a growth per hour such as 5MiB/h (memory) or 10/h (handles), got {text!r}"
        )
    number, size, per = found.groups()
    rate = float(number) * _PER[(per or "h").upper()]
    if not (math.isfinite(rate) and rate > 0):
        raise argparse.ArgumentTypeError(f"must be a growth above 0, got {text!r}")
    return (MEMORY, rate * _SIZES[size.upper()]) if size else (HANDLES, rate)


def _leak_rates(given: list[tuple[str, float]] | None) -> tuple[tuple[str, float], ...]:
    """The --min-leak-rate values, at most one per metric."""
    rates = tuple(given or ())
    metrics = [metric for metric, _ in rates]
    if len(set(metrics)) != len(metrics):
        raise UsageError(
            "argument --min-leak-rate: given twice for the same metric; give it once with a size "
            "(memory, e.g. 5MiB/h) and once without (handles, e.g. 10/h)"
        )
    return rates


def _pattern(text: str) -> str:
    """A regular expression for --cmdline, checked now so that a typo is a usage error."""
    if not text:
        raise argparse.ArgumentTypeError("the pattern is empty; give a part of the command line to match")
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a valid regular expression ({exc})") from None
    return text


def _address(text: str) -> tuple[str, int]:
    """[HOST:]PORT for --serve; the host defaults to the loopback address, [::1]:PORT for IPv6."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host = DEFAULT_HOST
    host = host.strip("[]") or DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT, e.g. 9877 or 0.0.0.0:9877, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"the port must be from 1 to 65535, got {port}")
    return host, port


def _split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split 'OPTIONS -- COMMAND ARGS' so argparse never sees the command's own options."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    command = argv[cut + 1 :]
    if not command:
        raise UsageError("nothing after --: give the command to launch, e.g. -- python3 app.py")
    return argv[:cut], command
