"""What a bare psutil loop reads of one process: the baselines the benches hold the monitor against.

Call them inside the caller's `proc.oneshot()`, as the monitor reads each process in one.
"""

from __future__ import annotations

import psutil


def reported_calls(proc: psutil.Process) -> None:
    """The calls a psutil loop makes for the metrics the monitor reports, CPU % included."""
    proc.status()
    proc.cpu_percent()
    served_calls_without_status(proc)


def served_calls(proc: psutil.Process) -> None:
    """The calls whose numbers /metrics serves (CPU % is not served: its counter is)."""
    proc.status()
    served_calls_without_status(proc)


def served_calls_without_status(proc: psutil.Process) -> None:
    """CPU times, memory (USS, RSS, swap), descriptors, threads, storage I/O and context switches."""
    proc.cpu_times()
    proc.memory_full_info()
    proc.num_fds()
    proc.num_threads()
    proc.io_counters()
    proc.num_ctx_switches()
