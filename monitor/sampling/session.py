"""One monitoring run: each tick of the clock becomes one Sample, handed to every sink in turn."""

from __future__ import annotations

import datetime
import enum
import subprocess
import time
from dataclasses import dataclass, field
from typing import Sequence

import psutil

from monitor.errors import MonitorError
from monitor.metrics import HANDLES, METRICS
from monitor.sampling.clock import ClockStats, TickClock
from monitor.sampling.limits import headroom
from monitor.sampling.probes import ProcessReading, read_process
from monitor.sampling.signals import StopSignals
from monitor.sampling.targets import TargetSet

# Seconds a launched command gets to exit after SIGTERM before it is killed.
TERMINATE_GRACE_S = 3.0
_HANDLES_INDEX = METRICS.index(HANDLES)


class EndReason(str, enum.Enum):
    """Why sampling stopped."""

    DURATION = "duration reached"
    PROCESS_EXITED = "process exited"
    INTERRUPTED = "interrupted"
    ERROR = "error"


@dataclass(frozen=True)
class Sample:
    """Everything one tick measured: per-process readings and their totals, in the metric table's order."""

    index: int  # the tick number, 1 for the first
    wall_time: datetime.datetime  # local time with its UTC offset
    elapsed_s: float  # monotonic seconds since the first sample: immune to clock steps
    readings: tuple[ProcessReading, ...]
    totals: tuple[float, ...]


class EventKind(enum.Enum):
    """What happened to a watched process between samples."""

    JOINED = "joined"
    EXITED = "exited"


@dataclass(frozen=True)
class ProcessEvent:
    """A process that joined or left the watched set."""

    kind: EventKind
    pid: int
    name: str
    samples: int  # samples taken before the event
    is_root: bool  # a process asked for (not a child found along the way)


class Sink:
    """A destination of the sample stream; each sink decides how to store or show what it gets."""

    def add(self, sample: Sample) -> None:
        """Take one sample."""

    def note(self, event: ProcessEvent) -> None:
        """Take a join or an exit."""

    def close(self) -> None:
        """Finish: write what is held, release files."""


@dataclass
class RunResult:
    """What a finished run produced, besides what its sinks kept."""

    end_reason: EndReason
    samples: int
    clock: ClockStats
    processes: dict[int, str]
    headroom: dict[str, float | None]
    started_at: datetime.datetime
    ended_at: datetime.datetime
    stop_signal: int | None = None
    error: str | None = None
    command_status: int | None = None
    notes: list[str] = field(default_factory=list)


class Session:
    """Samples a TargetSet on every tick and hands each Sample to the sinks, in their order."""

    def __init__(self, targets: TargetSet, launched: subprocess.Popen[bytes] | None = None) -> None:
        self.targets = targets
        self.launched = launched
        self.end_reason = EndReason.DURATION
        self.samples = 0
        self._sinks: Sequence[Sink] = ()
        self._first_monotonic: float | None = None
        self._last_handles = 0.0

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

    def run(self, interval_s: float, planned: int, sinks: Sequence[Sink], stop: StopSignals) -> RunResult:
        """Tick until the duration ends, the targets are gone, a signal arrives or an error occurs.

        A sink that fails to write (OSError) ends the run; the sinks before it in the list have the
        sample, so put the in-memory ones first.
        """
        self._sinks = sinks
        clock = TickClock(interval_s, planned, self._tick, sleep=stop.sleep, stopped=lambda: stop.requested)
        started_at = datetime.datetime.now().astimezone()
        error = None
        try:
            clock.run()
        except MonitorError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"writing the report failed ({exc.strerror or exc}); the rows already written are kept"
        if error is not None:
            self.end_reason = EndReason.ERROR
        elif stop.requested:
            self.end_reason = EndReason.INTERRUPTED
        return RunResult(
            end_reason=self.end_reason,
            samples=self.samples,
            headroom=headroom(list(self.targets.live.values()), self._last_handles),
            clock=clock.stats,
            processes=dict(sorted(self.targets.seen.items())),
            started_at=started_at,
            ended_at=datetime.datetime.now().astimezone(),
            stop_signal=stop.signum,
            error=error,
        )

    def _tick(self, index: int) -> bool:
        stamp = datetime.datetime.now().astimezone()
        now = time.monotonic()
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
                    self._note(EventKind.JOINED, pid, reading.name, pid in self.targets.roots)
        if not readings:
            self.end_reason = EndReason.PROCESS_EXITED
            return False
        if self._first_monotonic is None:
            self._first_monotonic = now
        totals = tuple(map(sum, zip(*(r.values for r in readings))))
        self._last_handles = totals[_HANDLES_INDEX]
        self.samples += 1
        sample = Sample(index, stamp, now - self._first_monotonic, tuple(readings), totals)
        for sink in self._sinks:
            sink.add(sample)
        if self.launched is not None and self.launched.poll() is not None:
            self.end_reason = EndReason.PROCESS_EXITED
            return False
        return True

    def _note_exit(self, proc: psutil.Process) -> None:
        is_root = proc.pid in self.targets.roots
        self.targets.drop(proc)
        self._note(EventKind.EXITED, proc.pid, self.targets.seen.get(proc.pid, "?"), is_root)

    def _note(self, kind: EventKind, pid: int, name: str, is_root: bool) -> None:
        event = ProcessEvent(kind, pid, name, self.samples, is_root)
        for sink in self._sinks:
            sink.note(event)


def finish_command(launched: subprocess.Popen[bytes]) -> tuple[int, str]:
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
    return status, f"command was still running at the end and was {how} (status {status})"
