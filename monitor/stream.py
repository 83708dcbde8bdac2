"""The sample stream's types, below both the sampling layer that makes them and the sinks that take them.

A sink never depends on psutil's layer: it sees only these plain values.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from typing import NamedTuple, Optional

from monitor.metrics import COUNTER_NAMES, METRICS

Value = Optional[float]


class ProcessReading(NamedTuple):
    """One process's metrics at one tick, in the metric table's order, and its raw counters (a cheap tuple)."""

    pid: int
    name: str
    values: tuple[Value, ...]
    counters: tuple[Value, ...] = ()  # in COUNTER_NAMES order
    read_at: float = 0.0  # monotonic time of the read
    parent: int | None = None  # the parent's PID
    reaped_cpu_s: float = 0.0  # CPU seconds of the children it has reaped (user + system)
    age_s: float | None = None  # seconds since creation, read for a newcomer only

    def value(self, column: str) -> Value:
        """The value of one metric, by its column name."""
        return self.values[METRICS.index(column)]

    def counter(self, name: str) -> Value:
        """The value of one raw counter, by its name."""
        return self.counters[COUNTER_NAMES.index(name)]


@dataclass(frozen=True)
class Sample:
    """Everything one tick measured: per-process readings and their totals, in the metric table's order."""

    index: int  # the tick number, 1 for the first
    wall_time: datetime.datetime  # local time with its UTC offset
    elapsed_s: float  # monotonic seconds since the first sample: immune to clock steps
    readings: tuple[ProcessReading, ...]
    totals: tuple[float | None, ...]  # None where no process gave the value (refused, or not on this OS)
    read_s: float = 0.0  # how long reading every process took
    # CPU seconds since the run started, and spent since the previous sample per root PID, children
    # that lived and died in between included (see tree_cpu): the CPU total is their rate.
    cpu_seconds: float = 0.0
    cpu_spent: tuple[tuple[int, float], ...] = ()


class EventKind(enum.Enum):
    """What happened to a watched process between samples."""

    JOINED = "joined"
    EXITED = "exited"
    DENIED = "denied"  # found, but the OS refuses to let it be read: skipped for the rest of the run


@dataclass(frozen=True)
class ProcessEvent:
    """A process that joined or left the watched set, or was found but may not be read."""

    kind: EventKind
    pid: int
    name: str
    samples: int  # samples taken before the event
    is_root: bool  # a process asked for (not a child found along the way)


class Sink:
    """A destination of the sample stream; each sink decides how to store or show what it gets."""

    def add(self, sample: Sample) -> None:
        """Take one sample."""

    def note(self, event: ProcessEvent) -> None:
        """Take a join, an exit or a denial."""

    def close(self) -> None:
        """Finish: write what is held, release files."""
