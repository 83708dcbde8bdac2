"""The monitoring mode: find the targets, stream samples to the sinks, then write the summary, JSON and chart."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import subprocess
from pathlib import Path
from typing import Any, Callable

import psutil

from monitor.analysis.summary import RunAnalysis, analyze
from monitor.cli.options import Options
from monitor.cli.status import ExitStatus, status_for_signal
from monitor.errors import MonitorError
from monitor.output.console import Console, ConsoleSink
from monitor.output.csv_report import DetailSink, ReportSink
from monitor.output.files import (
    CHART_SUFFIX,
    DETAIL_SUFFIX,
    JSON_SUFFIX,
    LOG_SUFFIX,
    REPORT_SUFFIX,
    claim_files,
    prepare_dir,
    run_stem,
)
from monitor.output.frame import FrameSink
from monitor.output.log import LogSink, run_log
from monitor.output.summary_json import summary_document, write_json
from monitor.output.summary_text import Summary, format_summary
from monitor.sampling import targets
from monitor.sampling.session import EndReason, RunResult, Session, Sink, finish_command
from monitor.sampling.signals import StopSignals


@dataclasses.dataclass(frozen=True)
class Target:
    """How to find the roots to watch, and what to call them."""

    find_roots: Callable[[], list[psutil.Process]]
    name: str
    label: str
    missing: str


def watch(options: Options, console: Console) -> ExitStatus:
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
            frame_sink = FrameSink()
            result = _sample(options, target, paths, log, launched, console, frame_sink)
            if launched is not None:
                result.command_status, sentence = finish_command(launched)
                log.info(sentence)
                result.notes.append(sentence)
            return _finish(options, target, paths, result, frame_sink, log, console)
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
    frame_sink: FrameSink,
) -> RunResult:
    log.info("options: %s", options)
    watched = targets.TargetSet(target.find_roots, include_children=options.include_children or launched is not None)
    # Memory first, then disk: a failed write still leaves the sample in the summary.
    sinks: list[Sink] = [frame_sink, ReportSink(paths[REPORT_SUFFIX]), DetailSink(paths[DETAIL_SUFFIX]), LogSink(log)]
    try:
        session = Session(watched, launched)
        with StopSignals() as stop:
            try:
                first = session.start()
            except MonitorError as exc:
                log.error("%s", exc)
                raise
            if not first:
                message = target.missing or f"{target.label} has already exited"
                log.error(message)
                _close(sinks)
                for suffix in (REPORT_SUFFIX, DETAIL_SUFFIX):
                    paths[suffix].unlink()
                raise MonitorError(message)
            pids = ", ".join(str(r.pid) for r in first)
            console.line(
                f"Monitoring {target.label} (pids {pids}) for {options.duration_s:g} s, "
                f"sampling every {options.interval_s:g} s -> {paths[REPORT_SUFFIX]}"
            )
            log.info("watching %s: pids %s", target.label, pids)
            if not console.quiet:
                sinks.append(ConsoleSink(console, options.interval_s, options.duration_s, options.sample_count))
            result = session.run(options.interval_s, options.sample_count, sinks, stop)
    finally:
        _close(sinks)
    if result.clock.missed:
        log.warning("%d ticks missed: the machine stalled for over half an interval", result.clock.missed)
    if result.error is not None:
        log.error(result.error)
    return result


def _close(sinks: list[Sink]) -> None:
    for sink in sinks:
        sink.close()


def _finish(
    options: Options,
    target: Target,
    paths: dict[str, Path],
    result: RunResult,
    frame_sink: FrameSink,
    log: logging.Logger,
    console: Console,
) -> ExitStatus:
    """Print and log the summary, write the JSON summary and the chart, and choose the exit status."""
    frame = frame_sink.frame()
    analysis = analyze(frame, result.headroom)
    per_process = frame_sink.whole_run_verdicts() if len(result.processes) > 1 else {}
    summary = Summary(target.label, analysis, list(result.processes), per_process)
    lines = [] if result.end_reason is EndReason.DURATION else [f"Stopped: {result.end_reason.value}"]
    for line in lines + result.notes + format_summary(summary):
        console.summary(line)
        log.info(line)
    stem = paths[REPORT_SUFFIX].with_suffix("")
    written = [paths[REPORT_SUFFIX], paths[LOG_SUFFIX]]
    errors = [] if result.error is None else [result.error]
    try:
        json_path = stem.with_suffix(JSON_SUFFIX)
        write_json(
            json_path,
            summary_document(paths[REPORT_SUFFIX], analysis, run_facts(options, target, paths, result, analysis)),
        )
        written.append(json_path)
        if options.plot and len(frame):
            from monitor.output.chart import write_chart  # matplotlib only when a chart is drawn

            chart_path = stem.with_suffix(CHART_SUFFIX)
            title = f"{target.label}, {result.started_at:%Y-%m-%d %H:%M:%S}, every {options.interval_s:g} s"
            write_chart(frame, analysis, title, chart_path)
            written.append(chart_path)
    except OSError as exc:
        errors.append(f"writing the summary files failed ({exc.strerror or exc})")
    for path in written:
        console.summary(f"Wrote {path}")
    if errors:
        log.error(errors[-1])
        raise MonitorError("; ".join(errors))
    if result.stop_signal is not None:
        return status_for_signal(result.stop_signal)
    if options.fail_on_leak and analysis.leak_found:
        return ExitStatus.LEAK_FOUND
    return ExitStatus.SUCCESS


def run_facts(
    options: Options, target: Target, paths: dict[str, Path], result: RunResult, analysis: RunAnalysis
) -> dict[str, Any]:
    """What the JSON summary of a live run adds to that of a saved report."""
    clock = result.clock
    return {
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
