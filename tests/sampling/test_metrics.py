"""The metrics added to the README's three, on real processes: threads, storage I/O, resident memory, rates,
selection by command line, the --wide table, and values the OS refuses."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

import psutil

from monitor.metrics import (
    MEMORY,
    METRIC_TABLE,
    METRICS,
    RATES,
    README_METRIC_COUNT,
    RESIDENT,
    THREADS,
    WRITE_BYTES,
    WRITE_RATE,
)
from monitor.output.console import LEAK_MARKER, TERMINAL_COLUMNS, format_header, format_row
from monitor.sampling import finders
from monitor.sampling.probes import read_process
from monitor.sampling.session import Session
from monitor.sampling.signals import StopSignals
from monitor.sampling.targets import TargetSet
from monitor.stream import ProcessReading, Sample
from tests.helpers import LINUX_ONLY, ROOT, Collector, MonitorTestCase, only_file, read_csv, unique_name
from tests.process_tools import wait_until

MIB = 1024 * 1024
ADDED_TITLES = [metric.console_title for metric in METRIC_TABLE[README_METRIC_COUNT:]]
MEMORY_FILESYSTEMS = {"tmpfs", "ramfs", "devtmpfs"}


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding `path`, from /proc/mounts (the longest mount point above it)."""
    best, kind = "", ""
    resolved = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        _, point, fstype, *_ = line.split()
        point = point.replace("\\040", " ")
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fstype
    return kind


def written_bytes(pid: int) -> int:
    """write_bytes of /proc/PID/io."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "write_bytes":
            return int(value)
    raise AssertionError(f"no write_bytes in /proc/{pid}/io")


class DiskTestCase(MonitorTestCase):
    """A test case with a folder on a real disk, where written bytes reach storage."""

    def disk_folder(self) -> Path:
        """A fresh folder under tests/, removed at cleanup; skips the test when that is in memory (tmpfs)."""
        tmp = tempfile.TemporaryDirectory(dir=ROOT / "tests", prefix="io-")
        self.addCleanup(tmp.cleanup)
        folder = Path(tmp.name)
        kind = filesystem_type(folder)
        if kind in MEMORY_FILESYSTEMS:
            self.skipTest(f"{folder} is on {kind}: bytes written there never reach storage, so none are counted")
        return folder

    def wait_written(self, pid: int, mib: int) -> None:
        """Wait until process `pid` has written `mib` MiB to storage."""
        wait_until(lambda: written_bytes(pid) >= mib * MIB, f"pid {pid} did not write {mib} MiB")


@LINUX_ONLY
class WritingProcessTest(DiskTestCase):
    def test_four_thread_writer_shows_5_threads_its_40_mib_and_rss_not_below_uss(self) -> None:
        """A process with 4 extra threads writing 40 MiB over 4 s: 5 threads a row, 40 MiB written, RSS >= USS."""
        name = unique_name("writer")
        folder = self.disk_folder()
        _, reports, _ = self.make_dirs()
        # Writing starts a second after 'ready', once the monitor has read the process a first time.
        write = ["--write-mib-per-s", "10", "--write-mib", "40", "--write-after", "1", "--write-dir", str(folder)]
        self.start_workload(name, "--threads", "4", *write, "--seconds", "60")
        result = self.run_monitor("-p", name, "-d", "5", "-s", "0.5", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = read_csv(only_file(reports, f"{name}_*[0-9].csv"))
        self.assertGreaterEqual(len(rows), 9)
        with self.subTest("threads"):
            self.assertEqual({row[THREADS] for row in rows}, {"5"})
        with self.subTest("bytes written"):
            elapsed = [float(row["elapsed_s"]) for row in rows]
            # The first row's rate covers the interval from the first read to the first sample.
            intervals = [0.5] + [after - before for before, after in zip(elapsed, elapsed[1:])]
            total = sum(float(row[WRITE_RATE]) * interval for row, interval in zip(rows, intervals))
            self.assertAlmostEqual(total / MIB, 40, delta=40 * 0.3)
        with self.subTest("resident memory"):
            below = [row for row in rows if int(row[RESIDENT]) < int(row[MEMORY])]
            self.assertEqual(below, [])


@LINUX_ONLY
class RateTest(DiskTestCase):
    def test_newcomer_first_rates_are_its_averages_since_creation(self) -> None:
        """An instance that joins mid-run, having written 8 MiB, shows its counters divided by its age."""
        name = unique_name("newrate")
        folder = self.disk_folder()
        self.start_workload(name)
        session = Session(TargetSet(finders.by_name(name)))
        session.start()
        newcomer = self.start_workload(
            name, "--write-mib-per-s", "200", "--write-mib", "8", "--write-dir", str(folder), "--seconds", "60"
        )
        self.wait_written(newcomer.pid, 8)
        time.sleep(0.5)  # idle since: a rate over the last interval alone would be 0
        sink = Collector()
        session.run(0.3, 1, [sink], StopSignals())
        reading = next(r for r in sink.samples[0].readings if r.pid == newcomer.pid)
        age_s = time.time() - psutil.Process(newcomer.pid).create_time() - (time.monotonic() - reading.read_at)
        self.assertGreaterEqual(reading.counter(WRITE_BYTES) or 0, 8 * MIB)
        for metric in RATES:
            counter = reading.counter(metric.rate_of)
            value = reading.value(metric.column)
            assert counter is not None and value is not None, metric.column
            self.assertAlmostEqual(value * age_s, counter, delta=0.05 * counter + 1, msg=metric.column)

    def test_each_process_rate_comes_from_its_own_previous_counters(self) -> None:
        """Of two instances, the one that stopped writing shows 0 each tick, and its exit leaves the other's rate."""
        name = unique_name("ownrate")
        folder = self.disk_folder()
        self.start_workload(name, "--write-mib-per-s", "8", "--write-dir", str(folder), "--seconds", "60")
        idle = self.start_workload(
            name, "--write-mib-per-s", "200", "--write-mib", "16", "--write-dir", str(folder), "--seconds", "60"
        )
        self.wait_written(idle.pid, 16)

        def end_idle(sample: Sample) -> None:
            if sample.index == 3:
                os.killpg(idle.pid, signal.SIGKILL)
                idle.wait()

        session = Session(TargetSet(finders.by_name(name)))
        previous: dict[int, ProcessReading] = {r.pid: r for r in session.start()}
        sink = Collector(end_idle)
        session.run(0.4, 6, [sink], StopSignals())
        self.assertEqual(len(sink.samples), 6)
        write_index = METRICS.index(WRITE_RATE)
        for sample in sink.samples:
            for reading in sample.readings:
                before = previous[reading.pid]
                for metric in RATES:
                    now, then = reading.counter(metric.rate_of), before.counter(metric.rate_of)
                    assert now is not None and then is not None
                    expected = (now - then) / (reading.read_at - before.read_at)
                    rate = reading.value(metric.column)
                    assert rate is not None, metric.column
                    self.assertAlmostEqual(rate, expected, places=6, msg=metric.column)
                previous[reading.pid] = reading
                if reading.pid == idle.pid:
                    self.assertEqual(reading.value(WRITE_RATE), 0.0)
            own = [r.value(WRITE_RATE) or 0.0 for r in sample.readings]
            self.assertEqual(sample.totals[write_index], sum(own))
        self.assertEqual([len(s.readings) for s in sink.samples], [2, 2, 2, 1, 1, 1])
        self.assertTrue(all((s.totals[write_index] or 0.0) > 0 for s in sink.samples[3:]))


@LINUX_ONLY
class RefusedValueTest(MonitorTestCase):
    # Linux asks for the same right (ptrace read) for /proc/PID/io as for smaps_rollup and the
    # descriptors: as another user, io_counters is refused only together with private memory, and the
    # whole process is skipped as denied. A process whose I/O alone is refused cannot be made here,
    # so io_counters is made to refuse.

    def test_refused_io_counters_read_as_none_and_the_rest_is_read(self) -> None:
        """read_process on a process whose io_counters is refused: no storage rates, every other value."""
        proc = self.start_workload(unique_name("noio"), "--threads", "2")
        process = psutil.Process(proc.pid)
        with mock.patch.object(psutil.Process, "io_counters", side_effect=psutil.AccessDenied(proc.pid)):
            first = read_process(process, "noio")
            assert first is not None
            time.sleep(0.1)
            reading = read_process(process, "noio", previous=first)
        assert reading is not None
        empty = {column for column, value in zip(METRICS, reading.values) if value is None}
        self.assertEqual(empty, {"read_bytes_per_s", "write_bytes_per_s"})
        self.assertEqual(reading.value(THREADS), 3)

    def test_refused_io_counters_give_empty_cells_said_once(self) -> None:
        """A run where io_counters is refused ends normally, with empty I/O cells, said once in the log."""
        name = unique_name("noio")
        proc = self.start_workload(name)
        _, reports, logs = self.make_dirs()
        with mock.patch.object(psutil.Process, "io_counters", side_effect=psutil.AccessDenied(proc.pid)):
            status, out, err = self.run_in_process("-p", name, "-d", "1", "-s", "0.25", *self.out_args)
        self.assertEqual(status, 0, err)
        for report in (only_file(reports, f"{name}_*[0-9].csv"), only_file(reports, f"{name}_*_processes.csv")):
            rows = read_csv(report)
            self.assertEqual({(row["read_bytes_per_s"], row["write_bytes_per_s"]) for row in rows}, {("", "")})
            self.assertNotIn("", {row[RESIDENT] for row in rows} | {row[THREADS] for row in rows})
        log = only_file(logs, f"{name}_*.log").read_text()
        self.assertEqual(log.count("gave no read_bytes_per_s, write_bytes_per_s"), 1, log)  # when first seen
        for column in ("read_bytes_per_s", "write_bytes_per_s"):
            self.assertEqual(log.count(f"No {column} from pid {proc.pid}"), 1, log)  # and in the summary
            self.assertEqual(out.count(f"No {column} from pid {proc.pid}"), 1, out)
        missing = json.loads(only_file(reports, f"{name}_*.json").read_text())["missing_values"]
        self.assertEqual(missing, {"read_bytes_per_s": [proc.pid], "write_bytes_per_s": [proc.pid]})


@LINUX_ONLY
@LINUX_ONLY
class MemoryGrowthTest(MonitorTestCase):
    def test_leak_of_1_mib_buffers_grows_in_anonymous_mappings(self) -> None:
        """A process leaking 1 MiB buffers: anonymous mappings hold most of the private-memory growth, and the
        summary says so."""
        name = unique_name("anon")
        self.start_workload(name, "--leak-mib-per-s", "8")
        _, reports, _ = self.make_dirs()
        result = self.run_monitor("-p", name, "-d", "3", "-s", "0.5", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        growth = json.loads(only_file(reports, f"{name}_*[0-9].json").read_text())["memory_growth_by_kind"]
        self.assertEqual(set(growth), {"heap", "anonymous", "stack", "file", "shared"})
        total = sum(growth.values())
        self.assertGreater(total, 16 * 1024 * 1024)
        self.assertGreater(growth["anonymous"], 0.8 * total)
        self.assertRegex(result.stdout, r"Private memory grew [\d.]+ MiB: anonymous mappings \+[\d.]+ MiB")


class WideTableTest(MonitorTestCase):
    def test_wide_header_adds_the_new_titles(self) -> None:
        """--wide: the table header has the title of every added metric."""
        name = unique_name("wide")
        self.start_workload(name)
        self.make_dirs()
        result = self.run_main("-p", name, "-d", "0.5", "-s", "0.25", "--wide", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        header = next(line for line in result.stdout.splitlines() if line.startswith("time "))
        for title in ADDED_TITLES:
            self.assertIn(title, header)

    def test_table_without_wide_fits_80_columns(self) -> None:
        """Without --wide: no added titles, and every line of the table is at most 80 columns."""
        name = unique_name("narrow")
        self.start_workload(name, "--threads", "3")
        self.make_dirs()
        result = self.run_main("-p", name, "-d", "0.5", "-s", "0.25", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("time "))
        table = lines[start : start + 3]
        self.assertTrue(all(title not in table[0] for title in ADDED_TITLES), table[0])
        self.assertEqual([line for line in table if len(line) > TERMINAL_COLUMNS], [])

    def test_large_values_with_the_leak_marker_fit_80_columns(self) -> None:
        """A row of large values (32 busy cores, 900 GiB, 60,000 descriptors, 999 processes) and the leak marker."""
        values = {column: 0.0 for column in METRICS}
        values.update({"cpu_percent": 3199.9, MEMORY: 900 * 2**30, "handles_fds": 60000.0})
        row = format_row("15:33:57.755", values, values, 999) + LEAK_MARKER
        self.assertLessEqual(len(format_header()), TERMINAL_COLUMNS)
        self.assertLessEqual(len(row), TERMINAL_COLUMNS, row)


if __name__ == "__main__":
    unittest.main()
