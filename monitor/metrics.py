"""The metric table: every metric declared once; columns, averages, console, JSON, chart and checks derive from it.

Adding a metric is one row here and one probe in `monitor/sampling/probes.py` that reads it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Unit(enum.Enum):
    """How a metric's values are counted, and so how they are shown."""

    PERCENT = "%"
    BYTES = "bytes"
    COUNT = "count"


class Combine(enum.Enum):
    """How the values of several instances make one total."""

    SUM = "sum"


@dataclass(frozen=True)
class Metric:
    """One measured quantity of a process."""

    column: str  # CSV column and key in every summary
    title: str  # in sentences: "Average <title>"
    console_title: str  # the live table's column title
    chart_title: str  # the chart panel's axis label (a byte unit is added)
    unit: Unit
    decimals: int = 0  # digits kept in the CSV; 0 writes whole numbers
    combine: Combine = Combine.SUM
    leak_checked: bool = False  # judged by the trend detector
    quantum: float = 1.0  # the smallest step it moves in
    trend_title: str = ""  # the trend verdict's line title, for leak-checked metrics


TIMESTAMP = "timestamp"
PROCESS_COUNT = "process_count"
ELAPSED = "elapsed_s"
PID = "pid"
NAME = "name"

CPU = "cpu_percent"
MEMORY = "private_memory"
HANDLES = "handles_fds"

# The README's metrics, in the README's column order; metrics added later are appended after them.
METRIC_TABLE = (
    Metric(CPU, "CPU", "cpu %", "CPU (%, 100 = one core)", Unit.PERCENT, decimals=2),
    Metric(
        MEMORY,
        "private memory",
        "private mem",
        "Private memory",
        Unit.BYTES,
        leak_checked=True,
        quantum=4096.0,  # a memory page
        trend_title="Memory trend",
    ),
    Metric(
        HANDLES,
        "handles/FDs",
        "handles",
        "Handles / FDs",
        Unit.COUNT,
        leak_checked=True,
        trend_title="Handles/FDs trend",
    ),
)
README_METRIC_COUNT = 3
METRICS = tuple(metric.column for metric in METRIC_TABLE)
BY_COLUMN = {metric.column: metric for metric in METRIC_TABLE}
LEAK_CHECKED = tuple(metric for metric in METRIC_TABLE if metric.leak_checked)
# The README leak rule is about private memory only.
HEURISTIC_METRIC = MEMORY

_README, _ADDED = METRICS[:README_METRIC_COUNT], METRICS[README_METRIC_COUNT:]
# The README's columns first, under their names; process_count and elapsed_s, then added metrics.
REPORT_COLUMNS = (TIMESTAMP, *_README, PROCESS_COUNT, ELAPSED, *_ADDED)
REQUIRED_REPORT_COLUMNS = (TIMESTAMP, *_README)
DETAIL_COLUMNS = (TIMESTAMP, PID, NAME, *METRICS)
