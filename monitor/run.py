"""The monitoring program: find the targets, run the session, then write the summary, JSON and chart."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import psutil

from monitor import targets
from monitor.analysis import RunAnalysis, analyze, readme_heuristic, whole_run_series
from monitor.columns import DETAIL_COLUMNS, REPORT_COLUMNS
from monitor.console import Console
from monitor.options import Options
from monitor.paths import claim_files, prepare_dir, run_stem
from monitor.recorder import CsvStream, read_detail
from monitor.report import Summary, format_summary, summary_json
from monitor.session import EndReason, RunResult, Session, finish_command
from monitor.status import ExitStatus, MonitorError
from monitor.stopping import StopSignals

# Per-sample log records need no thread, process or caller details; skipping them (the logging
# HOWTO's "Optimization" section) takes a third off each record's cost.
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False
logging._srcfile = None

REPORT_SUFFIX = ".csv"
DETAIL_SUFFIX = "_processes.csv"
LOG_SUFFIX = ".log"
JSON_SUFFIX = ".json"
CHART_SUFFIX = ".png"


@dataclasses.dataclass(frozen=True)
class Target:
    """How to find the roots to watch, and what to call them."""

    find_roots: Callable[[], list[psutil.Process]]
    name: str
    label: str
    missing: str


def monitor(options: Options, console: Console) -> ExitStatus:
    """Monitor what the options name and write every output; MonitorError for what the user can fix."""
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
        with run_log(paths[LOG_SUFFIX]) as log:
            result = _sample(options, target, paths, log, launched, console)
            if launched is not None:
                result.command_status, sentence = finish_command(launched, log)
                result.notes.append(sentence)
            return _finish(options, target, paths, result, log, console)
    finally:
        if launched is not None and launched.poll() is None:
            launched.kill()
            launched.wait()


def _launch(command: tuple[str, ...]) -> subprocess.Popen[bytes]:
    try:
        return targets.launch(command)
    except OSError as exc:
        raise MonitorError(f"cannot start command '{command[0]}': {exc.strerror or exc}") from None


def _resolve_target(options: Options, launched: subprocess.Popen[bytes] | None) -> Target:
    if launched is not None:
        name = Path(options.command[0]).name
        return Target(targets.by_pid(launched.pid), name, f"command '{' '.join(options.command)}'", "")
    if options.pid is not None:
        try:
            name = psutil.Process(options.pid).name()
        except psutil.NoSuchProcess:
            raise MonitorError(f"No process with PID {options.pid}; check the PID (ps, Task Manager)") from None
        except psutil.AccessDenied:
            name = f"pid{options.pid}"
        return Target(targets.by_pid(options.pid), name, f"pid {options.pid} ('{name}')", "")
    name = options.process_name or ""
    return Target(
        targets.by_name(name),
        name,
        f"'{name}'",
        f"No running process named '{name}'; check the name (it must match exactly, as ps or Task Manager shows it)",
    )


def _sample(
    options: Options,
    target: Target,
    paths: dict[str, Path],
    log: logging.Logger,
    launched: subprocess.Popen[bytes] | None,
    console: Console,
) -> RunResult:
    log.info("options: %s", options)
    watched = targets.TargetSet(target.find_roots, include_children=options.include_children or launched is not None)
    report = CsvStream(paths[REPORT_SUFFIX], REPORT_COLUMNS)
    # The detail rows repeat the report's per process: pushed to disk once a second is enough.
    detail = CsvStream(paths[DETAIL_SUFFIX], DETAIL_COLUMNS, flush_every_s=1.0)
    try:
        session = Session(watched, report, detail, log, console, launched)
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
            console.line(
                f"Monitoring {target.label} (pids {pids}) for {options.duration_s:g} s, "
                f"sampling every {options.interval_s:g} s -> {paths[REPORT_SUFFIX]}"
            )
            log.info("watching %s: pids %s", target.label, pids)
            return session.run(options.interval_s, options.sample_count, options.duration_s, stop)
    finally:
        report.close()
        detail.close()


def _finish(
    options: Options,
    target: Target,
    paths: dict[str, Path],
    result: RunResult,
    log: logging.Logger,
    console: Console,
) -> ExitStatus:
    """Print and log the summary, write the JSON summary and the chart, and choose the exit status."""
    analysis = analyze(result.frame, result.headroom)
    for line in _summary_lines(target, result, analysis, paths[DETAIL_SUFFIX]):
        console.summary(line)
        log.info(line)
    stem = paths[REPORT_SUFFIX].with_suffix("")
    written = [paths[REPORT_SUFFIX], paths[LOG_SUFFIX]]
    errors = [] if result.error is None else [result.error]
    try:
        json_path = stem.with_suffix(JSON_SUFFIX)
        document = run_document(options, target, paths, result, analysis)
        json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        written.append(json_path)
        if options.plot and len(result.frame):
            from monitor.chart import write_chart  # matplotlib only when a chart is drawn

            chart_path = stem.with_suffix(CHART_SUFFIX)
            title = f"{target.label}, {result.started_at:%Y-%m-%d %H:%M:%S}, every {options.interval_s:g} s"
            write_chart(result.frame, analysis, title, chart_path)
            written.append(chart_path)
    except OSError as exc:
        errors.append(f"writing the summary files failed ({exc.strerror or exc})")
    for path in written:
        console.summary(f"Wrote {path}")
    if errors:
        log.error(errors[-1])
        raise MonitorError("; ".join(errors))
    if result.signal_status is not None:
        return result.signal_status
    if options.fail_on_leak and analysis.leak_found:
        return ExitStatus.LEAK_FOUND
    return ExitStatus.SUCCESS


def _summary_lines(target: Target, result: RunResult, analysis: RunAnalysis, detail_path: Path) -> list[str]:
    samples = analysis.samples
    per_process = {}
    if len(result.processes) > 1 and samples:
        # Whole-DataFrame work, once, at the end: the detail rows were only ever streamed to disk.
        for pid, series in whole_run_series(read_detail(detail_path), samples).items():
            per_process[pid] = (result.processes[pid], readme_heuristic(series))
    summary = Summary(target.label, analysis, list(result.processes), per_process)
    lines = [] if result.end_reason is EndReason.DURATION else [f"Stopped: {result.end_reason.value}"]
    return lines + result.notes + format_summary(summary)


def run_document(
    options: Options, target: Target, paths: dict[str, Path], result: RunResult, analysis: RunAnalysis
) -> dict[str, Any]:
    """The JSON summary of a run: the --analyze --json object plus the run's own facts."""
    clock = result.clock
    return {
        "file": str(paths[REPORT_SUFFIX]),
        **summary_json(analysis),
        "target": target.label,
        "options": {key: _plain(value) for key, value in dataclasses.asdict(options).items()},
        "started_at": result.started_at.isoformat(timespec="milliseconds"),
        "ended_at": result.ended_at.isoformat(timespec="milliseconds"),
        "end_reason": result.end_reason.value,
        "pids": {str(pid): name for pid, name in result.processes.items()},
        "command_status": result.command_status,
        "sampling": {
            "interval_s": options.interval_s,
            "planned_samples": clock.planned,
            "actual_samples": analysis.samples,
            "max_lateness_s": round(clock.max_lateness_s, 6),
            "ticks_missed": clock.missed,
        },
        "files": {
            "report": str(paths[REPORT_SUFFIX]),
            "processes": str(paths[DETAIL_SUFFIX]),
            "log": str(paths[LOG_SUFFIX]),
        },
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


class _LogFile(logging.FileHandler):
    """A log file that flushes notes and errors at once, per-sample lines at most once a second.

    Every sample is also in the CSV, flushed as it is taken; a flush of the log per sample would
    cost a system call per tick for nothing a crash could lose.
    """

    FLUSH_EVERY_S = 1.0

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self._urgent = True
        self._last_flush = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        self._urgent = record.levelno >= logging.INFO
        super().emit(record)

    def flush(self) -> None:
        now = time.monotonic()
        if self._urgent or now - self._last_flush >= self.FLUSH_EVERY_S:
            super().flush()
            self._last_flush = now

    def close(self) -> None:
        self._urgent = True
        super().close()


@contextlib.contextmanager
def run_log(path: Path) -> Iterator[logging.Logger]:
    """A logger writing to this run's log file, detached again on exit."""
    handler = _LogFile(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger(f"monitor.run.{path.stem}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()
