"""One monitoring run: ticks of the clock turned into rows on disk, in memory and on the console."""

from __future__ import annotations

import datetime
import enum
import logging
import subprocess
from dataclasses import dataclass, field

import pandas as pd
import psutil

from monitor.analysis import RunningHeuristic, RunningMeans
from monitor.clock import ClockStats, TickClock
from monitor.columns import METRICS, REPORT_COLUMNS
from monitor.console import Console
from monitor.recorder import CsvStream, FrameBuffer
from monitor.report import LEAK_MARKER, format_header, format_progress, format_row
from monitor.sampler import ProcessReading, headroom, read_process
from monitor.status import ExitStatus, MonitorError
from monitor.stopping import StopSignals
from monitor.targets import TargetSet

# Seconds a launched command gets to exit after SIGTERM before it is killed.
TERMINATE_GRACE_S = 3.0


class EndReason(str, enum.Enum):
    """Why sampling stopped."""

    DURATION = "duration reached"
    PROCESS_EXITED = "process exited"
    INTERRUPTED = "interrupted"
    ERROR = "error"


@dataclass
class RunResult:
    """What a finished run produced."""

    end_reason: EndReason
    frame: pd.DataFrame
    clock: ClockStats
    processes: dict[int, str]
    headroom: dict[str, float | None]
    started_at: datetime.datetime
    ended_at: datetime.datetime
    signal_status: ExitStatus | None = None
    error: str | None = None
    command_status: int | None = None
    notes: list[str] = field(default_factory=list)


class Session:
    """Samples a TargetSet on every tick and records each row as it is taken."""

    def __init__(
        self,
        targets: TargetSet,
        report: CsvStream,
        detail: CsvStream,
        log: logging.Logger,
        console: Console,
        launched: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.targets = targets
        self.report = report
        self.detail = detail
        self.log = log
        self.console = console
        self.launched = launched
        self.frame = FrameBuffer(REPORT_COLUMNS)
        self.means = RunningMeans(METRICS)
        self.heuristic = RunningHeuristic()
        self.end_reason = EndReason.DURATION
        self._last_handles = 0.0
        self._warned = False
        self._clock: TickClock | None = None
        self._duration_s = 0.0

    def start(self) -> list[ProcessReading]:
        """Find the first targets and prime their CPU counters; raises MonitorError on AccessDenied."""
        self.targets.refresh()
        first = []
        for pid, proc in list(self.targets.live.items()):
            reading = read_process(proc, self.targets.seen[pid])
            if reading is None:
                self.targets.drop(proc)
            else:
                first.append(reading)
        return first

    def run(self, interval_s: float, planned: int, duration_s: float, stop: StopSignals) -> RunResult:
        """Tick until the duration ends, the targets are gone, a signal arrives or an error occurs."""
        clock = TickClock(interval_s, planned, self._tick, sleep=stop.sleep, stopped=lambda: stop.requested)
        self._clock, self._duration_s = clock, duration_s
        started_at = datetime.datetime.now().astimezone()
        self.console.line(format_header())
        error = None
        try:
            clock.run()
        except MonitorError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"writing the report failed ({exc.strerror or exc}); the rows already written are kept"
        if clock.stats.missed:
            self.log.warning("%d ticks missed: the machine stalled for over half an interval", clock.stats.missed)
        if error is not None:
            self.end_reason = EndReason.ERROR
            self.log.error(error)
        elif stop.requested:
            self.end_reason = EndReason.INTERRUPTED
        return RunResult(
            end_reason=self.end_reason,
            frame=self.frame.frame(),
            headroom=headroom(list(self.targets.live.values()), self._last_handles),
            clock=clock.stats,
            processes=dict(sorted(self.targets.seen.items())),
            started_at=started_at,
            ended_at=datetime.datetime.now().astimezone(),
            signal_status=stop.status,
            error=error,
        )

    def _tick(self, index: int) -> bool:
        stamp = datetime.datetime.now().astimezone()
        newcomers = {proc.pid for proc in self.targets.refresh()}
        check_identity = not self.targets.nothing_created
        readings = []
        for pid, proc in list(self.targets.live.items()):
            reading = read_process(proc, self.targets.seen[pid], pid in newcomers, check_identity)
            if reading is None:
                self._note_exit(proc)
            else:
                readings.append(reading)
                if pid in newcomers:
                    self.log.info("now also watching pid %d (%s)", pid, reading.name)
        if not readings:
            self.end_reason = EndReason.PROCESS_EXITED
            return False
        self._record(stamp, readings)
        if self.launched is not None and self.launched.poll() is not None:
            self.end_reason = EndReason.PROCESS_EXITED
            return False
        return True

    def _record(self, stamp: datetime.datetime, readings: list[ProcessReading]) -> None:
        iso = stamp.isoformat(timespec="milliseconds")
        cpu = sum(r.cpu_percent for r in readings)
        memory = sum(r.private_memory for r in readings)
        handles = sum(r.handles_fds for r in readings)
        self._last_handles = handles
        row = (iso, round(cpu, 2), memory, handles, len(readings))
        # Memory first, then disk: a failed write still leaves the sample in the summary.
        self.frame.append(row)
        self.means.add((cpu, memory, handles))
        self.report.write(row)
        self.detail.write_many(
            [(iso, r.pid, r.name, round(r.cpu_percent, 2), r.private_memory, r.handles_fds) for r in readings]
        )
        self.log.debug("sample %s cpu=%.2f private_memory=%d handles_fds=%d processes=%d", *row)
        first_warning = self.heuristic.add(memory).leak and not self._warned
        if first_warning:
            self._warned = True
            self.log.warning("the README leak rule first holds at sample %d", self.frame.rows)
        if self.console.quiet:
            return  # no row to show: skip formatting it
        values = dict(zip(METRICS, (cpu, memory, handles)))
        text = format_row(stamp.strftime("%H:%M:%S.%f")[:-3], values, self.means.means(), len(readings))
        self.console.line(text + (LEAK_MARKER if first_warning else ""))
        self._show_progress()

    def _show_progress(self) -> None:
        if self._clock is None:
            return
        elapsed = self._clock.elapsed_s()
        self.console.progress(format_progress(elapsed, self._duration_s, self.frame.rows, self._clock.stats.planned))

    def _note_exit(self, proc: psutil.Process) -> None:
        name = self.targets.seen.get(proc.pid, "?")
        is_root = proc.pid in self.targets.roots
        self.targets.drop(proc)
        message = f"process '{name}' (pid {proc.pid}) exited after {self.frame.rows} samples"
        self.log.info(message)
        if is_root:
            self.console.line(message)


def finish_command(launched: subprocess.Popen[bytes], log: logging.Logger) -> tuple[int, str]:
    """Stop a launched command if it still runs; return its exit status and a sentence about it."""
    status = launched.poll()
    if status is not None:
        return status, f"command exited with status {status}"
    launched.terminate()
    try:
        status = launched.wait(TERMINATE_GRACE_S)
        how = "terminated"
    except subprocess.TimeoutExpired:
        launched.kill()
        status = launched.wait()
        how = "killed"
    log.info("command still running at the end; %s (status %d)", how, status)
    return status, f"command was still running at the end and was {how} (status {status})"
