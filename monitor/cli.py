"""Command-line entry: parse options, wire the layers, map every failure to one line and an exit status."""

from __future__ import annotations

import datetime
import json
import logging
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, TextIO

import psutil

from monitor import targets
from monitor.analysis import analyze, readme_heuristic, whole_run_series
from monitor.columns import DETAIL_COLUMNS, REPORT_COLUMNS
from monitor.options import Options, parse_options
from monitor.paths import claim_files, prepare_dir, run_stem
from monitor.recorder import CsvStream, read_detail, read_report
from monitor.report import Summary, format_summary, summary_json
from monitor.session import EndReason, RunResult, Session, finish_command
from monitor.status import ExitStatus, MonitorError, UsageError
from monitor.stopping import StopSignals

REPORT_SUFFIX = ".csv"
DETAIL_SUFFIX = "_processes.csv"
LOG_SUFFIX = ".log"


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


@dataclass(frozen=True)
class _Target:
    """How to find the roots to watch, and what to call them."""

    find_roots: Callable[[], list[psutil.Process]]
    name: str
    label: str
    missing: str


def _resolve_target(options: Options, launched: subprocess.Popen[bytes] | None) -> _Target:
    if launched is not None:
        name = Path(options.command[0]).name
        return _Target(targets.by_pid(launched.pid), name, f"command '{' '.join(options.command)}'", "")
    if options.pid is not None:
        try:
            name = psutil.Process(options.pid).name()
        except psutil.NoSuchProcess:
            raise MonitorError(f"No process with PID {options.pid}; check the PID (ps, Task Manager)") from None
        except psutil.AccessDenied:
            name = f"pid{options.pid}"
        return _Target(targets.by_pid(options.pid), name, f"pid {options.pid} ('{name}')", "")
    name = options.process_name or ""
    return _Target(
        targets.by_name(name),
        name,
        f"'{name}'",
        f"No running process named '{name}'; check the name (it must match exactly, as ps or Task Manager shows it)",
    )


def _launch(command: tuple[str, ...]) -> subprocess.Popen[bytes]:
    try:
        return targets.launch(command)
    except OSError as exc:
        raise MonitorError(f"cannot start command '{command[0]}': {exc.strerror or exc}") from None


def program(options: Options, out: TextIO, err: TextIO) -> ExitStatus:
    """The main program without error handling."""
    if options.analyze:
        return analyze_reports(options.analyze, options.json, out, err)
    started = datetime.datetime.now().astimezone()
    reports_dir = prepare_dir(options.reports_dir, "reports", "-r/--reports-dir")
    logs_dir = prepare_dir(options.logs_dir, "logs", "-l/--logs-dir")
    launched = _launch(options.command) if options.command else None
    try:
        target = _resolve_target(options, launched)
        paths = claim_files(
            run_stem(target.name, started),
            {REPORT_SUFFIX: reports_dir, DETAIL_SUFFIX: reports_dir, LOG_SUFFIX: logs_dir},
        )
        with _run_log(paths[LOG_SUFFIX]) as log:
            return _monitor(options, target, paths, log, launched, out)
    finally:
        if launched is not None and launched.poll() is None:
            launched.kill()
            launched.wait()


def _monitor(
    options: Options,
    target: _Target,
    paths: dict[str, Path],
    log: logging.Logger,
    launched: subprocess.Popen[bytes] | None,
    out: TextIO,
) -> ExitStatus:
    def echo(line: str) -> None:
        print(line, file=out, flush=True)

    log.info("options: %s", options)
    watched = targets.TargetSet(target.find_roots, include_children=options.include_children or launched is not None)
    report = CsvStream(paths[REPORT_SUFFIX], REPORT_COLUMNS)
    detail = CsvStream(paths[DETAIL_SUFFIX], DETAIL_COLUMNS)
    try:
        session = Session(watched, report, detail, log, echo, launched)
        with StopSignals() as stop:
            try:
                first = session.start()
            except MonitorError as exc:
                log.error("%s", exc)
                raise
            if not first:
                message = target.missing or f"{target.label} has already exited"
                log.error(message)
                for suffix in (REPORT_SUFFIX, DETAIL_SUFFIX):
                    paths[suffix].unlink()
                raise MonitorError(message)
            pids = ", ".join(str(r.pid) for r in first)
            echo(
                f"Monitoring {target.label} (pids {pids}) for {options.duration_s:g} s, "
                f"sampling every {options.interval_s:g} s -> {paths[REPORT_SUFFIX]}"
            )
            log.info("watching %s: pids %s", target.label, pids)
            result = session.run(options.interval_s, options.sample_count, stop)
    finally:
        report.close()
        detail.close()
    if launched is not None:
        result.command_status, sentence = finish_command(launched, log)
        result.notes.append(sentence)
    for line in _summary_lines(target, result, paths[DETAIL_SUFFIX]):
        echo(line)
        log.info(line)
    echo(f"Report: {paths[REPORT_SUFFIX]}")
    echo(f"Log:    {paths[LOG_SUFFIX]}")
    if result.error is not None:
        raise MonitorError(result.error)
    if result.signal_status is not None:
        return result.signal_status
    return ExitStatus.SUCCESS


def _summary_lines(target: _Target, result: RunResult, detail_path: Path) -> list[str]:
    samples = len(result.frame)
    analysis = analyze(result.frame, result.headroom)
    per_process = {}
    if len(result.processes) > 1 and samples:
        # Whole-DataFrame work, once, at the end: the detail rows were only ever streamed to disk.
        for pid, series in whole_run_series(read_detail(detail_path), samples).items():
            per_process[pid] = (result.processes[pid], readme_heuristic(series))
    summary = Summary(target.label, analysis, list(result.processes), per_process)
    lines = [f"Stopped: {result.end_reason.value}" if result.end_reason is not EndReason.DURATION else ""]
    lines += result.notes
    lines += format_summary(summary)
    return [line for line in lines if line]


def analyze_reports(paths: Sequence[Path], as_json: bool, out: TextIO, err: TextIO) -> ExitStatus:
    """Print the summary (or a JSON line) of each saved report; a bad file is reported and skipped."""
    status = ExitStatus.SUCCESS
    for path in paths:
        try:
            analysis = analyze(read_report(path))
        except MonitorError as exc:
            print(f"error: {exc}", file=err)
            status = ExitStatus.ERROR
            continue
        if as_json:
            print(json.dumps({"file": str(path), **summary_json(analysis)}), file=out)
        else:
            for line in format_summary(Summary(f"'{path}'", analysis)):
                print(line, file=out)
    return status


class _run_log:  # noqa: N801 - used as a context manager like open()
    """A logger writing to this run's log file, detached again on exit."""

    def __init__(self, path: Path) -> None:
        self._handler = logging.FileHandler(path, encoding="utf-8")
        self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.logger = logging.getLogger(f"monitor.run.{path.stem}")
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False

    def __enter__(self) -> logging.Logger:
        self.logger.addHandler(self._handler)
        return self.logger

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self._handler)
        self._handler.close()
