"""Context switches of every thread: the counting rule, a real process's threads, the report and the exporter."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path
from typing import Callable, TypeVar
from unittest import mock

import psutil
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.metrics import CTX_SWITCHES, ELAPSED, SWITCH_RATE
from monitor.sampling import thread_switches
from monitor.sampling.probes import read_process
from monitor.sampling.thread_switches import ThreadSwitches, switches_added
from monitor.stream import ProcessReading
from tests.helpers import LINUX_ONLY, ROOT, MonitorTestCase, only_file, read_csv, unique_name
from tests.process_tools import wait_until
from tests.prometheus import free_port, http_get

T = TypeVar("T")
SWITCHER = ROOT / "tests" / "workloads" / "switcher.py"
# The workers switch about 2,500 times a second together: this many more is well past any noise.
PLENTY = 1000


def proc_switches(pid: int) -> int:
    """Voluntary plus involuntary switches summed over /proc/PID/task/*/status, without psutil."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that just exited
            total += _status_switches(Path(f"/proc/{pid}/task/{tid}/status"))
    return total


def switched_past(pid: int, count: int) -> bool:
    """True once the process's threads have switched more than `count` times in all."""
    return proc_switches(pid) > count


def main_thread_switches(pid: int) -> int:
    """The main thread's switches alone, from /proc/PID/status (what psutil's num_ctx_switches() reads)."""
    return _status_switches(Path(f"/proc/{pid}/status"))


def _status_switches(path: Path) -> int:
    return sum(int(line.split()[1]) for line in path.read_text().splitlines() if "ctxt_switches:" in line)


class Switcher:
    """A running tests/workloads/switcher.py, killed and reaped at cleanup."""

    def __init__(self, test: unittest.TestCase, name: str, threads: int = 3) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(SWITCHER), "--name", name, "--threads", str(threads), "--announce"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        test.addCleanup(self._reap)
        self.pid = self.proc.pid
        test.assertEqual(self._answer(), "ready", "the switcher did not start")

    def command(self, line: str, answer: str) -> None:
        """Send one command and wait for its answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        if self._answer() != answer:
            raise AssertionError(f"the switcher did not answer {answer!r} to {line!r}")

    def wait_for_switches(self, more_than: int) -> None:
        """Wait until its threads have switched `more_than` more times than they have now."""
        start = proc_switches(self.pid)
        wait_until(lambda: proc_switches(self.pid) > start + more_than, f"{more_than} switches", 30.0)

    def _answer(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def _reap(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate()


def bracketed(read: Callable[[], T], pid: int) -> tuple[int, T, int]:
    """/proc's thread sum just before a read, the read, and the sum just after it."""
    before = proc_switches(pid)
    value = read()
    return before, value, proc_switches(pid)


def read(proc: psutil.Process, previous: ProcessReading | None = None) -> ProcessReading:
    """One reading of a process that must be alive."""
    reading = read_process(proc, "switcher", previous=previous)
    assert reading is not None
    return reading


def switches(reading: ProcessReading) -> float:
    """The reading's context-switch counter."""
    value = reading.counter(CTX_SWITCHES)
    assert value is not None
    return value


class SwitchesAddedTest(unittest.TestCase):
    def test_an_exited_thread_takes_nothing_away(self) -> None:
        """Thread 11 is gone and thread 10 made 5 more: 5 were added, not 5 - 100."""
        self.assertEqual(switches_added({10: 20, 11: 100}, {10: 25}), 5)

    def test_a_new_thread_and_a_reused_id_add_their_whole_count(self) -> None:
        """A thread born since adds all it made; so does an id whose count went back (a new thread under it)."""
        self.assertEqual(switches_added({10: 20, 11: 100}, {10: 20, 11: 7, 12: 30}), 37)

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.integers(0, 5),  # the read at which the thread is first seen
                st.lists(st.integers(0, 1000), min_size=1, max_size=6),  # its switches between reads
            ),
            max_size=8,
        )
    )
    def test_the_running_total_is_every_threads_last_seen_count(self, threads: list[tuple[int, list[int]]]) -> None:
        """Over any history of threads that are born, switch and exit, the increments add up to the sum of each
        thread's count at the last read that saw it: never less, never more, whatever exited."""
        reads: list[dict[int, int]] = [{} for _ in range(12)]
        last_seen = {}
        for tid, (born, steps) in enumerate(threads):
            count = 0
            for offset, step in enumerate(steps):
                count += step
                reads[born + offset][tid] = count
            last_seen[tid] = count
        total = 0
        before: dict[int, int] = {}
        for now in reads:
            added = switches_added(before, now)
            self.assertGreaterEqual(added, 0)
            total += added
            before = now
        self.assertEqual(total, sum(last_seen.values()))


@LINUX_ONLY
class ThreadSumTest(MonitorTestCase):
    """A process whose main thread waits while three workers sleep 1 ms in a loop."""

    def setUp(self) -> None:
        self.switcher = Switcher(self, unique_name("ctxsw"))
        self.proc = psutil.Process(self.switcher.pid)

    def test_every_threads_switches_are_counted(self) -> None:
        """The counter's change between two reads lies between /proc's thread sums taken just inside and just
        outside them; the main thread alone (psutil's own count) saw almost none of it."""
        main_before = main_thread_switches(self.switcher.pid)
        first_before, first, first_after = bracketed(lambda: read(self.proc), self.switcher.pid)
        self.switcher.wait_for_switches(PLENTY)
        second_before, second, second_after = bracketed(lambda: read(self.proc, first), self.switcher.pid)
        counted = switches(second) - switches(first)
        self.assertGreaterEqual(counted, second_before - first_after)
        self.assertLessEqual(counted, second_after - first_before)
        rate = second.value(SWITCH_RATE)
        assert rate is not None
        self.assertGreater(rate, 0.0)
        self.assertLess(main_thread_switches(self.switcher.pid) - main_before, 0.1 * counted)

    def test_the_counter_never_goes_back_when_threads_exit(self) -> None:
        """When the workers exit, /proc's thread sum falls but the counter stays; new workers then add their
        whole count."""
        self.switcher.wait_for_switches(PLENTY)
        before = read(self.proc)
        sum_before = proc_switches(self.switcher.pid)
        self.switcher.command("stop", "stopped")
        self.assertLess(proc_switches(self.switcher.pid), sum_before - PLENTY // 10)  # the plain sum went back
        stopped = read(self.proc, before)
        self.assertGreaterEqual(switches(stopped), switches(before))
        self.assertIsNotNone(stopped.value(SWITCH_RATE))
        quiet = proc_switches(self.switcher.pid)
        self.switcher.command("start 2", "started")
        self.switcher.wait_for_switches(PLENTY)
        later_before, later, _ = bracketed(lambda: read(self.proc, stopped), self.switcher.pid)
        self.assertGreaterEqual(switches(later) - switches(stopped), later_before - quiet)

    def test_threads_replaced_between_two_reads_are_counted(self) -> None:
        """Three workers exit and three new ones start between two reads (the thread count is the same at
        both): the new ones' switches are counted."""
        self.switcher.wait_for_switches(PLENTY)
        before = read(self.proc)
        self.switcher.command("stop", "stopped")
        quiet = proc_switches(self.switcher.pid)
        self.switcher.command("start 3", "started")
        self.switcher.wait_for_switches(PLENTY)
        later_before, later, _ = bracketed(lambda: read(self.proc, before), self.switcher.pid)
        self.assertEqual(self.proc.num_threads(), 4)
        self.assertGreaterEqual(switches(later) - switches(before), later_before - quiet)

    def test_other_threads_wait_their_turn_when_reading_them_is_dear(self) -> None:
        """On a fake clock where reading the other threads takes 1 ms of CPU, they are read again only 100 ms
        later: a read in between moves by the main thread's count only, the next one catches up on all."""
        now = [0.0]
        cpu = [0.0]

        def cpu_time() -> float:
            cpu[0] += 0.001  # read before and after the other threads: 1 ms each time
            return cpu[0]

        counter = ThreadSwitches(cpu_share=0.01, monotonic=lambda: now[0], cpu_time=cpu_time)
        main_before = main_thread_switches(self.switcher.pid)
        _, start, start_after = bracketed(lambda: counter.read(self.proc), self.switcher.pid)
        self.switcher.wait_for_switches(PLENTY)
        now[0] = 0.05
        early = counter.read(self.proc)
        main_after = main_thread_switches(self.switcher.pid)
        self.assertLessEqual(early - start, main_after - main_before)
        now[0] = 0.2
        due_before, due, _ = bracketed(lambda: counter.read(self.proc), self.switcher.pid)
        self.assertGreaterEqual(due - start, due_before - start_after)

    def test_outside_linux_psutils_own_count_is_kept(self) -> None:
        """Where psutil's num_ctx_switches() is the whole process's (Windows, macOS), it is used as it is: here,
        with Linux's branch switched off, that is the main thread's count."""
        self.switcher.wait_for_switches(PLENTY)
        counter = ThreadSwitches()
        with mock.patch.object(thread_switches, "LINUX", False):
            main_before = main_thread_switches(self.switcher.pid)
            value = counter.read(self.proc)
            main_after = main_thread_switches(self.switcher.pid)
        self.assertGreaterEqual(value, main_before)
        self.assertLessEqual(value, main_after)
        self.assertGreater(counter.read(self.proc), value + PLENTY)  # Linux's branch: every thread


@LINUX_ONLY
class ReportedSwitchesTest(MonitorTestCase):
    """ctx_switches_per_s of a real run and procmon_context_switches_total of a real exporter against /proc,
    over the same span of samples (rates on a busy machine move; the counts over one window must agree)."""

    def setUp(self) -> None:
        self.switcher = Switcher(self, unique_name("ctxrun"))

    def test_the_report_holds_every_threads_switches(self) -> None:
        """The report's rates times their intervals, over rows 3 to 18, within 10% of /proc's thread sum change
        between the moments rows 2 and 18 were printed."""
        _base, reports, _logs = self.make_dirs()
        monitor = self.start_monitor("-p", self.switcher.name, "-d", "10", "-s", "0.5", *self.out_args)
        assert monitor.stdout is not None
        at_row = {}
        rows = 0
        while rows < 18:
            line = monitor.stdout.readline()
            if not line:
                self.fail(f"the monitor ended after {rows} rows")
            if re.match(r"\d\d:\d\d:\d\d\.\d{3} ", line):  # a sample's row, printed once it was read
                rows += 1
                if rows in (2, 18):
                    at_row[rows] = proc_switches(self.switcher.pid)
        _out, err = self.rest_of_output(monitor)
        self.assertEqual(monitor.returncode, 0, err)
        table = read_csv(only_file(reports, "*[0-9].csv"))
        counted = sum(
            float(table[index][SWITCH_RATE]) * (float(table[index][ELAPSED]) - float(table[index - 1][ELAPSED]))
            for index in range(2, 18)  # rows 3..18: the switches made after row 2's read up to row 18's
        )
        expected = at_row[18] - at_row[2]
        self.assertGreater(expected, 8 * PLENTY)
        self.assertAlmostEqual(counted, expected, delta=0.10 * expected)

    def test_the_exporter_counts_every_threads_switches(self) -> None:
        """procmon_context_switches_total's increase over 16 samples within 10% of /proc's thread sum change,
        each read right after a scrape shows a new sample."""
        _base, _reports, logs = self.make_dirs()
        port = free_port()
        exporter = self.start_monitor(
            "--serve", f"127.0.0.1:{port}", "-p", self.switcher.name, "-s", "0.5", "-l", str(logs)
        )
        assert exporter.stdout is not None
        self.assertIn("Serving http://", exporter.stdout.readline())
        url = f"http://127.0.0.1:{port}/metrics"
        name = self.switcher.name

        def next_sample(after: float) -> tuple[float, float, int]:
            """The first scrape showing more than `after` samples: its sample count and counter, then /proc's."""
            deadline = time.monotonic() + 60.0
            while (served := scraped(http_get(url), name))["samples"] <= after:
                if time.monotonic() > deadline:
                    self.fail(f"no sample after the {after:g}th within 60 s")
                time.sleep(0.02)  # polled: how late a new sample is seen adds at most this to either end
            return served["samples"], served["switches"], proc_switches(self.switcher.pid)

        first_samples, first_counter, first_proc = next_sample(scraped(http_get(url), name)["samples"])
        _, last_counter, last_proc = next_sample(first_samples + 15)
        expected = last_proc - first_proc
        self.assertGreater(expected, 8 * PLENTY)
        self.assertAlmostEqual(last_counter - first_counter, expected, delta=0.10 * expected)
        exporter.send_signal(signal.SIGTERM)
        self.assertEqual(exporter.wait(30), 143)


def scraped(text: str, name: str) -> dict[str, float]:
    """The sample count and the context-switch counter of one name in a scrape."""
    values = {"samples": 0.0, "switches": 0.0}
    for line in text.splitlines():
        if line.startswith("procmon_sample_duration_seconds_count"):
            values["samples"] = float(line.split()[-1])
        elif line.startswith(f'procmon_context_switches_total{{name="{name}"}}'):
            values["switches"] = float(line.split()[-1])
    return values


if __name__ == "__main__":
    unittest.main()


@LINUX_ONLY
class SingleThreadTest(MonitorTestCase):
    def test_one_threads_counter_is_its_count_at_every_read(self) -> None:
        """A process of one thread: at each read the counter lies between /proc's count just before and just
        after it, read after read."""
        workload = self.start_workload(unique_name("onethr"))
        proc = psutil.Process(workload.pid)
        counter = ThreadSwitches()
        for _ in range(3):
            before, counted, after = bracketed(lambda: counter.read(proc), workload.pid)
            self.assertEqual(proc.num_threads(), 1)
            self.assertGreaterEqual(counted, before)
            self.assertLessEqual(counted, after)
            # The workload wakes 20 times a second: wait for a few switches before the next read.
            wait_until(functools.partial(switched_past, workload.pid, after + 3), "a few more switches", 10.0)
