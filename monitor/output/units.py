"""Every value-to-text of the output: bytes in KiB/MiB/GiB, counts, rates and percentages by the metric's unit."""

from __future__ import annotations

from typing import Sequence

from monitor.metrics import Unit

_BYTE_UNITS = (("TiB", 1024.0**4), ("GiB", 1024.0**3), ("MiB", 1024.0**2), ("KiB", 1024.0), ("B", 1.0))
NOT_AVAILABLE = "n/a"


def byte_unit(value: float) -> tuple[str, float]:
    """The unit a byte count reads best in, and its size: 1536 -> ('KiB', 1024.0)."""
    for name, size in _BYTE_UNITS:
        if abs(value) >= size:
            return name, size
    return "B", 1.0


def human_bytes(value: float, whole_from: float = float("inf")) -> str:
    """1536 -> '1.5 KiB'; bytes are whole, and from `whole_from` units up no decimal is shown either."""
    name, size = byte_unit(float(value))
    scaled = float(value) / size
    if name == "B" or abs(scaled) >= whole_from:
        return f"{scaled:.0f} {name}"
    return f"{scaled:.1f} {name}"


def format_value(value: float | None, unit: Unit, decimals: int = 1) -> str:
    """A metric's value with its unit: '12.5' for CPU %, '1.5 KiB' for bytes, '7.0' for counts; 'n/a' for None."""
    if value is None:
        return NOT_AVAILABLE
    if unit is Unit.BYTES:
        return human_bytes(value)
    return f"{value:.{decimals}f}"


def format_amount(value: float, unit: Unit, exact_bytes: bool = False) -> str:
    """A value in a sentence, with its unit: '0.60 %', '1.5 KiB (1536 bytes)', '2.0 MiB/s', '20.2/s', '5.00'."""
    if unit is Unit.BYTES:
        return f"{human_bytes(value)} ({value:.0f} bytes)" if exact_bytes else human_bytes(value)
    if unit is Unit.BYTES_PER_S:
        return f"{human_bytes(value)}/s"
    if unit is Unit.PERCENT:
        return f"{value:.2f} %"
    if unit is Unit.PER_S:
        return f"{value:.1f}/s"
    return f"{value:.2f}"


def format_cell(value: float | None, unit: Unit) -> str:
    """A table cell: '9.1 MiB', '1023 MiB', '6.0', '1600': one decimal under 100, none from 100 up; '-' for none."""
    if value is None:
        return "-"
    if unit in (Unit.BYTES, Unit.BYTES_PER_S):
        text = human_bytes(value, whole_from=99.95)
        return text + "/s" if unit is Unit.BYTES_PER_S else text
    return f"{value:.1f}" if abs(value) < 99.95 else f"{value:.0f}"


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
