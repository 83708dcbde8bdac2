"""One monitoring run: each tick of the clock becomes one Sample, handed to every sink in turn."""

from __future__ import annotations

import datetime
import enum
import subprocess
import time
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import psutil

from monitor.errors import MonitorError
from monitor.metrics import COUNTER_NAMES, CPU, CPU_SECONDS, METRICS
from monitor.sampling.clock import ClockStats, TickClock
from monitor.sampling.handouts import PidHandouts
from monitor.sampling.limits import headroom
from monitor.sampling.names import IS_WINDOWS, owner
from monitor.sampling.probes import AccessDeniedError, read_exited, read_process
from monitor.sampling.targets import TargetSet
from monitor.sampling.tree_cpu import CpuAccount, TreeCpu
from monitor.stream import EventKind, ProcessEvent, ProcessReading, Sample, Sink


class StopRequest(Protocol):
    """What ends a run early and paces its waits: the stop signals in the monitor, a sample budget in a bench."""

    @property
    def requested(self) -> bool:
        """True once the run is to end."""

    @property
    def signum(self) -> int | None:
        """The signal that ended it, if one did."""

    def sleep(self, seconds: float) -> None:
        """Wait until the next tick, or less if the run is to end."""


class EndReason(str, enum.Enum):
    """Why sampling stopped."""

    DURATION = "duration reached"
    PROCESS_EXITED = "process exited"
    INTERRUPTED = "interrupted"
    ERROR = "error"


@dataclass(frozen=True)
class RunResult:
    """What a finished run produced, besides what its sinks kept."""

    end_reason: EndReason
    samples: int
    clock: ClockStats
    processes: dict[int, str]  # every PID read in at least one tick, with its name
    headroom: dict[str, float | None]
    started_at: datetime.datetime
    ended_at: datetime.datetime
    stop_signal: int | None = None
    error: str | None = None
    command_status: int | None = None
    notes: tuple[str, ...] = ()  # sentences for the summary and the log
    denied: dict[int, str] = field(default_factory=dict)  # PIDs found but not readable, with their names


class Session:
    """Samples a TargetSet on every tick and hands each Sample to the sinks, in their order.

    A process the OS refuses to let us read is skipped (and reported once, as a DENIED event), as
    psutil's own scripts do; the run fails only when no process at all can be read.
    """

    def __init__(
        self,
        targets: TargetSet,
        launched: subprocess.Popen[bytes] | None = None,
        keep_running: bool = False,
        handouts: PidHandouts | None = None,
    ) -> None:
        self.targets = targets
        self.launched = launched
        # An exporter runs on with nothing to watch (the processes may come back): it then hands the
        # sinks samples with no readings instead of ending the run.
        self.keep_running = keep_running
        self.end_reason = EndReason.DURATION
        self.samples = 0
        self.denied: dict[int, str] = {}
        self.sampled: dict[int, str] = {}
        self._owners: dict[int, str] = {}
        self._sinks: Sequence[Sink] = ()
        self._unsent: list[ProcessEvent] = []
        self._first_monotonic: float | None = None
        self._previous: dict[int, ProcessReading] = {}
        self._cpu = TreeCpu()
        self._last_tick: float | None = None
        # Exited members not yet reaped, with their root: their final CPU stays counted until they go.
        self._exited: dict[psutil.Process, int] = {}
        # Which PIDs went to new processes since the previous tick: only those are checked for reuse.
        self._handouts = handouts or PidHandouts()

    def start(self) -> list[ProcessReading]:
        """Find the first targets and prime their CPU counters; MonitorError if every one is denied."""
        # Looked at before the targets are found: a PID reused after that is in the first tick's stretch.
        self._handouts.look()
        self.targets.refresh_as_of(self._handouts.last_created)
        first = []
        denied_now = []
        for pid, proc in list(self.targets.live.items()):
            try:
                reading = read_process(proc, self.targets.seen[pid])
            except AccessDeniedError:
                self._deny(proc)
                denied_now.append(pid)
                continue
            if reading is None:
                self.targets.drop(proc)
            else:
                first.append(reading)
                self._previous[pid] = reading
        if not first and denied_now and not self.keep_running:
            raise MonitorError(self.denied_message(denied_now))
        self._cpu.start(self._accounts(first))
        self._last_tick = time.monotonic()
        return first

    def denied_message(self, pids: Sequence[int]) -> str:
        """One line naming the denied PIDs, their owners and the fix."""
        names = sorted({self.denied[pid] for pid in pids})
        owners = sorted({self._owners[pid] for pid in pids})
        if len(names) == 1:
            listed = ", ".join(f"pid {pid} ({self._owners[pid]})" for pid in pids)
            what = f"every instance of '{names[0]}'" if len(pids) > 1 else f"'{names[0]}'"
        else:
            listed = ", ".join(f"pid {pid} '{self.denied[pid]}' ({self._owners[pid]})" for pid in pids)
            what = "every process to watch"
        who = "that user" if len(owners) == 1 else "their owners"
        rights = "an Administrator prompt" if IS_WINDOWS else "as root"
        return f"access denied to {what}: {listed}; run the monitor as {who} or with elevated rights ({rights})"

    def run(self, interval_s: float, planned: int, sinks: Sequence[Sink], stop: StopRequest) -> RunResult:
        """Tick until the duration ends, the targets are gone, a signal arrives or an error occurs.

        A sink that fails to write (OSError) ends the run; the sinks before it in the list have the
        sample, so put the in-memory ones first.
        """
        self._sinks = sinks
        for event in self._unsent:
            self._send(event)
        self._unsent.clear()
        clock = TickClock(interval_s, planned, self._tick, sleep=stop.sleep, stopped=lambda: stop.requested)
        started_at = datetime.datetime.now().astimezone()
        error = None
        try:
            clock.run()
        except MonitorError as exc:
            error = str(exc)
        except OSError as exc:
            error = (
                f"writing the report failed ({exc.strerror or exc}); the rows already written are kept; "
                "free some space, or choose another folder with -r/--reports-dir"
            )
        if error is not None:
            self.end_reason = EndReason.ERROR
        elif stop.requested:
            self.end_reason = EndReason.INTERRUPTED
        return RunResult(
            end_reason=self.end_reason,
            samples=self.samples,
            headroom=headroom(list(self.targets.live.values())),
            clock=clock.stats,
            processes=dict(sorted(self.sampled.items())),
            started_at=started_at,
            ended_at=datetime.datetime.now().astimezone(),
            stop_signal=stop.signum,
            error=error,
            denied=dict(sorted(self.denied.items())),
        )

    def _tick(self, index: int) -> bool:
        stamp = local_now()
        now = time.monotonic()
        targets = self.targets
        seen, previous = targets.seen, self._previous
        read: list[tuple[psutil.Process, ProcessReading | None, bool]] = []
        denied_now: list[int] = []
        for pid, proc in list(targets.live.items()):
            try:
                read.append((proc, read_process(proc, seen[pid], False, False, previous.get(pid)), False))
            except AccessDeniedError:
                self._deny(proc)
                denied_now.append(pid)
        # Looked at after the reads: a PID reused before its read was handed out by now. The same look
        # tells whether any process was created since the previous tick, so new ones are found now.
        handouts = self._handouts
        handouts.look()
        added = targets.refresh_as_of(handouts.last_created)
        for proc in added:
            # Found after the look, so not covered by it: each one's identity is read again below.
            try:
                read.append((proc, read_process(proc, seen[proc.pid], True, False), True))
            except AccessDeniedError:
                self._deny(proc)
                denied_now.append(proc.pid)
        readings = []
        sampled = self.sampled
        for proc, reading, newcomer in read:
            pid = proc.pid
            if reading is None:
                self._exited[proc] = targets.root_of.get(pid, pid)
                self._note_exit(proc)
                continue
            if (newcomer or handouts.may_be_new(pid)) and not proc.is_running():
                self._note_exit(proc)
                continue
            readings.append(reading)
            previous[pid] = reading
            if pid not in sampled:
                sampled[pid] = reading.name
            if newcomer:
                self._note(EventKind.JOINED, pid, reading.name, pid in targets.roots)
        if not readings and denied_now and not self.keep_running:
            raise MonitorError(self.denied_message(denied_now))
        interval_s = now - (self._last_tick or now)
        self._last_tick = now
        accounts = self._accounts(readings)
        if self._exited:
            accounts += self._exited_accounts()
        spent = self._cpu.advance(accounts, interval_s)
        spent_s = sum(spent.values())
        if not readings and not self.keep_running:
            self.end_reason = EndReason.PROCESS_EXITED
            # The tree's last CPU closes a measured run; before the first sample nothing was measured.
            if spent_s <= 0 or self.samples == 0:
                return False
        if self._first_monotonic is None:
            self._first_monotonic = now
        if len(readings) == 1:
            totals = readings[0].values  # the common case: one process, nothing to add up
        else:
            totals = tuple(map(_total, zip(*(r.values for r in readings)))) if readings else _NOTHING
        if (readings or spent_s > 0) and interval_s > 0:
            totals = (*totals[:_CPU_INDEX], 100.0 * spent_s / interval_s, *totals[_CPU_INDEX + 1 :])
        self.samples += 1
        sample = Sample(
            index,
            stamp,
            now - self._first_monotonic,
            tuple(readings),
            totals,
            time.monotonic() - now,
            self._cpu.total_s,
            tuple(spent.items()),
        )
        for sink in self._sinks:
            sink.add(sample)
        if not readings and not self.keep_running:
            return False  # the last sample: what the tree spent after its last reading
        # Reaped only once seen exited: the final CPU it spent since its last reading is then counted.
        launched = self.launched
        if launched is not None and launched.pid not in targets.live and launched.poll() is not None:
            self.end_reason = EndReason.PROCESS_EXITED
            return False
        return True

    def _accounts(self, readings: Sequence[ProcessReading]) -> list[CpuAccount]:
        """Each reading's CPU account: its own time, plus its reaped children's when children are watched."""
        with_reaped = self.targets.include_children
        root_of, live = self.targets.root_of, self.targets.live
        accounts = []
        for reading in readings:
            own = reading.counters[_CPU_SECONDS_INDEX] or 0.0
            reaped = reading.reaped_cpu_s if with_reaped else 0.0
            pid = reading.pid
            accounts.append(
                CpuAccount(live.get(pid, pid), pid, reading.parent, root_of.get(pid, pid), own + reaped, reading.age_s)
            )
        return accounts

    def _exited_accounts(self) -> list[CpuAccount]:
        """The final accounts of exited members that their parent has not reaped yet."""
        accounts = []
        for proc, root in list(self._exited.items()):
            remains = read_exited(proc)
            if remains is None:
                del self._exited[proc]
                continue
            own, reaped, parent = remains
            seconds = own + (reaped if self.targets.include_children else 0.0)
            accounts.append(CpuAccount(proc, proc.pid, parent, root, seconds))
        return accounts

    def _deny(self, proc: psutil.Process) -> None:
        self._previous.pop(proc.pid, None)
        is_root = proc.pid in self.targets.roots
        self.targets.deny(proc)
        if proc.pid in self.denied:
            return
        name = self.targets.seen.get(proc.pid, "?")
        self.denied[proc.pid] = name
        self._owners[proc.pid] = owner(proc)
        self._note(EventKind.DENIED, proc.pid, name, is_root)

    def _note_exit(self, proc: psutil.Process) -> None:
        self._previous.pop(proc.pid, None)
        is_root = proc.pid in self.targets.roots
        self.targets.drop(proc)
        self._note(EventKind.EXITED, proc.pid, self.targets.seen.get(proc.pid, "?"), is_root)

    def _note(self, kind: EventKind, pid: int, name: str, is_root: bool) -> None:
        event = ProcessEvent(kind, pid, name, self.samples, is_root)
        if self._sinks:
            self._send(event)
        else:
            # Found before the run (at start): told to the sinks once they are known.
            self._unsent.append(event)

    def _send(self, event: ProcessEvent) -> None:
        for sink in self._sinks:
            sink.note(event)


_NOTHING: tuple[float | None, ...] = (None,) * len(METRICS)
_CPU_INDEX = METRICS.index(CPU)
_CPU_SECONDS_INDEX = COUNTER_NAMES.index(CPU_SECONDS)


_ZONES: dict[tuple[int, str], datetime.timezone] = {}


def local_now() -> datetime.datetime:
    """The wall time now with the local UTC offset, as `datetime.now().astimezone()` gives it, but cheaper.

    The zone object is built once per offset and zone name instead of once per call.
    """
    seconds = time.time()
    local = time.localtime(seconds)
    key = (local.tm_gmtoff, local.tm_zone)
    zone = _ZONES.get(key)
    if zone is None:
        zone = _ZONES[key] = datetime.timezone(datetime.timedelta(seconds=local.tm_gmtoff), local.tm_zone)
    return datetime.datetime.fromtimestamp(seconds, zone)


def _total(values: tuple[float | None, ...]) -> float | None:
    """The sum over instances of the values they gave; None when none gave one."""
    present = [value for value in values if value is not None]
    return sum(present) if present else None
