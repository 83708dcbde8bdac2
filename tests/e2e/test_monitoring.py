"""The monitoring command end to end, as a user runs it, against real workload processes."""

from __future__ import annotations

import datetime
import json
import os
import signal
import sys
import unittest
from unittest import mock

from monitor.metrics import REPORT_COLUMNS
from tests.helpers import LINUX_ONLY, WORKLOAD, MonitorTestCase, only_file, read_csv, unique_name


@LINUX_ONLY
class MonitorCommandTest(MonitorTestCase):
    def test_leaking_process_gets_the_warning_and_a_full_report(self) -> None:
        """20 MiB/s leak, -d 5 -s 0.25: 20 rows on the grid, both leak verdicts, CSV and log in the given dirs."""
        name = unique_name("leaky")
        proc = self.start_workload(name, "--leak-mib-per-s", "20")
        _, reports, logs = self.make_dirs()
        result = self.run_monitor("-p", name, "-d", "5", "-s", "0.25", "--debug", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("potential memory leak detected", result.stdout)
        self.assertIn("Memory trend: LEAK", result.stdout)
        report = only_file(reports, f"{name}_*[0-9].csv")
        rows = read_csv(report)
        self.assertEqual(len(rows), 20)
        self.assertEqual(list(rows[0])[: len(REPORT_COLUMNS)], list(REPORT_COLUMNS))
        memory = [int(row["private_memory"]) for row in rows]
        self.assertGreater(memory[-1] - memory[0], 30 * 1024 * 1024)
        times = [datetime.datetime.fromisoformat(row["timestamp"]) for row in rows]
        offsets = [(t - times[0]).total_seconds() - k * 0.25 for k, t in enumerate(times)]
        # Drift is timed on a fake clock (test_clock); here each row is only checked to sit on its grid point,
        # within half an interval (a few ms when idle, 30 ms beside three busy loops).
        self.assertLess(max(abs(o) for o in offsets), 0.25 / 2, offsets)
        self.assertIsNotNone(times[0].utcoffset(), "timestamps carry their UTC offset")
        log = only_file(logs, f"{name}_*.log").read_text()
        self.assertIn(str(proc.pid), log)
        self.assertIn("potential memory leak detected", log)
        self.assertEqual(log.count("DEBUG sample"), 20)
        # Re-analysed from the CSV, the trend's rate is the workload's 20 MiB/s within 30%.
        status, out, _ = self.run_in_process("--analyze", str(report), "--json")
        self.assertEqual(status, 0)
        memory = json.loads(out)["leak"]["private_memory"]
        self.assertEqual(memory["verdict"], "leak")
        self.assertAlmostEqual(memory["rate_per_hour"] / (20 * 1024 * 1024 * 3600), 1.0, delta=0.3)

    def test_steady_process_gets_no_warning(self) -> None:
        """A process that holds its memory steady gets 'No memory leak detected' and averages."""
        name = unique_name("steady")
        self.start_workload(name)
        _, reports, _logs = self.make_dirs()
        result = self.run_main("-p", name, "-d", "2", "-s", "0.2", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("potential memory leak", result.stdout)
        self.assertIn("Memory trend: no leak", result.stdout)
        self.assertIn("No memory leak detected", result.stdout)
        self.assertIn("Average private memory", result.stdout)
        self.assertEqual(len(read_csv(only_file(reports, f"{name}_*[0-9].csv"))), 10)

    def test_a_noisy_leak_tells_one_story(self) -> None:
        """A leak under noise breaks the README rule: the summary leads with the trend and never says 'no leak'."""
        name = unique_name("noisy-leak")
        self.start_workload(name, "--leak-mib-per-s", "4", "--noise-mib", "8")
        _, _, logs = self.make_dirs()
        status, out, _ = self.run_in_process("-p", name, "-d", "5", "-s", "0.2", *self.out_args)
        self.assertEqual(status, 0)
        self.assertNotIn("DEBUG sample", only_file(logs, "*.log").read_text(), "a line per sample only with --debug")
        lines = out.splitlines()
        trend = next(line for line in lines if line.startswith("Memory trend:"))
        rule = next(line for line in lines if line.startswith("README rule:"))
        self.assertTrue(trend.startswith("Memory trend: LEAK"), trend)
        self.assertLess(lines.index(trend), lines.index(rule), "the trend verdict leads")
        self.assertNotIn("No memory leak detected", out)
        if "WARNING" not in rule:
            self.assertIn("not met", rule)
            self.assertIn("noise", rule)

    def test_few_samples_say_too_few_to_judge(self) -> None:
        """Under 10 samples the summary says there are too few to judge."""
        name = unique_name("short")
        self.start_workload(name)
        self.make_dirs()
        status, out, _ = self.run_in_process("-p", name, "-d", "0.6", "-s", "0.2", *self.out_args)
        self.assertEqual(status, 0)
        self.assertIn("README rule: too few samples to judge", out)

    def test_missing_process_exits_1_with_one_line(self) -> None:
        """No process of that name: exit 1, the README's message, and no empty report left behind."""
        _, reports, logs = self.make_dirs()
        name = unique_name("nobody")
        result = self.run_monitor("-p", name, "-d", "2", "-s", "1", *self.out_args)
        self.assertEqual(result.returncode, 1)
        self.assertOneLineError(result.stderr)
        self.assertIn(f"No running process named '{name}'", result.stderr)
        self.assertEqual(list(reports.glob("*.csv")), [])
        self.assertIn("No running process", only_file(logs, "*.log").read_text())

    def test_launched_command_terminated_at_the_end_reports_143_and_sigterm(self) -> None:
        """A command still running at the end gets SIGTERM: command_status 143 in the JSON, the signal named."""
        _, reports, _ = self.make_dirs()
        command = [sys.executable, str(WORKLOAD), "--seconds", "60"]
        result = self.run_monitor("-d", "1", "-s", "0.25", *self.out_args, "--", *command)
        self.assertEqual(result.returncode, 0, result.stderr)
        summary = json.loads(only_file(reports, "*.json").read_text())
        self.assertEqual(summary["command_status"], 143)
        self.assertIn("SIGTERM", result.stdout)
        self.assertNotIn("-15", result.stdout)

    def test_command_that_exits_before_the_first_sample_gives_its_status(self) -> None:
        """`-- sh -c 'exit 37'` ends before anything is measured: one line that says status 37, exit 1."""
        _, reports, _ = self.make_dirs()
        result = self.run_monitor("-d", "5", "-s", "0.01", *self.out_args, "--", "sh", "-c", "exit 37")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertOneLineError(result.stderr)
        self.assertIn("exited with status 37 before the first sample", result.stderr)
        self.assertIn("nothing was measured", result.stderr)
        self.assertEqual(list(reports.glob("*.csv")), [])

    def test_command_that_spends_cpu_and_exits_before_the_first_sample_is_not_a_run(self) -> None:
        """A command that burns CPU and exits with status 2 before the first tick: the same error, no report,
        no row made of the CPU it spent (the row that closes a measured run)."""
        _, reports, _ = self.make_dirs()
        burn = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.3: pass\nexit(2)"
        result = self.run_monitor("-d", "8", "-s", "4", *self.out_args, "--", sys.executable, "-c", burn)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertOneLineError(result.stderr)
        self.assertIn("exited with status 2 before the first sample", result.stderr)
        self.assertEqual(list(reports.glob("*.csv")), [])

    def test_many_instances_are_counted_and_their_exits_grouped(self) -> None:
        """Eight instances: start and summary lines give the count and five PIDs, exits come per tick, JSON has all."""
        name = unique_name("many")
        parent = self.start_workload(name, "--children", "7")
        _, reports, _ = self.make_dirs()
        monitor = self.start_monitor("-p", name, "-d", "10", "-s", "0.5", *self.out_args)
        before = self.wait_for_rows(monitor)
        # All eight end at once, after the first sample, however long the monitor took to start.
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
        out, err = self.rest_of_output(monitor)
        self.assertEqual(monitor.returncode, 0, err)
        stdout = "\n".join([*before, out])
        start, summary_line = stdout.splitlines()[0], self._line(stdout, "Summary for")
        for line in (start, summary_line):
            self.assertIn("8 processes: pids ", line)
            self.assertIn(" and 3 more", line)
        exits = [line for line in stdout.splitlines() if "exited after" in line]
        self.assertLessEqual(len(exits), 2, exits)
        counted = sum(int(line.split()[0]) if line[0].isdigit() else 1 for line in exits)
        self.assertEqual(counted, 8, exits)
        pids = json.loads(only_file(reports, f"{name}_*.json").read_text())["pids"]
        self.assertEqual(len(pids), 8)
        self.assertIn(str(parent.pid), pids)

    def _line(self, text: str, start: str) -> str:
        return next(line for line in text.splitlines() if line.startswith(start))


class HelpTest(MonitorTestCase):
    def test_version_names_the_program_and_its_version(self) -> None:
        """--version prints the package's version and exits 0."""
        from monitor import __version__

        result = self.run_monitor("--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), f"main.py {__version__}")

    def test_help_shows_percent_signs_once(self) -> None:
        """--help says 'CPU %', not the doubled 'CPU %%' of an unformatted string."""
        result = self.run_monitor("--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("CPU %", " ".join(result.stdout.split()))
        self.assertNotIn("%%", result.stdout)


class DebugTest(MonitorTestCase):
    def _unexpected(self, *extra: str) -> tuple[int, str, str]:
        # No real input makes this machine fail with an exception the monitor does not expect; force one.
        _, reports, logs = self.make_dirs()
        boom = mock.patch("monitor.cli.watch.prepare_dir", side_effect=RuntimeError("boom"))
        with boom:
            return self.run_in_process("-p", "x", "-d", "1", "-s", "1", "-r", str(reports), "-l", str(logs), *extra)

    def test_unexpected_error_is_one_line_without_debug(self) -> None:
        """An unexpected exception: exit 1, one line naming it and --debug, no traceback."""
        status, _, err = self._unexpected()
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn("unexpected RuntimeError: boom", err)
        self.assertIn("--debug", err)

    def test_debug_shows_the_traceback(self) -> None:
        """The same exception with --debug: exit 1 and the full traceback on stderr."""
        status, _, err = self._unexpected("--debug")
        self.assertEqual(status, 1)
        self.assertTrue(err.startswith("Traceback (most recent call last):"), err)
        self.assertIn("RuntimeError: boom", err)


if __name__ == "__main__":
    unittest.main()
