"""The monitoring mode: find the targets, stream samples to the sinks, then write the summary, JSON and chart."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import subprocess
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from monitor.analysis.summary import RunAnalysis, analyze
from monitor.cli.memory_breakdown import MemoryBreakdown
from monitor.cli.options import LOGS_OPTION, REPORTS_OPTION, WatchOptions, described
from monitor.cli.pipeline import RunPipeline, open_run
from monitor.cli.status import ExitStatus, status_for_signal
from monitor.cli.target import Target, resolve_target
from monitor.errors import MonitorError
from monitor.output.console import Console, ConsoleSink
from monitor.output.files import (
    CHART_SUFFIX,
    DETAIL_SUFFIX,
    JSON_SUFFIX,
    LOG_SUFFIX,
    REPORT_SUFFIX,
    dir_error,
    prepare_dir,
    run_stem,
)
from monitor.output.frame import FrameSink
from monitor.output.log import log_error
from monitor.output.summary_json import summary_document, write_json
from monitor.output.summary_text import Summary, format_summary, missed_ticks_sentence
from monitor.output.units import pid_list, plural, processes_and_pids
from monitor.sampling import targets
from monitor.sampling.command import finish_command, launch
from monitor.sampling.names import clean_name
from monitor.sampling.session import EndReason, RunResult, Session
from monitor.sampling.signals import StopSignals


@dataclasses.dataclass(frozen=True)
class Run:
    """What every step of one monitoring run shares: its options, target, pipeline, console and signals."""

    options: WatchOptions
    target: Target
    pipeline: RunPipeline
    console: Console
    stop: StopSignals

    @property
    def paths(self) -> dict[str, Path]:
        """The run's files, by suffix."""
        return self.pipeline.paths

    @property
    def log(self) -> logging.Logger:
        """The run's log."""
        return self.pipeline.log


def watch(options: WatchOptions, console: Console, on_report: Callable[[Path], None] | None = None) -> ExitStatus:
    """Monitor what the options name and write every output; MonitorError for what the user can fix.

    `on_report`, when given, is told the path of the run's report as soon as it is chosen.
    """
    started = datetime.datetime.now().astimezone()
    reports_dir = prepare_dir(options.reports_dir, "reports", REPORTS_OPTION)
    logs_dir = prepare_dir(options.logs_dir, "logs", LOGS_OPTION)
    selection = options.selection
    # Installed until every file is written: a second Ctrl-C during the summary is counted, not fatal.
    with StopSignals() as stop:
        launched = _launch(selection.command) if selection.command else None
        try:
            target = resolve_target(selection, launched)
            children = selection.include_children or launched is not None
            session = Session(targets.TargetSet(target.find_roots, include_children=children), launched)
            places = {REPORT_SUFFIX: reports_dir, DETAIL_SUFFIX: reports_dir, LOG_SUFFIX: logs_dir}
            reserved = {JSON_SUFFIX: reports_dir, CHART_SUFFIX: reports_dir}
            with open_run(session, run_stem(target.name, started), places, reserved) as pipeline:
                if on_report is not None:
                    on_report(pipeline.paths[REPORT_SUFFIX])
                run = Run(options, target, pipeline, console, stop)
                frame_sink = pipeline.add(FrameSink(pipeline.facts))
                breakdown = MemoryBreakdown()
                result = _sample(run, launched, breakdown)
                signals_while_sampling = stop.count
                if launched is not None:
                    status, sentence = finish_command(launched)
                    result = dataclasses.replace(result, command_status=status, notes=(*result.notes, sentence))
                if result.samples == 0:
                    return _nothing_sampled(run, result)
                return _finish(run, result, frame_sink, breakdown, signals_while_sampling)
        finally:
            # On an error path the command, and everything it started, still must not outlive us.
            if launched is not None and launched.returncode is None:
                finish_command(launched)


def _launch(command: tuple[str, ...]) -> subprocess.Popen[bytes]:
    try:
        return launch(command)
    except OSError as exc:
        program = clean_name(command[0])
        if Path(command[0]).is_dir():
            raise MonitorError(f"cannot start command '{program}': it is a directory; give a program") from None
        raise MonitorError(
            f"cannot start command '{program}' ({exc.strerror or exc}); check its name, or give its path "
            "(it is started without a shell)"
        ) from None


def _sample(run: Run, launched: subprocess.Popen[bytes] | None, breakdown: MemoryBreakdown) -> RunResult:
    """Write the CSVs and the log while the session samples; the run's result once every sink is closed."""
    options, target, pipeline, log, console = run.options, run.target, run.pipeline, run.log, run.console
    log.info("options: %s", described(options))
    try:
        # Memory first, then disk: a failed write still leaves the sample in the summary.
        pipeline.write_reports()
        # A line per sample repeats the report: only with --debug.
        pipeline.log_samples(every_sample=options.debug)
        first = pipeline.start()
        if not first:
            message = target.missing or f"{target.label} has already exited"
            if launched is not None:
                message = _exited_early(target, finish_command(launched)[1])
            raise MonitorError(message)
    except MonitorError as exc:
        log.error("%s", exc)
        pipeline.discard(REPORT_SUFFIX, DETAIL_SUFFIX)
        raise
    pids = [reading.pid for reading in first]
    # `--pid N` names its PID in the label already.
    pid = options.selection.pid
    found = "" if pid is not None and pids == [pid] else f" ({processes_and_pids(pids)})"
    console.line(
        f"Monitoring {target.label}{found} for {options.duration_s:g} s, "
        f"sampling every {options.interval_s:g} s -> {run.paths[REPORT_SUFFIX]}"
    )
    log.info("watching %s: %s", target.label, pid_list(pids, limit=None))
    if not console.quiet:
        pipeline.add(
            ConsoleSink(
                console, pipeline.facts, options.interval_s, options.duration_s, options.sample_count, options.wide
            )
        )
    try:
        breakdown.read_start(pipeline.session.targets)
        result = pipeline.run(options.interval_s, options.sample_count, run.stop)
        breakdown.read_end(pipeline.session.targets)
    finally:
        pipeline.close()
    if run.stop.requested and result.samples:
        # Said at once: the summary takes a second or two, which otherwise invites a second Ctrl-C.
        stopping = f"stopping after {plural(result.samples, 'sample')}; writing the summary..."
        console.summary(stopping)
        log.info(stopping)
    if result.clock.missed:
        log.warning("%d ticks missed: the machine stalled for over half an interval", result.clock.missed)
    if result.error is not None:
        log.error(result.error)
    return result


def _nothing_sampled(run: Run, result: RunResult) -> ExitStatus:
    """End a run that took no sample: no report is kept; an error, or the signal's status."""
    target, log, console = run.target, run.log, run.console
    run.pipeline.discard(REPORT_SUFFIX, DETAIL_SUFFIX)
    for note in result.notes:
        log.info(note)
    if result.error is not None:
        raise MonitorError(result.error)
    if result.stop_signal is not None:
        message = "interrupted before the first sample; no report written"
        log.info(message)
        console.summary(message)
        return status_for_signal(result.stop_signal)
    message = f"{target.label} exited before the first sample; no report written"
    if result.command_status is not None:
        message = _exited_early(target, result.notes[-1])
    log.error(message)
    raise MonitorError(message)


def _exited_early(target: Target, how: str) -> str:
    """The error for a launched command that ended before its first sample, with its status."""
    ended = how.removeprefix("command ")
    return f"{target.label} {ended} before the first sample: nothing was measured, no report written"


def _finish(
    run: Run,
    result: RunResult,
    frame_sink: FrameSink,
    breakdown: MemoryBreakdown,
    signals_while_sampling: int,
) -> ExitStatus:
    """Print and log the summary, write the JSON summary and the chart, and choose the exit status."""
    options, target, paths, log, console, stop = run.options, run.target, run.paths, run.log, run.console, run.stop
    facts = run.pipeline.facts
    frame = frame_sink.frame()
    analysis = analyze(frame, result.headroom, dict(options.min_leak_rates))
    per_process = facts.whole_run_verdicts() if len(result.processes) > 1 else {}
    pid = options.selection.pid
    pids = [] if pid is not None and list(result.processes) == [pid] else list(result.processes)
    summary = Summary(target.label, analysis, pids, per_process, result.denied)
    lines = [] if result.end_reason is EndReason.DURATION else [f"Stopped: {result.end_reason.value}"]
    growth_by_kind, growth_sentence = breakdown.facts()
    extra = [sentence[0].upper() + sentence[1:] for sentence in [growth_sentence] if sentence]
    extra += missing_values_lines(facts.missing)
    if result.clock.missed:
        due = result.samples + result.clock.missed
        extra.append(missed_ticks_sentence(result.clock.missed, due, options.interval_s))
    for line in [*lines, *result.notes, *format_summary(summary), *extra]:
        console.summary(line)
        log.info(line)
    written = [paths[REPORT_SUFFIX]]
    errors = [] if result.error is None else [result.error]
    if not paths[REPORT_SUFFIX].exists():
        # Rows written to a file removed mid-run went to a file nobody can open any more; they are
        # still in memory, the per-process rows are not.
        errors.append(_write_again(paths[REPORT_SUFFIX], frame, written))
    json_path = paths[JSON_SUFFIX]
    try:
        write_json(
            json_path,
            summary_document(
                paths[REPORT_SUFFIX],
                analysis,
                run_facts(options, target, paths, result, analysis)
                | {"memory_growth_by_kind": growth_by_kind, "missing_values": _missing_json(facts.missing)},
            ),
        )
        written.append(json_path)
    except OSError as exc:
        errors.append(f"writing {json_path} failed ({exc.strerror or exc})")
    if options.plot and len(frame):
        chart_path = paths[CHART_SUFFIX]

        def wanted() -> bool:
            # A second stop signal skips the chart, also one that comes while it is being drawn.
            return stop.count == signals_while_sampling

        try:
            if wanted() and _draw(options, target, result, frame, analysis, chart_path, wanted):
                written.append(chart_path)
            else:
                skipped = "chart not drawn: stopped again while the summary was being written"
                console.summary(skipped)
                log.info(skipped)
        except OSError as exc:
            errors.append(f"writing {chart_path} failed ({exc.strerror or exc})")
    for error in errors:
        log.error(error)
    log_failure = log_error(log)
    if log_failure is None:
        written.insert(1, paths[LOG_SUFFIX])
    else:
        # Sampling went on without it: the report holds every sample; the log is cut where it failed.
        errors.append(str(dir_error(paths[LOG_SUFFIX].parent, "logs", LOGS_OPTION, log_failure)))
    for path in written:
        console.summary(f"Wrote {path}")
    if errors:
        raise MonitorError("; ".join(errors))
    if stop.signum is not None:
        return status_for_signal(stop.signum)
    if options.fail_on_leak and analysis.leak_found:
        return ExitStatus.LEAK_FOUND
    return ExitStatus.SUCCESS


def _write_again(report: Path, frame: pd.DataFrame, written: list[Path]) -> str:
    """Write a report removed during the run again from the rows in memory; what happened, as an error."""
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(report, index=False, na_rep="", lineterminator="\n")
    except OSError as exc:
        written.remove(report)
        return f"the report {report} was removed during the run and could not be written again ({exc.strerror or exc})"
    return (
        f"the report {report} was removed during the run: its {len(frame)} rows were written again from memory, "
        "the per-process CSVs are lost"
    )


def _draw(
    options: WatchOptions,
    target: Target,
    result: RunResult,
    frame: pd.DataFrame,
    analysis: RunAnalysis,
    path: Path,
    wanted: Callable[[], bool],
) -> bool:
    """Draw the run's chart at `path` unless `wanted` turns False meanwhile; whether it was written."""
    from monitor.output.chart import write_chart  # matplotlib only when a chart is drawn

    title = f"{target.label}, {result.started_at:%Y-%m-%d %H:%M:%S}, every {options.interval_s:g} s"
    return write_chart(frame, analysis, title, path, wanted)


def run_facts(
    options: WatchOptions, target: Target, paths: dict[str, Path], result: RunResult, analysis: RunAnalysis
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
        "denied_pids": {str(pid): name for pid, name in sorted(result.denied.items())},
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


def missing_values_lines(missing: dict[str, dict[int, str]]) -> list[str]:
    """One line per metric that some process did not give (the OS refused it, or does not report it)."""
    return [
        f"No {column} from {processes_and_pids(sorted(pids))} (refused by the OS, or not reported on it): left empty"
        for column, pids in missing.items()
    ]


def _missing_json(missing: dict[str, dict[int, str]]) -> dict[str, list[int]]:
    return {column: sorted(pids) for column, pids in missing.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value
