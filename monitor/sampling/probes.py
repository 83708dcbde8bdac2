"""One tick's metrics for one process, read through psutil: a probe per row of the metric table."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import psutil

from monitor.errors import MonitorError
from monitor.metrics import CPU, HANDLES, MEMORY, METRICS

IS_WINDOWS = psutil.WINDOWS


def count_handles(proc: psutil.Process) -> int:
    """Open handles on Windows, open file descriptors elsewhere."""
    if IS_WINDOWS:
        return int(proc.num_handles())  # type: ignore[attr-defined,unused-ignore]
    return proc.num_fds()


# How each metric of the table is read, inside one oneshot() per process and tick.
PROBES: dict[str, Callable[[psutil.Process], float]] = {
    CPU: lambda proc: proc.cpu_percent(),
    MEMORY: lambda proc: proc.memory_full_info().uss,
    HANDLES: count_handles,
}
_READERS = tuple(PROBES[column] for column in METRICS)
_CPU_INDEX = METRICS.index(CPU)


@dataclass(frozen=True)
class ProcessReading:
    """One process's metrics at one tick, in the metric table's order."""

    pid: int
    name: str
    values: tuple[float, ...]

    def value(self, column: str) -> float:
        """The value of one metric, by its column name."""
        return self.values[METRICS.index(column)]


class AccessDeniedError(MonitorError):
    """The OS refused to let us read a process."""

    def __init__(self, pid: int, name: str) -> None:
        super().__init__(
            f"access denied reading process '{name}' (pid {pid}): run the monitor as the same user "
            "as the process, or with elevated rights (sudo on Linux, an Administrator prompt on Windows)"
        )
        self.pid = pid


def read_process(
    proc: psutil.Process, name: str, newcomer: bool = False, check_identity: bool = True
) -> ProcessReading | None:
    """Read one process, or None if it has exited (a zombie included) or its PID now belongs to another.

    A newcomer (found after the run started) has no primed CPU counter; its CPU % is its
    average since it was created, which is exact when it was born within the last interval.
    `check_identity` may be False only when no process was created since the last read, so that
    the PID cannot have been reused.
    """
    try:
        with proc.oneshot():
            # A zombie has exited; only its parent has not collected it yet.
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            values = [read(proc) for read in _READERS]
            if newcomer:
                values[_CPU_INDEX] = _cpu_since_creation(proc)
        # Checked after the read: if the PID was reused before it, the identity differs now.
        if check_identity and not proc.is_running():
            return None
    except psutil.NoSuchProcess:  # ZombieProcess too: it holds nothing any more
        return None
    except psutil.AccessDenied:
        raise AccessDeniedError(proc.pid, name) from None
    return ProcessReading(proc.pid, name, tuple(values))


def _cpu_since_creation(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    age_s = time.time() - proc.create_time()
    return 100.0 * (times.user + times.system) / age_s if age_s > 0 else 0.0
