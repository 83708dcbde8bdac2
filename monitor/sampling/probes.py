"""One tick's metrics for one process, read through psutil in one oneshot(): the probes of the metric table.

Each probe reads one psutil call and fills the columns (metrics and raw counters) it gives, so a call
that yields several numbers (memory_full_info: USS, RSS, swap) is made once. Rates are the change of
a process's own counter over the time since its previous reading.
"""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass
from typing import Any, Callable

import psutil

from monitor.errors import MonitorError
from monitor.metrics import (
    COUNTER_NAMES,
    CPU,
    CPU_SECONDS,
    CTX_SWITCHES,
    HANDLES,
    MEMORY,
    METRIC_TABLE,
    METRICS,
    READ_BYTES,
    RESIDENT,
    SWAPPED,
    THREADS,
    WRITE_BYTES,
)
from monitor.sampling.thread_switches import THREAD_SWITCHES
from monitor.stream import ProcessReading, Value

IS_WINDOWS = psutil.WINDOWS
# Not a column: the CPU seconds of the children a process has reaped, which its tree's CPU counts.
REAPED_CPU_SECONDS = "reaped_cpu_seconds"


def count_handles(proc: psutil.Process) -> int:
    """Open handles on Windows, open file descriptors elsewhere."""
    if IS_WINDOWS:
        return int(proc.num_handles())  # type: ignore[attr-defined,unused-ignore]
    return proc.num_fds()


def _memory(proc: psutil.Process) -> tuple[Value, ...]:
    info = proc.memory_full_info()  # one smaps_rollup read on Linux: USS and swap together
    return info.uss, info.rss, getattr(info, "swap", None)


def _storage_io(proc: psutil.Process) -> tuple[Value, ...]:
    try:
        io = proc.io_counters()  # type: ignore[attr-defined,unused-ignore]
    except (psutil.AccessDenied, AttributeError):
        # Another user's I/O counters are refused even where its memory is not: an empty cell.
        return None, None
    return io.read_bytes, io.write_bytes


def _cpu_seconds(proc: psutil.Process) -> tuple[Value, ...]:
    times = proc.cpu_times()
    # The reaped children's seconds come with the same call: the tree's CPU needs them.
    return times.user + times.system, _reaped_cpu_seconds(times)


def _threads_and_switches(proc: psutil.Process) -> tuple[Value, ...]:
    threads = proc.num_threads()
    # Every thread's switches, not only the main thread's that psutil's num_ctx_switches() gives on
    # Linux; the thread count just read tells how many others there are.
    try:
        return threads, THREAD_SWITCHES.read(proc, threads)
    except psutil.AccessDenied:
        return threads, None


@dataclass(frozen=True)
class Probe:
    """One psutil call, and the metric columns or raw counters its numbers fill, in order."""

    fills: tuple[str, ...]
    read: Callable[[psutil.Process], tuple[Value, ...]]


# What each psutil call gives, read inside one oneshot() per process and tick. CPU % is no call of its
# own: it is the rate of the CPU seconds (as psutil's cpu_percent() computes it, without its second
# look at the clock and the CPU count).
PROBES = (
    Probe((CPU_SECONDS, REAPED_CPU_SECONDS), _cpu_seconds),
    Probe((MEMORY, RESIDENT, SWAPPED), _memory),
    Probe((HANDLES,), lambda proc: (count_handles(proc),)),
    Probe((THREADS, CTX_SWITCHES), _threads_and_switches),
    Probe((READ_BYTES, WRITE_BYTES), _storage_io),
)
# Where each probe's numbers go: the probes' numbers, one after the other, are put in slot order (the
# metrics in table order, then the counters, then the reaped children's CPU seconds) by one
# itemgetter; a slot no probe fills (a rate) takes the None put after them.
_SLOTS = (*METRICS, *COUNTER_NAMES, REAPED_CPU_SECONDS)
_READS = tuple(probe.read for probe in PROBES)
_FILLED = tuple(name for probe in PROBES for name in probe.fills)
_IN_SLOT_ORDER = operator.itemgetter(*(_FILLED.index(name) if name in _FILLED else len(_FILLED) for name in _SLOTS))
_METRIC_COUNT = len(METRICS)
_COUNTERS_END = _METRIC_COUNT + len(COUNTER_NAMES)
_CPU_INDEX = METRICS.index(CPU)
_CPU_SECONDS_INDEX = COUNTER_NAMES.index(CPU_SECONDS)
# For each rate metric: its index, and the index of the counter it is the rate of.
_RATES = tuple(
    (METRICS.index(metric.column), COUNTER_NAMES.index(metric.rate_of)) for metric in METRIC_TABLE if metric.rate_of
)
_ZOMBIE = psutil.STATUS_ZOMBIE
_NO_RATE: list[Value] = [None]


class AccessDeniedError(MonitorError):
    """The OS refused to let us read a process."""

    def __init__(self, pid: int, name: str) -> None:
        super().__init__(
            f"access denied reading process '{name}' (pid {pid}): run the monitor as the same user "
            "as the process, or with elevated rights (sudo on Linux, an Administrator prompt on Windows)"
        )
        self.pid = pid


def read_process(
    proc: psutil.Process,
    name: str,
    newcomer: bool = False,
    check_identity: bool = True,
    previous: ProcessReading | None = None,
) -> ProcessReading | None:
    """Read one process, or None if it has exited (a zombie included) or its PID now belongs to another.

    Rates are measured since `previous` (this process's last reading). A newcomer (found after the
    run started) has neither a previous reading nor a primed CPU counter: its CPU % and rates are its
    averages since it was created, which is exact when it was born within the last interval. A first
    reading that is not a newcomer (the priming read at start) has no rates. `check_identity` may be
    False only when the caller checks afterwards whether the PID was reused (the session does, for the
    PIDs handed out since its previous tick).
    """
    try:
        with proc.oneshot():
            # A zombie has exited; only its parent has not collected it yet.
            if proc.status() == _ZOMBIE:
                return None
            slots = _IN_SLOT_ORDER([value for read in _READS for value in read(proc)] + _NO_RATE)
            age_s = time.time() - proc.create_time() if newcomer else 0.0
            # Cached by oneshot() on Linux: the stat line the CPU probe already read.
            parent = _parent(proc)
        read_at = time.monotonic()
        # Checked after the read: if the PID was reused before it, the identity differs now.
        if check_identity and not proc.is_running():
            return None
    except psutil.NoSuchProcess:  # ZombieProcess too: it holds nothing any more
        return None
    except psutil.AccessDenied:
        raise AccessDeniedError(proc.pid, name) from None
    values = list(slots[:_METRIC_COUNT])
    counters = slots[_METRIC_COUNT:_COUNTERS_END]
    cpu_seconds = counters[_CPU_SECONDS_INDEX]
    if previous is not None:
        # The usual case: each counter's change over the time since the previous reading.
        elapsed = read_at - previous.read_at
        before = previous.counters
        for metric_index, counter_index in _RATES:
            values[metric_index] = _per_second(counters[counter_index], before[counter_index], elapsed)
        # CPU % as psutil's cpu_percent() computes it over the same span, and rounds it.
        cpu_per_s = _per_second(cpu_seconds, before[_CPU_SECONDS_INDEX], elapsed)
        values[_CPU_INDEX] = 0.0 if cpu_per_s is None else round(100.0 * cpu_per_s, 1)
    else:
        for metric_index, counter_index in _RATES:
            values[metric_index] = _rate(counters[counter_index], age_s)
        # The priming read, with nothing before it, says 0 as psutil's first call does; a newcomer its
        # average since it was created.
        values[_CPU_INDEX] = 0.0
    if newcomer:
        values[_CPU_INDEX] = 100.0 * cpu_seconds / age_s if age_s > 0 and cpu_seconds is not None else 0.0
    return ProcessReading(
        proc.pid, name, tuple(values), counters, read_at, parent, slots[-1], age_s if newcomer else None
    )


def _parent(proc: psutil.Process) -> int:
    """The parent's PID, from the stat line that oneshot() has read already (Linux)."""
    # psutil's public ppid() first builds a second Process to check that the PID was not reused, which
    # reads /proc/PID/stat again: a tenth of a whole reading. The session checks identity itself, for
    # the PIDs handed out since its previous tick (PidHandouts), so on Linux the parent is taken from
    # psutil's platform object, whose ppid() uses the stat line cached by oneshot().
    platform_process = getattr(proc, "_proc", None) if psutil.LINUX else None
    ppid = getattr(platform_process, "ppid", None)
    return int(ppid()) if callable(ppid) else proc.ppid()


def read_exited(proc: psutil.Process) -> tuple[float, float, int] | None:
    """An exited process not yet reaped (a zombie): its final CPU seconds, its reaped children's, its parent.

    None when it is still running or already gone. The kernel keeps these until the parent reaps it.
    """
    try:
        with proc.oneshot():
            if proc.status() != psutil.STATUS_ZOMBIE:
                return None
            times = proc.cpu_times()
            return times.user + times.system, _reaped_cpu_seconds(times), proc.ppid()
    except psutil.Error:
        return None


def _reaped_cpu_seconds(times: Any) -> float:
    # Windows keeps no such times: psutil gives 0 there.
    return float(getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0))


def _per_second(now: Value, then: Value, elapsed: float) -> Value:
    """A counter's change per second since its previous reading; None when either is missing."""
    if now is None or then is None or elapsed <= 0:
        return None
    # A counter that went back was reset (it cannot for one process): no change measured.
    return max(now - then, 0.0) / elapsed


def _rate(now: Value, age_s: float) -> Value:
    """Per-second change of a counter with no previous reading: since creation for a newcomer, else none."""
    if now is None:
        return None
    return now / age_s if age_s > 0 else None
