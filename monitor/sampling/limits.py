"""How far each leak-checked metric may still grow before the machine or the process hits a limit."""

from __future__ import annotations

import psutil

from monitor.metrics import HANDLES, MEMORY
from monitor.sampling.probes import count_handles


def headroom(processes: list[psutil.Process]) -> dict[str, float | None]:
    """Available memory, and what is left of the open-file limit (Linux, one process watched)."""
    room: dict[str, float | None] = {MEMORY: float(psutil.virtual_memory().available), HANDLES: None}
    # The open-file limit is per process: a sum over several instances has no single limit.
    if len(processes) == 1 and hasattr(psutil, "RLIMIT_NOFILE"):
        try:
            soft, _ = processes[0].rlimit(psutil.RLIMIT_NOFILE)
            handles_now = count_handles(processes[0])
        except (psutil.Error, OSError):
            return room
        if soft != psutil.RLIM_INFINITY:
            room[HANDLES] = float(soft) - handles_now
    return room
