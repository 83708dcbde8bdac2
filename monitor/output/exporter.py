"""The Prometheus exporter: a sink that keeps the latest values, counters and windowed leak verdicts per name,
and a prometheus_client collector that serves them from a private registry.

Names follow Prometheus' conventions: base units, `_total` counters, CPU as seconds. A counter adds up
each process's own increments, so it never goes back when instances come and go; a process that joins
starts counting from its first reading, and a counter that falls (a reused PID) starts again there.
CPU seconds are the session's account of each root's tree instead: with children watched, what
children spent between two ticks counts too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence, Union

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from monitor.analysis.trend import Trend, Verdict
from monitor.analysis.window import ANALYSIS_SHARE, WindowedTrend
from monitor.metrics import COUNTER_NAMES, COUNTERS, CPU_SECONDS, LEAK_CHECKED, METRIC_TABLE, trend_value
from monitor.stream import EventKind, ProcessEvent, ProcessReading, Sample, Sink

PREFIX = "procmon_"
# The fewest samples a window holds: fewer give no verdict.
MIN_WINDOW_SAMPLES = 8
# Verdicts over a window are refreshed at most this many times per window length (every 15 s for
# the default hour): an alert that waits minutes gains nothing from fresher ones, and a refresh of a
# full window costs tens of milliseconds.
REFRESHES_PER_WINDOW = 240
# Upper bounds (seconds) of the sample-duration histogram's buckets; +Inf is added.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_GAUGES = tuple((index, metric) for index, metric in enumerate(METRIC_TABLE) if metric.exported)
_GAUGE_COLUMNS = tuple(metric.column for _, metric in _GAUGES)
# (slot in a label's gauge sums, index in a reading's values), for each served gauge.
_GAUGE_SLOTS = tuple(enumerate(index for index, _ in _GAUGES))
_CPU_SECONDS_SLOT = COUNTER_NAMES.index(CPU_SECONDS)
# CPU seconds come from the sample's tree accounting (children that came and went between ticks
# included); the other counters add up each process's own increments.
_COUNTED_PER_PROCESS = tuple(index for index, name in enumerate(COUNTER_NAMES) if name != CPU_SECONDS)
Family = Union[GaugeMetricFamily, CounterMetricFamily, HistogramMetricFamily]


@dataclass
class Group:
    """What the exporter serves for one `name` label."""

    processes: int = 0
    totals: dict[str, float] = field(default_factory=dict)
    per_pid: dict[int, tuple[float | None, ...]] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)
    denied: set[int] = field(default_factory=set)
    verdicts: dict[str, tuple[int, float | None, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """Everything one scrape shows, as of the latest sample."""

    groups: dict[str, Group]
    ticks_missed: int
    durations: tuple[int, ...]
    duration_sum: float


class _Tally:
    """One label's running sums, in lists laid out once: a gauge's slot, a counter's slot (None until given)."""

    __slots__ = ("counters", "denied", "per_pid", "processes", "totals", "verdicts")

    def __init__(self) -> None:
        self.processes = 0
        self.totals: list[float | None] = [None] * len(_GAUGES)
        self.counters: list[float | None] = [None] * len(COUNTER_NAMES)
        self.per_pid: dict[int, tuple[float | None, ...]] = {}
        self.denied: set[int] = set()
        self.verdicts: dict[str, tuple[int, float | None, float | None]] = {}

    def published(self) -> Group:
        """A copy that later ticks do not change."""
        totals = {column: value for column, value in zip(_GAUGE_COLUMNS, self.totals) if value is not None}
        counters = {name: value for name, value in zip(COUNTER_NAMES, self.counters) if value is not None}
        return Group(self.processes, totals, dict(self.per_pid), counters, set(self.denied), dict(self.verdicts))


class ExporterSink(Sink):
    """Turns the sample stream into what /metrics serves.

    `label_of(pid, name)` gives a process's `name` label; `window_s` is how much of the recent run the
    leak verdicts look at (at least 8 samples); `headroom(label)` what is left before each metric's limit;
    `min_rates` the smallest growth per hour called a leak, for the metrics given (else the default).

    A tick only adds the readings into each label's lists; the scrape (in the HTTP server's thread)
    copies them into families. The tick swaps in a new tuple of copies at its end, so a scrape never
    sees half a tick.
    """

    def __init__(
        self,
        label_of: Callable[[int, str], str],
        window_s: float,
        interval_s: float,
        labels: tuple[str, ...] = (),
        per_pid: bool = False,
        headroom: Callable[[str], dict[str, float | None]] | None = None,
        min_rates: Mapping[str, float] | None = None,
    ) -> None:
        self._label_of = label_of
        self._window_s = window_s
        # The samples the window holds: a verdict needs 8 at least, whatever the interval.
        self._window = max(math.ceil(window_s / interval_s), MIN_WINDOW_SAMPLES)
        self._interval_s = interval_s
        self.per_pid = per_pid
        self._headroom = headroom
        self._min_rates = dict(min_rates or {})
        self._tallies: dict[str, _Tally] = {}
        self._windows: dict[tuple[str, str], WindowedTrend] = {}
        self._last_counters: dict[int, tuple[float | None, ...]] = {}
        # The label of each PID read at the last two folds: a root gone since still has its last CPU to count.
        self._labels: dict[int, str] = {}
        self._previous_labels: dict[int, str] = {}
        self._last_index = 0
        self._ticks_missed = 0
        self._durations = [0] * (len(DURATION_BUCKETS) + 1)
        self._duration_sum = 0.0
        for label in labels:
            self._tally(label)
        self._published = self._publish()

    @property
    def snapshot(self) -> Snapshot:
        """What a scrape shows now: the state published at the end of the latest sample."""
        tallies, ticks_missed, durations, duration_sum = self._published
        return Snapshot({label: tally for label, tally in tallies}, ticks_missed, durations, duration_sum)

    def windows(self) -> dict[tuple[str, str], WindowedTrend]:
        """The verdict window of each (name label, metric column) made so far."""
        return self._windows

    def start(self, readings: Sequence[ProcessReading]) -> None:
        """Serve the readings taken at start until the first sample: process counts, gauges, counters from 0.

        They are no sample (no tick, no duration, no point in a verdict's window), and the counters
        count from them, so none jumps at the first sample.
        """
        self._fold(readings)
        self._published = self._publish()

    def add(self, sample: Sample) -> None:
        """Fold one sample into totals, counters and windows, then publish them for the next scrape."""
        self._ticks_missed += max(sample.index - self._last_index - 1, 0)
        self._last_index = sample.index
        self._observe_duration(sample.read_s)
        self._fold(sample.readings)
        for root, seconds in sample.cpu_spent:
            label = self._labels.get(root) or self._previous_labels.get(root) or self._label_of(root, "")
            counters = self._tally(label).counters
            counters[_CPU_SECONDS_SLOT] = (counters[_CPU_SECONDS_SLOT] or 0.0) + seconds
        for label, tally in self._tallies.items():
            self._judge(label, tally, sample.elapsed_s)
        self._published = self._publish()

    def _fold(self, readings: Sequence[ProcessReading]) -> None:
        """Set each name's process count and summed gauges to these readings, and add their counters' increments."""
        for tally in self._tallies.values():
            tally.processes = 0
            tally.totals = [None] * len(_GAUGES)
            if tally.per_pid:
                tally.per_pid = {}
        labels = {}
        last_counters, new_counters = self._last_counters, {}
        per_pid = self.per_pid
        for reading in readings:
            pid = reading.pid
            label = labels[pid] = self._label_of(pid, reading.name)
            tally = self._tallies.get(label) or self._tally(label)
            tally.processes += 1
            values, totals = reading.values, tally.totals
            for slot, index in _GAUGE_SLOTS:
                value = values[index]
                if value is not None:
                    total = totals[slot]
                    totals[slot] = value if total is None else total + value
            if per_pid:
                tally.per_pid[pid] = values
            counters = reading.counters
            new_counters[pid] = counters
            _count(tally.counters, last_counters.get(pid), counters)
        # A PID not read this time is forgotten: if its number comes back, it starts counting anew.
        self._last_counters = new_counters
        self._previous_labels, self._labels = self._labels, labels
        for tally in self._tallies.values():
            if not tally.processes:
                # No process of the name now: the sums are 0, not unknown (a dashboard shows 0, not a gap).
                tally.totals = [0.0] * len(_GAUGES)
            if tally.counters[_CPU_SECONDS_SLOT] is None and tally.processes:
                tally.counters[_CPU_SECONDS_SLOT] = 0.0

    def note(self, event: ProcessEvent) -> None:
        """Count the processes the OS would not let us read."""
        if event.kind is EventKind.DENIED:
            self._tally(self._label_of(event.pid, event.name)).denied.add(event.pid)

    def _tally(self, label: str) -> _Tally:
        tally = self._tallies.get(label)
        if tally is None:
            tally = self._tallies[label] = _Tally()
        return tally

    def _judge(self, label: str, tally: _Tally, elapsed_s: float) -> None:
        totals = {column: value for column, value in zip(_GAUGE_COLUMNS, tally.totals) if value is not None}
        for metric in LEAK_CHECKED:
            key = (label, metric.column)
            windowed = self._windows.get(key)
            if windowed is None:
                # Every window analysed on one tick shares the analysis' part of the interval.
                share = ANALYSIS_SHARE / (len(LEAK_CHECKED) * max(len(self._tallies), 1))
                refresh_s = self._window_s / REFRESHES_PER_WINDOW
                windowed = WindowedTrend(
                    self._window,
                    self._interval_s,
                    metric.quantum,
                    share,
                    refresh_s=refresh_s,
                    min_rate_per_hour=self._min_rates.get(metric.column),
                )
                self._windows[key] = windowed
            value = trend_value(metric, totals) if tally.processes else None
            trend = windowed.trend
            if value is not None:
                trend = windowed.add(elapsed_s, value, self._room(label, metric.column))
            tally.verdicts[metric.column] = _verdict_numbers(trend)

    def _room(self, label: str, column: str) -> Callable[[], float | None]:
        """What is left before the limit, asked only when the window is analysed (it reads the OS)."""
        return lambda: self._headroom(label).get(column) if self._headroom is not None else None

    def _observe_duration(self, seconds: float) -> None:
        for index, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self._durations[index] += 1
                break
        else:
            self._durations[-1] += 1
        self._duration_sum += seconds

    def _publish(self) -> tuple[tuple[tuple[str, Group], ...], int, tuple[int, ...], float]:
        tallies = tuple((label, tally.published()) for label, tally in self._tallies.items())
        return tallies, self._ticks_missed, tuple(self._durations), self._duration_sum


def _count(sums: list[float | None], last: tuple[float | None, ...] | None, counters: tuple[float | None, ...]) -> None:
    """Add one process's counter increments since its last reading into a label's counter sums."""
    for slot in _COUNTED_PER_PROCESS:
        now = counters[slot]
        if now is None:
            continue
        before = None if last is None else last[slot]
        # A first reading, or a counter that went back (the PID now names another process), adds nothing.
        if before is not None and now >= before:
            total = sums[slot]
            sums[slot] = (now - before) if total is None else total + (now - before)
        elif sums[slot] is None:
            sums[slot] = 0.0


def _verdict_numbers(trend: Trend | None) -> tuple[int, float | None, float | None]:
    """(1 for a leak else 0, growth per second, seconds to the limit) of a window's verdict."""
    if trend is None:
        return 0, None, None
    per_second = None if trend.rate_per_hour is None else trend.rate_per_hour / 3600.0
    to_limit = None if trend.hours_to_limit is None else trend.hours_to_limit * 3600.0
    return (1 if trend.verdict is Verdict.LEAK else 0), per_second, to_limit


class ExporterCollector(Collector):
    """Builds a scrape's metric families from the sink's latest snapshot."""

    def __init__(self, sink: ExporterSink) -> None:
        self._sink = sink

    def collect(self) -> Iterator[Family]:
        """Every family, from one consistent snapshot."""
        snapshot = self._sink.snapshot
        groups = snapshot.groups
        processes = GaugeMetricFamily(f"{PREFIX}processes", "Processes watched under this name now.", labels=["name"])
        denied = GaugeMetricFamily(
            f"{PREFIX}denied_processes",
            "Processes of this name the OS would not let the monitor read.",
            labels=["name"],
        )
        for label, group in groups.items():
            processes.add_metric([label], group.processes)
            denied.add_metric([label], len(group.denied))
        yield processes
        yield denied
        for index, metric in _GAUGES:
            yield self._gauge(index, metric.column, metric.exported, metric.help, groups)
        for counter, (exported, help_text) in COUNTERS.items():
            family = CounterMetricFamily(f"{PREFIX}{exported.removesuffix('_total')}", help_text, labels=["name"])
            for label, group in groups.items():
                if counter in group.counters:
                    family.add_metric([label], group.counters[counter])
            yield family
        yield from _verdict_families(groups)
        missed = CounterMetricFamily(
            f"{PREFIX}ticks_missed", "Ticks skipped because the machine stalled for over half an interval."
        )
        missed.add_metric([], snapshot.ticks_missed)
        yield missed
        yield _duration_histogram(snapshot)

    def _gauge(self, index: int, column: str, exported: str, help_text: str, groups: dict[str, Group]) -> Family:
        labels = ["name", "pid"] if self._sink.per_pid else ["name"]
        family = GaugeMetricFamily(f"{PREFIX}{exported}", help_text, labels=labels)
        for label, group in groups.items():
            if self._sink.per_pid:
                for pid, values in group.per_pid.items():
                    value = values[index]
                    if value is not None:
                        family.add_metric([label, str(pid)], value)
            elif column in group.totals:
                family.add_metric([label], group.totals[column])
        return family


def _verdict_families(groups: dict[str, Group]) -> Iterator[Family]:
    leak = GaugeMetricFamily(
        f"{PREFIX}leak", "1 when the trend detector calls the window a leak, else 0.", labels=["name", "metric"]
    )
    growth = GaugeMetricFamily(
        f"{PREFIX}growth_per_second",
        "Growth of the metric over the window (Theil-Sen slope), in its unit per second.",
        labels=["name", "metric"],
    )
    to_limit = GaugeMetricFamily(
        f"{PREFIX}seconds_to_limit",
        "Seconds until a known limit is reached at the window's growth, for a leak.",
        labels=["name", "metric"],
    )
    for label, group in groups.items():
        for column, (is_leak, per_second, seconds) in group.verdicts.items():
            leak.add_metric([label, column], is_leak)
            if per_second is not None and math.isfinite(per_second):
                growth.add_metric([label, column], per_second)
            if seconds is not None and math.isfinite(seconds):
                to_limit.add_metric([label, column], seconds)
    yield leak
    yield growth
    yield to_limit


def _duration_histogram(snapshot: Snapshot) -> Family:
    buckets, cumulative = [], 0
    bounds = [*(repr(bound) for bound in DURATION_BUCKETS), "+Inf"]
    for bound, count in zip(bounds, snapshot.durations):
        cumulative += count
        buckets.append((bound, cumulative))
    histogram = HistogramMetricFamily(
        f"{PREFIX}sample_duration_seconds", "Time taken to read every watched process at one tick."
    )
    histogram.add_metric([], buckets, snapshot.duration_sum)
    return histogram


def registry_for(sink: ExporterSink) -> CollectorRegistry:
    """A private registry holding only the exporter's collector (the global one is never touched)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ExporterCollector(sink))
    return registry
