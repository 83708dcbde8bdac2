"""Every number of the report and detail CSVs, checked on a real process: against the readings it came from,
computed here the plain way, and against what psutil reads of the same process."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import psutil

from monitor.metrics import (
    COUNTER_NAMES,
    CPU,
    CPU_SECONDS,
    CPU_SECONDS_SPENT,
    CTX_SWITCHES,
    DETAIL_COLUMNS,
    ELAPSED,
    HANDLES,
    MEMORY,
    METRIC_TABLE,
    METRICS,
    PROCESS_COUNT,
    REPORT_COLUMNS,
    RESIDENT,
    SWAPPED,
    THREADS,
    TIMESTAMP,
)
from monitor.output.csv_report import DetailSink, ReportSink
from monitor.output.facts import RunFacts
from monitor.sampling import finders, targets
from monitor.sampling.session import Session
from monitor.stream import ProcessEvent, ProcessReading, Sample, Sink
from tests.helpers import LINUX_ONLY, MonitorTestCase, read_csv, unique_name

INTERVAL_S = 0.05
TICKS = 30
DECIMALS = {metric.column: metric.decimals for metric in METRIC_TABLE}
# The rates, each with the raw counter it is the per-second change of.
RATE_OF = {metric.column: metric.rate_of for metric in METRIC_TABLE if metric.rate_of}


class Recorder(Sink):
    """Keeps every sample as the sinks got it."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []

    def add(self, sample: Sample) -> None:
        """Keep the sample."""
        self.samples.append(sample)

    def note(self, event: ProcessEvent) -> None:
        """Joins and exits play no part here."""


class Paced:
    """Never asks the run to stop; sleeps as the monitor does between ticks."""

    requested = False
    signum = None

    def sleep(self, seconds: float) -> None:
        """Wait until the next tick."""
        time.sleep(seconds)


def as_written(value: float | None, decimals: int) -> str:
    """A metric's value as a CSV cell: empty for none, whole or with `decimals` digits."""
    if value is None:
        return ""
    return str(round(value, decimals)) if decimals else str(int(value))


def total(readings: tuple[ProcessReading, ...], index: int) -> float | None:
    """The sum over processes of one metric, None when none gave it."""
    given = [value for reading in readings if (value := reading.values[index]) is not None]
    return sum(given) if given else None


def given(value: float | None) -> float:
    """A value the test needs present."""
    assert value is not None
    return value


@LINUX_ONLY
class CsvValuesTest(MonitorTestCase):
    def setUp(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.folder = Path(folder.name)
        self.name = unique_name("csvval")
        # Memory held, three extra threads, a few MiB written and read back a second: every metric moves or is
        # known, and the held memory, descriptors and threads stay put.
        self.workload = self.start_workload(
            self.name,
            "--hold-mib",
            "24",
            "--threads",
            "3",
            "--write-mib-per-s",
            "4",
            "--read-back",
            "--write-dir",
            str(self.folder),
        )
        self.report, self.detail = self.folder / "run.csv", self.folder / "run_processes.csv"
        for path in (self.report, self.detail):
            path.touch()
        self.recorder = Recorder()
        facts = RunFacts()
        sinks = [facts, ReportSink(self.report, facts), DetailSink(self.detail, facts), self.recorder]
        self.session = Session(targets.TargetSet(finders.by_pid(self.workload.pid)))
        self.first = self.session.start()
        try:
            self.session.run(INTERVAL_S, TICKS, sinks, Paced())
        finally:
            for sink in sinks:
                sink.close()
        self.samples = self.recorder.samples
        self.assertGreaterEqual(len(self.samples), TICKS // 2, "too few ticks fired to judge")

    def test_every_report_cell_follows_from_the_readings(self) -> None:
        """Each report row: the wall time, the processes' values summed and rounded, the tree CPU as a rate."""
        rows = read_csv(self.report)
        self.assertEqual(len(rows), len(self.samples))
        self.assertEqual(list(rows[0]), list(REPORT_COLUMNS))
        spent_so_far = 0.0
        previous_elapsed = None
        for row, sample in zip(rows, self.samples):
            spent = sum(seconds for _, seconds in sample.cpu_spent)
            spent_so_far += spent
            self.assertEqual(row[TIMESTAMP], sample.wall_time.isoformat(timespec="milliseconds"))
            self.assertEqual(row[PROCESS_COUNT], str(len(sample.readings)))
            self.assertEqual(row[ELAPSED], str(round(sample.elapsed_s, 6)))
            self.assertAlmostEqual(float(row[CPU_SECONDS_SPENT]), spent_so_far, delta=0.0011)
            for index, column in enumerate(METRICS):
                if column == CPU:
                    continue
                self.assertEqual(row[column], as_written(total(sample.readings, index), DECIMALS[column]), column)
            if previous_elapsed is not None:
                # The tree's CPU seconds over the time since the previous tick, as a percentage of one core.
                cpu = 100.0 * spent / (sample.elapsed_s - previous_elapsed)
                self.assertAlmostEqual(float(row[CPU]), cpu, delta=0.011)
            previous_elapsed = sample.elapsed_s

    def test_every_detail_cell_is_the_process_reading(self) -> None:
        """Each detail row: the sample's time, the PID and name, and the reading's values rounded as the report's."""
        rows = read_csv(self.detail)
        expected = [
            [
                sample.wall_time.isoformat(timespec="milliseconds"),
                str(reading.pid),
                reading.name,
                *(as_written(value, DECIMALS[column]) for column, value in zip(METRICS, reading.values)),
            ]
            for sample in self.samples
            for reading in sample.readings
        ]
        self.assertEqual([[row[column] for column in DETAIL_COLUMNS] for row in rows], expected)

    def test_rates_are_the_change_of_each_counter_over_the_time_between_reads(self) -> None:
        """A rate is its counter's change over the time between the process's two readings; CPU follows its counter."""
        readings = [self.first[0], *(sample.readings[0] for sample in self.samples)]
        for before, now in zip(readings, readings[1:]):
            elapsed = now.read_at - before.read_at
            for column, counter in RATE_OF.items():
                index = COUNTER_NAMES.index(counter)
                expected = (given(now.counters[index]) - given(before.counters[index])) / elapsed
                self.assertAlmostEqual(given(now.values[METRICS.index(column)]), expected, delta=1e-6, msg=column)
        written = given(readings[-1].counter("write_bytes")) - given(readings[0].counter("write_bytes"))
        self.assertGreater(written, 0, "the workload's writes did not show: the rates would prove nothing")
        # The tree's CPU over the run is the growth of the process's own CPU time (it reaps no children).
        cpu_seconds = given(readings[-1].counter(CPU_SECONDS)) - given(readings[0].counter(CPU_SECONDS))
        self.assertAlmostEqual(self.samples[-1].cpu_seconds, cpu_seconds, delta=1e-9)

    def test_the_values_are_what_psutil_reads_of_the_same_process(self) -> None:
        """Memory, descriptors and threads equal psutil's reads of the idle process; switches count every thread."""
        proc = psutil.Process(self.workload.pid)
        with proc.oneshot():
            memory = proc.memory_full_info()
            fds, threads = proc.num_fds(), proc.num_threads()
            switches = sum(sum(psutil.Process(thread.id).num_ctx_switches()) for thread in proc.threads())
        last = read_csv(self.report)[-1]
        self.assertEqual(int(last[HANDLES]), fds)
        self.assertEqual(int(last[THREADS]), threads)
        self.assertEqual(threads, 4)
        self.assertEqual(int(last[SWAPPED]), memory.swap)
        # Held memory stays put; writing and reading back a MiB may touch a page or two of the interpreter's.
        self.assertAlmostEqual(int(last[MEMORY]), memory.uss, delta=64 * 1024)
        self.assertAlmostEqual(int(last[RESIDENT]), memory.rss, delta=64 * 1024)
        self.assertGreater(memory.uss, 24 * 1024 * 1024)
        counted = given(self.samples[-1].readings[0].counter(CTX_SWITCHES))
        # Every thread's switches, read after the run: at least the monitor's count, and not far above it
        # (the main thread wakes 20 times a second and writes a MiB every quarter of a second).
        self.assertGreaterEqual(switches, counted)
        self.assertLess(switches - counted, 2000)
