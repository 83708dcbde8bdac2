"""One tick's metrics for the watched processes, read through psutil."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil

from monitor.columns import HANDLES, MEMORY
from monitor.status import MonitorError

IS_WINDOWS = psutil.WINDOWS


@dataclass(frozen=True)
class ProcessReading:
    """One process's metrics at one tick."""

    pid: int
    name: str
    cpu_percent: float
    private_memory: int
    handles_fds: int


class AccessDeniedError(MonitorError):
    """The OS refused to let us read a process."""

    def __init__(self, pid: int, name: str) -> None:
        super().__init__(
            f"access denied reading process '{name}' (pid {pid}): run the monitor as the same user "
            "as the process, or with elevated rights (sudo on Linux, an Administrator prompt on Windows)"
        )
        self.pid = pid


def count_handles(proc: psutil.Process) -> int:
    """Open handles on Windows, open file descriptors elsewhere."""
    if IS_WINDOWS:
        return int(proc.num_handles())  # type: ignore[attr-defined,unused-ignore]
    return proc.num_fds()


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
            cpu = proc.cpu_percent()
            if newcomer:
                cpu = _cpu_since_creation(proc)
            private_memory = proc.memory_full_info().uss
            handles = count_handles(proc)
        # Checked after the read: if the PID was reused before it, the identity differs now.
        if check_identity and not proc.is_running():
            return None
    except psutil.NoSuchProcess:  # ZombieProcess too: it holds nothing any more
        return None
    except psutil.AccessDenied:
        raise AccessDeniedError(proc.pid, name) from None
    return ProcessReading(proc.pid, name, cpu, private_memory, handles)


def _cpu_since_creation(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    age_s = time.time() - proc.create_time()
    return 100.0 * (times.user + times.system) / age_s if age_s > 0 else 0.0


def headroom(processes: list[psutil.Process], handles_now: float) -> dict[str, float | None]:
    """How much each metric may still grow before a limit: available memory, and the open-file limit.

    The open-file limit is per process, so it is given only when one process is watched (Linux).
    """
    room: dict[str, float | None] = {MEMORY: float(psutil.virtual_memory().available), HANDLES: None}
    if len(processes) == 1 and hasattr(psutil, "RLIMIT_NOFILE"):
        try:
            soft, _ = processes[0].rlimit(psutil.RLIMIT_NOFILE)
        except (psutil.Error, OSError):
            return room
        if soft != psutil.RLIM_INFINITY:
            room[HANDLES] = float(soft) - handles_now
    return room
