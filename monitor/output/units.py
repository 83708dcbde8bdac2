"""Numbers as people read them: bytes in KiB/MiB/GiB, counts and percentages by the metric's unit."""

from __future__ import annotations

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
