"""What the command line asks for: argv in, the options of exactly one mode out, validated and frozen.

Four modes, one class each: a monitoring run (WatchOptions), the exporter (ServeOptions), the
re-analysis of saved reports (AnalyzeOptions) and a comparison (CompareOptions, whose candidate is
a saved report or a monitoring run made now). Each holds only what its mode uses.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Sequence, Union

from monitor.cli.arguments import (
    DEFAULT_INTERVAL,
    DEFAULT_LOGS_DIR,
    DEFAULT_REPORTS_DIR,
    DEFAULT_TOLERANCE_PCT,
    DEFAULT_WINDOW_S,
    MAX_DURATION_S,
    build_parser,
    program_name,
)
from monitor.errors import UsageError

__all__ = ["program_name"]  # re-exported: the entry point names the program in its errors

# The options named in errors about the output directories.
REPORTS_OPTION = "-r/--reports-dir"
LOGS_OPTION = "-l/--logs-dir"

# --min-leak-rate: (metric column, growth per hour) pairs; a metric left out keeps the default.
LeakRates = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Selection:
    """What to watch: one -p NAME (several with --serve), --pid, --cmdline or a command to launch."""

    process_names: tuple[str, ...] = ()
    pid: int | None = None
    cmdline: str | None = None  # a regular expression matched against full command lines
    command: tuple[str, ...] = ()
    include_children: bool = False

    @property
    def process_name(self) -> str | None:
        """The one -p name of a monitoring run (None without -p)."""
        return self.process_names[0] if self.process_names else None


@dataclass(frozen=True)
class WatchOptions:
    """A monitoring run: sample for -d seconds, then write the summary, JSON and chart."""

    selection: Selection
    duration_s: float
    interval_s: float
    sample_count: int
    reports_dir: Path
    logs_dir: Path
    min_leak_rates: LeakRates = ()
    plot: bool = True
    fail_on_leak: bool = False
    wide: bool = False
    quiet: bool = False
    debug: bool = False


@dataclass(frozen=True)
class ServeOptions:
    """The exporter: sample until stopped (or -d) and serve /metrics."""

    selection: Selection
    address: tuple[str, int]  # (host, port)
    duration_s: float
    interval_s: float
    sample_count: int
    logs_dir: Path
    reports_dir: Path | None  # None: no report CSVs (only -r asks for them)
    window_s: float = DEFAULT_WINDOW_S
    per_pid: bool = False
    min_leak_rates: LeakRates = ()
    quiet: bool = False
    debug: bool = False


@dataclass(frozen=True)
class AnalyzeOptions:
    """--analyze: re-read saved reports and print (or write) what a run would have said."""

    reports: tuple[Path, ...]
    json: bool = False
    plot: bool = False
    fail_on_leak: bool = False
    min_leak_rates: LeakRates = ()
    quiet: bool = False
    debug: bool = False


@dataclass(frozen=True)
class CompareOptions:
    """--compare: a baseline report against a saved candidate report, or against a run made now."""

    baseline: Path
    candidate: Path | WatchOptions
    json: bool = False
    plot: bool = False  # the chart of both runs
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT
    fail_on_regression: bool = False
    quiet: bool = False
    debug: bool = False


Options = Union[WatchOptions, ServeOptions, AnalyzeOptions, CompareOptions]


def described(options: Options) -> str:
    """The options in one line for the log: `name=value` for each one that is set, the target first."""
    fields = dataclasses.asdict(options)
    return _pairs({**fields.pop("selection", {}), **fields})


def _pairs(fields: dict[str, object]) -> str:
    return " ".join(f"{name}={_shown(value)}" for name, value in fields.items() if value not in (None, (), False, {}))


def _shown(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(_shown(item) for item in value)
    if isinstance(value, dict):  # a comparison's candidate run
        return f"({_pairs(value)})"
    return str(value)


def parse_options(argv: Sequence[str]) -> Options:
    """Turn argv into the options of one mode, or raise UsageError with a one-line reason."""
    own_args, command = _split_command(list(argv))
    _check_no_separator_as_value(own_args)
    args = build_parser().parse_args(own_args)
    # Whether -s was given decides how errors speak of it, so its default is filled in here.
    args.sampling_given = args.sampling is not None
    args.sampling = args.sampling if args.sampling_given else Decimal(DEFAULT_INTERVAL)
    _check_compare(args, command)
    if args.analyze or (args.compare is not None and len(args.compare) == 2):
        _check_saved_only(args)
    logs_dir = args.logs_dir or DEFAULT_LOGS_DIR
    if args.compare is not None and len(args.compare) == 2:
        return _comparison(args, args.compare[1])
    if args.analyze:
        if command or args.process is not None or args.pid is not None or args.cmdline is not None:
            raise UsageError("--analyze reads saved reports; it takes no -p, --pid, --cmdline or command")
        return AnalyzeOptions(
            tuple(args.analyze),
            json=args.json,
            plot=args.plot,
            fail_on_leak=args.fail_on_leak,
            min_leak_rates=_leak_rates(args.min_leak_rate),
            quiet=args.quiet,
            debug=args.debug,
        )
    if (args.json or args.plot) and args.compare is None:
        raise UsageError("--json and --plot go with --analyze REPORT.csv or --compare BASELINE.csv")
    names: tuple[str, ...] = tuple(args.process or ())
    _check_modes(args, names, command)
    selection = Selection(names, args.pid, args.cmdline, tuple(command), args.include_children)
    # An exporter runs until it is stopped; a duration, when given, still ends it.
    duration: Decimal = args.duration if args.duration is not None else MAX_DURATION_S
    interval: Decimal = args.sampling
    _check_interval(interval, duration, args.sampling_given)
    duration_s, interval_s, sample_count = float(duration), float(interval), math.floor(duration / interval)
    if args.serve is not None:
        return ServeOptions(
            selection,
            args.serve,
            duration_s,
            interval_s,
            sample_count,
            logs_dir=logs_dir,
            reports_dir=args.reports_dir,
            window_s=float(args.window) if args.window is not None else DEFAULT_WINDOW_S,
            per_pid=args.per_pid,
            min_leak_rates=_leak_rates(args.min_leak_rate),
            quiet=args.quiet,
            debug=args.debug,
        )
    watch = WatchOptions(
        selection,
        duration_s,
        interval_s,
        sample_count,
        reports_dir=args.reports_dir or DEFAULT_REPORTS_DIR,
        logs_dir=logs_dir,
        min_leak_rates=_leak_rates(args.min_leak_rate),
        plot=not args.no_plot,
        fail_on_leak=args.fail_on_leak,
        wide=args.wide,
        quiet=args.quiet,
        debug=args.debug,
    )
    if args.compare is not None:
        return _comparison(args, watch)
    return watch


def _comparison(args: argparse.Namespace, candidate: Path | WatchOptions) -> CompareOptions:
    """The options of a comparison, whatever its candidate."""
    return CompareOptions(
        args.compare[0],
        candidate,
        json=args.json,
        plot=args.plot,
        tolerance_pct=DEFAULT_TOLERANCE_PCT if args.tolerance is None else float(args.tolerance),
        fail_on_regression=args.fail_on_regression,
        quiet=args.quiet,
        debug=args.debug,
    )


# What only a run uses, which a mode reading saved reports would silently ignore.
_RUN_ONLY = {
    "duration": "-d",
    "sampling_given": "-s",
    "reports_dir": "-r",
    "logs_dir": "-l",
    "include_children": "--include-children",
    "wide": "--wide",
    "serve": "--serve",
    "per_pid": "--per-pid",
}


def _check_saved_only(args: argparse.Namespace) -> None:
    """--analyze and --compare of two reports sample nothing: an option of a run is a mistake, said once."""
    given = [option for name, option in _RUN_ONLY.items() if getattr(args, name) not in (None, False)]
    if given:
        mode = "--analyze" if args.analyze else "--compare BASELINE.csv CANDIDATE.csv"
        raise UsageError(
            f"{mode} reads saved reports and samples nothing: leave out {', '.join(given)}"
            f" ({'it applies' if len(given) == 1 else 'they apply'} to a run)"
        )


def _check_interval(interval: Decimal, duration: Decimal, given: bool) -> None:
    """A sampling interval longer than the duration would take no sample: say which option to change."""
    if interval <= duration:
        return
    if given:
        raise UsageError(
            f"argument -s/--sampling: {interval} s is longer than the duration {duration} s, "
            "so no sample would be taken; use a sampling interval up to the duration"
        )
    raise UsageError(
        f"the sampling interval (default {interval} s) is longer than the duration {duration} s, "
        f"so no sample would be taken; give -s up to {duration} (fractions allowed), or -d of at least {interval}"
    )


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
    chosen = sum(1 for given in (names, args.pid is not None, args.cmdline is not None, command) if given)
    if args.serve is None and args.duration is None:
        if chosen == 0:
            raise UsageError(
                "nothing to monitor: give -p NAME, --pid PID, --cmdline PATTERN or -- COMMAND, and -d SECONDS "
                "(see --help)"
            )
        raise UsageError("the following arguments are required: -d/--duration")
    if any(not name.strip() for name in names):
        raise UsageError("argument -p/--process: the process name is empty; give the name to monitor")
    if len(names) > 1 and args.serve is None:
        raise UsageError("argument -p/--process: give one name (several names go with --serve)")
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


# An option whose value is written attached and is "--" (-s--, --min-leak-rate=--).
_SEPARATOR_AS_VALUE = re.compile(r"(-[A-Za-z]=?|--[A-Za-z][\w-]*=)--")


def _check_no_separator_as_value(args: list[str]) -> None:
    """UsageError for a value that is "--": argparse would drop it and hand on an empty list."""
    for arg in args:
        found = _SEPARATOR_AS_VALUE.fullmatch(arg)
        if found:
            option = found.group(1).rstrip("=")
            raise UsageError(
                f"argument {option}: '--' is not a value; give one, and put -- only before a command to launch"
            )


def _split_command(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split 'OPTIONS -- COMMAND ARGS' so argparse never sees the command's own options."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    command = argv[cut + 1 :]
    if not command:
        raise UsageError("nothing after --: give the command to launch, e.g. -- python3 app.py")
    return argv[:cut], command
