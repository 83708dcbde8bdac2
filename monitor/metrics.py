"""The metric table: every metric declared once; columns, averages, console, JSON, chart and checks derive from it.

Adding a metric is one row here and one probe in `monitor/sampling/probes.py` that reads it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping


class Unit(enum.Enum):
    """How a metric's values are counted, and so how they are shown."""

    PERCENT = "%"
    BYTES = "bytes"
    COUNT = "count"
    BYTES_PER_S = "bytes/s"
    PER_S = "/s"


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
    # The trend judges this metric plus these columns (private memory with what was swapped out).
    judged_with: tuple[str, ...] = ()
    # A rate: the per-second change of this raw counter, per process, over the interval.
    rate_of: str = ""
    panel: str = ""  # the chart panel it is drawn in ("" for none)
    exported: str = ""  # the Prometheus gauge name after procmon_ ("" when served as a counter or not at all)
    limit: str = ""  # what a leak of it runs into, for leak-checked metrics
    help: str = ""  # what it is, for the Prometheus HELP line


TIMESTAMP = "timestamp"
PROCESS_COUNT = "process_count"
ELAPSED = "elapsed_s"
PID = "pid"
NAME = "name"

CPU = "cpu_percent"
MEMORY = "private_memory"
HANDLES = "handles_fds"
RESIDENT = "resident_memory"
SWAPPED = "swapped_memory"
THREADS = "threads"
READ_RATE = "read_bytes_per_s"
WRITE_RATE = "write_bytes_per_s"
SWITCH_RATE = "ctx_switches_per_s"

# Raw per-process counters, read with the metrics: served to Prometheus as `_total` counters, and the
# source of the rate metrics. Name -> (Prometheus name after procmon_, HELP text).
CPU_SECONDS = "cpu_seconds"
READ_BYTES = "read_bytes"
WRITE_BYTES = "write_bytes"
CTX_SWITCHES = "ctx_switches"
COUNTERS = {
    CPU_SECONDS: ("cpu_seconds_total", "CPU time (user + system) of the watched processes, in seconds."),
    READ_BYTES: ("read_bytes_total", "Bytes the watched processes read from storage."),
    WRITE_BYTES: ("write_bytes_total", "Bytes the watched processes wrote to storage."),
    CTX_SWITCHES: ("context_switches_total", "Context switches, voluntary and involuntary."),
}
COUNTER_NAMES = tuple(COUNTERS)

# The README's metrics, in the README's column order; metrics added later are appended after them.
METRIC_TABLE = (
    Metric(CPU, "CPU", "cpu %", "CPU (%, 100 = one core)", Unit.PERCENT, decimals=2, panel="cpu"),
    Metric(
        MEMORY,
        "private memory",
        "private mem",
        "Memory",
        Unit.BYTES,
        leak_checked=True,
        quantum=4096.0,  # a memory page
        trend_title="Memory trend",
        limit="the machine's available memory runs out",
        judged_with=(SWAPPED,),
        panel="memory",
        exported="private_memory_bytes",
        help="Private memory (USS) of the watched processes, in bytes.",
    ),
    Metric(
        HANDLES,
        "handles/FDs",
        "handles",
        "Handles / FDs",
        Unit.COUNT,
        leak_checked=True,
        trend_title="Handles/FDs trend",
        limit="the process's open-file limit is reached",
        panel="handles",
        exported="open_handles",
        help="Open handles (Windows) or file descriptors of the watched processes.",
    ),
    Metric(
        RESIDENT,
        "resident memory",
        "resident",
        "Memory",
        Unit.BYTES,
        panel="memory",
        exported="resident_memory_bytes",
        help="Resident memory (RSS) of the watched processes, in bytes.",
    ),
    Metric(
        SWAPPED,
        "swapped memory",
        "swapped",
        "Memory",
        Unit.BYTES,
        panel="memory",
        exported="swapped_memory_bytes",
        help="Memory of the watched processes swapped out, in bytes (Linux).",
    ),
    Metric(
        THREADS,
        "threads",
        "threads",
        "Threads",
        Unit.COUNT,
        panel="threads",
        exported="threads",
        help="Threads of the watched processes.",
    ),
    Metric(READ_RATE, "storage reads", "read/s", "Storage I/O", Unit.BYTES_PER_S, rate_of=READ_BYTES, panel="io"),
    Metric(WRITE_RATE, "storage writes", "write/s", "Storage I/O", Unit.BYTES_PER_S, rate_of=WRITE_BYTES, panel="io"),
    Metric(
        SWITCH_RATE, "context switches", "ctxsw/s", "Context switches", Unit.PER_S, decimals=1, rate_of=CTX_SWITCHES
    ),
)
README_METRIC_COUNT = 3
METRICS = tuple(metric.column for metric in METRIC_TABLE)
BY_COLUMN = {metric.column: metric for metric in METRIC_TABLE}
LEAK_CHECKED = tuple(metric for metric in METRIC_TABLE if metric.leak_checked)
# The README leak rule is about private memory only.
HEURISTIC_METRIC = MEMORY
RATES = tuple(metric for metric in METRIC_TABLE if metric.rate_of)

_README, _ADDED = METRICS[:README_METRIC_COUNT], METRICS[README_METRIC_COUNT:]
# The CPU seconds the watched set spent since the first sample, children that came and went between
# samples included: cpu_percent x interval summed, so a report can be checked against the kernel's count.
CPU_SECONDS_SPENT = "cpu_seconds"
# The README's columns first, under their names; process_count and elapsed_s, then added columns.
REPORT_COLUMNS = (TIMESTAMP, *_README, PROCESS_COUNT, ELAPSED, *_ADDED, CPU_SECONDS_SPENT)
REQUIRED_REPORT_COLUMNS = (TIMESTAMP, *_README)
DETAIL_COLUMNS = (TIMESTAMP, PID, NAME, *METRICS)


def trend_value(metric: Metric, totals: Mapping[str, float | None]) -> float | None:
    """The value the trend detector judges for a leak-checked metric: the metric plus its judged_with columns.

    A missing part (swap where the OS does not report it) counts as 0; a missing metric gives None.
    """
    value = totals.get(metric.column)
    if value is None:
        return None
    return value + sum(totals.get(column) or 0.0 for column in metric.judged_with)
