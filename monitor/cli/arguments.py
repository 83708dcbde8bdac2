"""The argument parser and the parsers of each option's value: text in, a checked value or an argparse error out."""

from __future__ import annotations

import argparse
import math
import re
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn

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
DEFAULT_HOST = "127.0.0.1"
DEFAULT_TOLERANCE_PCT = 5.0
MAX_TOLERANCE_PCT = 1000.0


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


def _directory(text: str) -> Path:
    """A directory for -r or -l; an empty one (an unset shell variable) would scatter files in the working directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the directory is empty; give a folder, e.g. output/reports")
    return Path(text)


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
        type=_directory,
        metavar="DIR",
        help=f"where CSV reports go (default {DEFAULT_REPORTS_DIR}); created when missing",
    )
    parser.add_argument(
        "-l",
        "--logs-dir",
        type=_directory,
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


_SIZES = {"B": 1, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}
_PER = {"S": 3600.0, "MIN": 60.0, "H": 1.0, "D": 1 / 24}
_RATE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]iB|B)?\s*/\s*(s|min|h|d)", re.IGNORECASE)


def _leak_rate(text: str) -> tuple[str, float]:
    """Parse --min-leak-rate: a size per time for memory (5MiB/h), a count per time for handles (10/h)."""
    found = _RATE.fullmatch(text.strip())
    if not found:
        # A rate without its time (5MiB) would be read as per hour by some and per second by others.
        raise argparse.ArgumentTypeError(
            f"expected a growth per time such as 5MiB/h (memory) or 10/h (handles), with /s, /min, /h or /d, "
            f"got {text!r}"
        )
    number, size, per = found.groups()
    rate = float(number) * _PER[per.upper()]
    if not (math.isfinite(rate) and rate > 0):
        raise argparse.ArgumentTypeError(f"must be a growth above 0, got {text!r}")
    return (MEMORY, rate * _SIZES[size.upper()]) if size else (HANDLES, rate)


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
