"""The exporter mode, scraped by a real Prometheus; its counters and options on their own."""

from __future__ import annotations

import datetime
import signal
import socket
import subprocess
import sys
import unittest
from pathlib import Path

from prometheus_client.exposition import generate_latest

from monitor.cli.options import ServeOptions, parse_options
from monitor.errors import UsageError
from monitor.metrics import COUNTER_NAMES, CPU_SECONDS, MEMORY, METRICS, READ_BYTES
from monitor.output.exporter import ExporterSink, registry_for
from monitor.stream import ProcessReading, Sample
from tests.helpers import LINUX_ONLY, MAIN, ROOT, MonitorTestCase, only_file, smaps_private_bytes, unique_name
from tests.prometheus import NEEDS_PROMETHEUS, PROMTOOL, PrometheusServer, free_port, http_get, wait_until

MIB = 1024 * 1024
# Ample for an exporter to stop on a busy shared machine; a stop that waits for anything is far slower.
STOP_TIMEOUT_S = 30


def waits_in(pid: int) -> str:
    """Where a process's main thread waits: 'hrtimer_nanosleep' in a sleep, '0' while it runs (or if hidden)."""
    return Path(f"/proc/{pid}/wchan").read_text()


def children_of(pid: int) -> list[int]:
    """The PIDs of a process's direct children."""
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


@LINUX_ONLY
@NEEDS_PROMETHEUS
class ScrapedByPrometheusTest(MonitorTestCase):
    """One exporter watching a forking, a busy leaking and a steady workload, scraped every second."""

    def setUp(self) -> None:
        self.forking = unique_name("fork")
        self.leaking = unique_name("leak")
        self.steady = unique_name("steady")
        self.forker = self.start_workload(self.forking, "--children", "3")
        self.leaker = self.start_workload(self.leaking, "--leak-mib-per-s", "8", "--busy", "--seconds", "120")
        self.start_workload(self.steady)
        _base, _, logs = self.make_dirs()
        self.logs = logs
        self.port = free_port()
        self.exporter = subprocess.Popen(
            [
                sys.executable,
                str(MAIN),
                "--serve",
                f"127.0.0.1:{self.port}",
                *("-p", self.forking, "-p", self.leaking, "-p", self.steady),
                "-s",
                "0.25",
                "-l",
                str(logs),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.addCleanup(self._reap_exporter)
        assert self.exporter.stdout is not None
        self.assertIn("Serving http://", self.exporter.stdout.readline())
        self.prometheus = PrometheusServer(self, [f"127.0.0.1:{self.port}"])

    def _samples_served(self) -> float:
        text = http_get(f"http://127.0.0.1:{self.port}/metrics")
        counts = [line for line in text.splitlines() if line.startswith("procmon_sample_duration_seconds_count")]
        return float(counts[0].split()[-1]) if counts else 0.0

    def _reap_exporter(self) -> None:
        if self.exporter.poll() is None:
            self.exporter.kill()
        self.exporter.communicate()

    def test_prometheus_sees_counts_memory_cpu_and_leak_verdicts(self) -> None:
        """Through Prometheus' API: instance counts, private memory against smaps_rollup, a growing CPU counter,
        and the leak verdicts of a leaking and a steady workload."""
        # Readiness: Prometheus holds at least 12 scrapes (about 12 s) of the exporter.
        wait_until(
            lambda: (
                self.prometheus.values(f"count_over_time(procmon_processes{{name='{self.leaking}'}}[1m])").get(
                    self.leaking, 0
                )
                >= 12
            ),
            60,
            "12 scrapes in Prometheus",
        )
        processes = self.prometheus.values("procmon_processes")
        self.assertEqual(processes[self.forking], 1 + len(children_of(self.forker.pid)))
        self.assertEqual(processes[self.forking], 4)
        pids = [self.forker.pid, *children_of(self.forker.pid)]
        expected = sum(smaps_private_bytes(pid) for pid in pids)
        served = self.prometheus.values("procmon_private_memory_bytes")[self.forking]
        self.assertAlmostEqual(served, expected, delta=0.10 * expected)
        cpu_now = self.prometheus.values("procmon_cpu_seconds_total")[self.leaking]
        self.assertGreater(cpu_now, 0.0)
        wait_until(
            lambda: self.prometheus.values("procmon_cpu_seconds_total")[self.leaking] > cpu_now + 0.5,
            20,
            "the busy workload's CPU counter to grow",
        )
        leak = {
            row["metric"]["name"]: float(row["value"][1])
            for row in self.prometheus.query("procmon_leak{metric='private_memory'}")
        }
        self.assertEqual(leak[self.leaking], 1.0)
        self.assertEqual(leak[self.steady], 0.0)
        self.assertEqual(leak[self.forking], 0.0)
        growth = self.prometheus.values(f"procmon_growth_per_second{{metric='private_memory',name='{self.leaking}'}}")
        self.assertAlmostEqual(growth[self.leaking], 8 * MIB, delta=3 * MIB)

    def test_a_scrape_passes_promtool_and_sigterm_frees_the_port(self) -> None:
        """`promtool check metrics` finds nothing to say; SIGTERM ends the exporter with 143 and frees its port."""
        assert PROMTOOL is not None
        text = http_get(f"http://127.0.0.1:{self.port}/metrics")
        checked = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual((checked.returncode, checked.stdout + checked.stderr), (0, ""))
        self.exporter.send_signal(signal.SIGTERM)
        # Without -d the exporter would run for a year; how fast it stops is ServeStartTest's subject.
        self.assertEqual(self.exporter.wait(STOP_TIMEOUT_S), 143)
        with socket.socket() as probe:
            # As a restarted exporter binds (prometheus_client's server sets SO_REUSEADDR, so closed
            # connections waiting out TIME_WAIT do not count): fails only if something still listens.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", self.port))
            probe.listen()

    def test_the_log_keeps_events_not_samples(self) -> None:
        """The exporter's log names the processes it watches and why it stopped, with no line per sample."""
        wait_until(lambda: self._samples_served() >= 3, 10.0, "three samples")
        self.exporter.send_signal(signal.SIGTERM)
        self.assertEqual(self.exporter.wait(STOP_TIMEOUT_S), 143)
        log = only_file(self.logs, "*.log").read_text(encoding="utf-8")
        self.assertIn(f"watching '{self.leaking}': pid {self.leaker.pid}\n", log)
        self.assertIn("stopped by SIGTERM (exit status 143) after ", log)
        self.assertNotIn(" sample ", log)


def reading(pid: int, read_bytes: float, name: str = "app") -> ProcessReading:
    """A reading whose only counter that matters is the bytes read from storage."""
    counters = tuple(read_bytes if counter == READ_BYTES else 0.0 for counter in COUNTER_NAMES)
    values = tuple(1.0 for _ in METRICS)
    return ProcessReading(pid, name, values, counters)


def sample(index: int, *readings: ProcessReading, cpu_spent: tuple[tuple[int, float], ...] = ()) -> Sample:
    """A sample holding these readings, one second apart, and the CPU each root's tree spent."""
    wall = datetime.datetime(2026, 11, 29, 12, 0, index).astimezone()
    return Sample(index, wall, float(index), readings, tuple(1.0 for _ in METRICS), cpu_spent=cpu_spent)


class ExporterLeakFloorTest(unittest.TestCase):
    def _leak_gauge(self, min_rates: dict[str, float] | None) -> int:
        """procmon_leak for memory after a minute of a 7.65 MB process that gains eight pages, a page either way."""
        sink = ExporterSink(lambda pid, name: "app", window_s=60.0, interval_s=1.0, min_rates=min_rates)
        for index in range(1, 60):
            memory = 7_651_328.0 + (index * 8 // 59 + (0, 1, -1, 1, 0, -1, 0, 1, -1, 0)[index % 10]) * 4096
            values = tuple(memory if column == MEMORY else 1.0 for column in METRICS)
            sink.add(sample(index, ProcessReading(1, "app", values, tuple(0.0 for _ in COUNTER_NAMES))))
        return sink.snapshot.groups["app"].verdicts[MEMORY][0]

    def test_procmon_leak_follows_the_smallest_leak_rate(self) -> None:
        """A drift of eight pages is no leak in the exporter's window by default, and a leak with a floor of a
        page an hour, as --min-leak-rate 4KiB/h sets it."""
        self.assertEqual(self._leak_gauge(None), 0)
        self.assertEqual(self._leak_gauge({MEMORY: 4096.0}), 1)


class ExporterCountersTest(unittest.TestCase):
    def _read_total(self, sink: ExporterSink) -> float:
        return sink.snapshot.groups["app"].counters[READ_BYTES]

    def _cpu_total(self, sink: ExporterSink, label: str = "app") -> float:
        return sink.snapshot.groups[label].counters[CPU_SECONDS]

    def test_cpu_seconds_are_the_sessions_account_of_each_roots_tree(self) -> None:
        """Each root's CPU goes to its label, a root gone since its last reading included; nothing else adds CPU."""
        sink = ExporterSink(lambda pid, name: name, window_s=60.0, interval_s=1.0)
        sink.add(sample(1, reading(1, 0.0, "web"), reading(2, 0.0, "db"), cpu_spent=((1, 0.5), (2, 0.25))))
        # Root 2 has exited: its last CPU (read from it as a zombie) still counts for 'db'.
        sink.add(sample(2, reading(1, 0.0, "web"), cpu_spent=((1, 1.5), (2, 0.125))))
        self.assertEqual(self._cpu_total(sink, "web"), 2.0)
        self.assertEqual(self._cpu_total(sink, "db"), 0.375)

    def test_counters_never_go_back_when_instances_come_and_go(self) -> None:
        """A counter adds each process's own increments: an exit or a newcomer with a big counter never
        makes the total jump or fall."""
        sink = ExporterSink(lambda pid, name: "app", window_s=60.0, interval_s=1.0)
        totals = []
        ticks = [
            [reading(1, 10.0), reading(2, 5.0)],
            [reading(1, 11.0), reading(2, 5.5)],
            [reading(1, 12.0)],  # pid 2 exited
            [reading(1, 13.0), reading(3, 500.0)],  # a newcomer that ran long before it joined
            [reading(1, 14.0), reading(3, 501.0)],
        ]
        for index, tick in enumerate(ticks, start=1):
            sink.add(sample(index, *tick))
            totals.append(self._read_total(sink))
        self.assertEqual(totals, [0.0, 1.5, 2.5, 3.5, 5.5])

    def test_reused_pid_starts_counting_again(self) -> None:
        """A counter that falls (the PID now names another process) adds nothing, then counts on from there."""
        sink = ExporterSink(lambda pid, name: "app", window_s=60.0, interval_s=1.0)
        for index, seconds in enumerate([100.0, 101.0, 2.0, 3.0], start=1):
            sink.add(sample(index, reading(7, seconds)))
        self.assertEqual(self._read_total(sink), 2.0)

    def test_missed_ticks_and_the_text_format(self) -> None:
        """A gap in tick numbers counts as missed ticks; the scrape holds every family with its type."""
        sink = ExporterSink(lambda pid, name: "app", window_s=60.0, interval_s=1.0)
        sink.add(sample(1, reading(1, 1.0)))
        sink.add(sample(4, reading(1, 2.0)))
        text = generate_latest(registry_for(sink)).decode()
        self.assertIn("procmon_ticks_missed_total 2.0", text)
        for family in ("procmon_processes gauge", "procmon_cpu_seconds_total counter", "procmon_leak gauge"):
            self.assertIn(f"# TYPE {family}", text)
        self.assertIn('procmon_processes{name="app"} 1.0', text)

    def test_the_start_reading_is_served_and_counted_from(self) -> None:
        """Readings taken at start are served before any sample, counters at 0 and no sample or missed tick
        counted; the first sample's counters add only what grew since them."""
        sink = ExporterSink(lambda pid, name: "app", window_s=1800.0, interval_s=30.0, labels=("app", "idle"))
        sink.start([reading(1, 100.0), reading(2, 50.0)])
        text = generate_latest(registry_for(sink)).decode().splitlines()
        for line in (
            'procmon_processes{name="app"} 2.0',
            'procmon_private_memory_bytes{name="app"} 2.0',
            'procmon_cpu_seconds_total{name="app"} 0.0',
            'procmon_processes{name="idle"} 0.0',
            'procmon_private_memory_bytes{name="idle"} 0.0',
            "procmon_sample_duration_seconds_count 0.0",
            "procmon_ticks_missed_total 0.0",
        ):
            self.assertIn(line, text)
        sink.add(sample(1, reading(1, 101.0), reading(2, 52.0), cpu_spent=((1, 0.75),)))
        self.assertEqual(self._read_total(sink), 3.0)
        self.assertEqual(self._cpu_total(sink), 0.75)
        self.assertEqual(sink.snapshot.ticks_missed, 0)

    def test_a_name_whose_processes_all_exited_serves_zero_sums(self) -> None:
        """Once every process of a name is gone its summed gauges are 0, not missing, and its counters stay."""
        sink = ExporterSink(lambda pid, name: "app", window_s=60.0, interval_s=1.0)
        sink.add(sample(1, reading(1, 1.0), cpu_spent=((1, 1.0),)))
        sink.add(sample(2, reading(1, 3.0), cpu_spent=((1, 1.0),)))
        sink.add(sample(3))
        text = generate_latest(registry_for(sink)).decode()
        for line in (
            'procmon_processes{name="app"} 0.0',
            'procmon_private_memory_bytes{name="app"} 0.0',
            'procmon_open_handles{name="app"} 0.0',
            'procmon_threads{name="app"} 0.0',
            'procmon_cpu_seconds_total{name="app"} 2.0',
        ):
            self.assertIn(line, text.splitlines())


@LINUX_ONLY
class ServeStartTest(MonitorTestCase):
    def test_the_first_scrape_holds_the_reading_taken_at_start(self) -> None:
        """With -s 30, a scrape as soon as the exporter says 'Serving' has the process count, private memory
        against smaps_rollup, and the counters from 0, long before the first sample."""
        name = unique_name("first")
        workload = self.start_workload(name)
        _base, _, logs = self.make_dirs()
        port = free_port()
        exporter = self.start_monitor("--serve", f"127.0.0.1:{port}", "-p", name, "-s", "30", "-l", str(logs))
        assert exporter.stdout is not None
        self.assertIn("Serving http://", exporter.stdout.readline())
        lines = http_get(f"http://127.0.0.1:{port}/metrics").splitlines()
        self.assertIn(f'procmon_processes{{name="{name}"}} 1.0', lines)
        served = [line for line in lines if line.startswith(f'procmon_private_memory_bytes{{name="{name}"}} ')]
        self.assertEqual(len(served), 1, lines)
        expected = smaps_private_bytes(workload.pid)
        self.assertAlmostEqual(float(served[0].split()[-1]), expected, delta=0.10 * expected)
        self.assertIn(f'procmon_threads{{name="{name}"}} 1.0', lines)
        self.assertIn(f'procmon_cpu_seconds_total{{name="{name}"}} 0.0', lines)
        exporter.send_signal(signal.SIGTERM)
        self.assertEqual(exporter.wait(30), 143)

    def test_a_port_in_use_is_one_line_and_leaves_no_log(self) -> None:
        """--serve on a port something else listens on: exit 1, one line naming the address, no empty log left."""
        _base, _, logs = self.make_dirs()
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            done = subprocess.run(
                [sys.executable, str(MAIN), "--serve", f"127.0.0.1:{port}", "-p", "x", "-l", str(logs)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=60,
            )
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr.splitlines(), [done.stderr.strip()])
        self.assertIn(f"cannot serve on 127.0.0.1:{port}", done.stderr)
        self.assertEqual(list(logs.iterdir()), [])

    def test_sigterm_between_ticks_ends_the_exporter_without_waiting_for_the_next(self) -> None:
        """SIGTERM at -s 120, long before the first tick is due: exit 143 at once, the sleep cut short."""
        _base, _, logs = self.make_dirs()
        port = free_port()
        exporter = self.start_monitor(
            "--serve", f"127.0.0.1:{port}", "-p", unique_name("idle"), "-s", "120", "-l", str(logs)
        )
        assert exporter.stdout is not None
        self.assertIn("Serving http://", exporter.stdout.readline())  # the stop handlers are in place by then
        # A signal that came before the sleep would stop the exporter without testing that it cuts one short.
        seen: set[str] = set()

        def asleep() -> bool:
            where = waits_in(exporter.pid)
            seen.add(where)
            return where == "hrtimer_nanosleep"

        try:
            wait_until(asleep, 30, "the exporter to sleep until its first tick")
        except AssertionError:
            if seen == {"0"}:
                self.skipTest("this kernel does not say where a process waits (/proc/PID/wchan is 0)")
            raise
        exporter.send_signal(signal.SIGTERM)
        # Waiting for the first tick would take 120 s; the timeout leaves a busy machine ample room.
        self.assertEqual(exporter.wait(STOP_TIMEOUT_S), 143)
        self.assertIn("stopped by SIGTERM (exit status 143) after 0 samples", only_file(logs, "*.log").read_text())


class ServeOptionsTest(unittest.TestCase):
    def test_serve_takes_several_names_and_needs_no_duration(self) -> None:
        """--serve with two -p and no -d runs until stopped, on the loopback address by default."""
        options = parse_options(["--serve", "9877", "-p", "a", "-p", "b", "-s", "0.5"])
        assert isinstance(options, ServeOptions), options
        self.assertEqual(options.address, ("127.0.0.1", 9877))
        self.assertEqual(options.selection.process_names, ("a", "b"))
        self.assertEqual((options.window_s, options.interval_s), (3600.0, 0.5))
        self.assertIsNone(options.reports_dir)

    def test_serve_options_are_checked(self) -> None:
        """Bad ports, several -p without --serve, a window under 8 samples, --per-pid alone and --fail-on-leak
        with --serve are usage errors."""
        for argv in (
            ["--serve", "70000", "-p", "a"],
            ["--serve", "host:port", "-p", "a"],
            ["-p", "a", "-p", "b", "-d", "5"],
            ["--serve", "9877", "-p", "a", "-s", "1", "--window", "5"],
            ["-p", "a", "-d", "5", "--per-pid"],
            ["--serve", "9877", "-d", "5", "--", "sleep", "9"],
            ["--serve", "9877", "-p", "a", "--fail-on-leak"],
        ):
            with self.subTest(argv=argv), self.assertRaises(UsageError):
                parse_options(argv)

    def test_an_exporter_option_alone_is_named(self) -> None:
        """--per-pid without --serve names --per-pid only, and how to fix it."""
        with self.assertRaises(UsageError) as caught:
            parse_options(["-p", "a", "-d", "5", "--per-pid"])
        expected = "--per-pid goes with --serve [HOST:]PORT: add --serve, or leave --per-pid out"
        self.assertEqual(str(caught.exception), expected)


if __name__ == "__main__":
    unittest.main()
