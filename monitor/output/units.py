"""Numbers as people read them: bytes in KiB/MiB/GiB, counts and percentages by the metric's unit."""

from __future__ import annotations

from typing import Sequence

from monitor.metrics import Unit

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
NOT_AVAILABLE = "n/a"


def human_bytes(value: float) -> str:
    """1536 -> '1.5 KiB'."""
    size = float(value)
    for unit in _BYTE_UNITS:
        if abs(size) < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def format_value(value: float | None, unit: Unit, decimals: int = 1) -> str:
    """A metric's value with its unit: '12.5' for CPU %, '1.5 KiB' for bytes, '7.0' for counts; 'n/a' for None."""
    if value is None:
        return NOT_AVAILABLE
    if unit is Unit.BYTES:
        return human_bytes(value)
    return f"{value:.{decimals}f}"


# How many PIDs a console line names before it gives only a count; the JSON and the log keep all.
PIDS_SHOWN = 5


def plural(count: int, word: str, many: str | None = None) -> str:
    """'1 sample', '2 samples', '3 processes'."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def pid_list(pids: Sequence[int], limit: int | None = PIDS_SHOWN) -> str:
    """'pid 7', 'pids 7, 8, 9', or with more than `limit`: 'pids 7, 8, 9, 10, 11 and 55 more'."""
    if len(pids) == 1:
        return f"pid {pids[0]}"
    shown = pids if limit is None or len(pids) <= limit else pids[:limit]
    text = "pids " + ", ".join(str(pid) for pid in shown)
    return text if len(shown) == len(pids) else f"{text} and {len(pids) - len(shown)} more"


def processes_and_pids(pids: Sequence[int]) -> str:
    """'pid 7' for one process; '60 processes: pids 7, 8, 9, 10, 11 and 55 more' for many."""
    return pid_list(pids) if len(pids) <= PIDS_SHOWN else f"{len(pids)} processes: {pid_list(pids)}"
