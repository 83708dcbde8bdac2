"""Reporting: the live console, the chart, the JSON summary and --fail-on-leak."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import unittest

from monitor.metrics import METRICS
from monitor.output.console import LEAK_MARKER, Console, format_progress
from tests.helpers import LINUX_ONLY, MAIN, ROOT, MonitorTestCase, only_file, read_csv, unique_name

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ConsoleTest(unittest.TestCase):
    def test_terminal_progress_is_redrawn_in_place(self) -> None:
        """On a terminal the progress line is erased before each row and redrawn after it."""
        out = io.StringIO()
        console = Console(out, live=True)
        console.line("row 1")
        console.progress("[#---] 1/4")
        console.line("row 2")
        console.progress("[##--] 2/4")
        console.summary("done")
        text = out.getvalue()
        self.assertEqual(text.count("\r\x1b[2K"), 4)
        self.assertTrue(text.endswith("\r\x1b[2Kdone\n"))
        self.assertLess(text.index("row 2"), text.index("[##--]"))

    def test_piped_output_has_no_escapes_and_no_progress(self) -> None:
        """Piped or redirected: plain lines only."""
        out = io.StringIO()
        console = Console(out)  # StringIO is not a terminal
        console.line("row")
        console.progress("[#---]")
        console.summary("done")
        self.assertEqual(out.getvalue(), "row\ndone\n")

    def test_quiet_keeps_only_the_summary(self) -> None:
        """--quiet drops rows, notes and progress, never the summary."""
        out = io.StringIO()
        console = Console(out, quiet=True, live=True)
        console.line("row")
        console.progress("[#---]")
        console.summary("Summary")
        self.assertEqual(out.getvalue(), "Summary\n")

    def test_progress_text_shows_elapsed_samples_and_time_left(self) -> None:
        """The progress line gives elapsed/total, samples/planned and the time left."""
        text = format_progress(5.0, 20.0, 2, 4)
        self.assertIn("5.0/20 s", text)
        self.assertIn("2/4 samples", text)
        self.assertIn("15 s left", text)
        self.assertIn("#####---------------", text)


@LINUX_ONLY
class RunOutputsTest(MonitorTestCase):
    def test_leak_with_fail_on_leak_writes_everything_and_exits_3(self) -> None:
        """Leaking 20 MiB/s, piped, --fail-on-leak: exit 3, no escapes, a PNG and a complete JSON summary."""
        name = unique_name("report")
        proc = self.start_workload(name, "--leak-mib-per-s", "20")
        _, reports, logs = self.make_dirs()
        with_chart = ["-r", str(reports), "-l", str(logs)]
        result = self.run_monitor("-p", name, "-d", "3", "-s", "0.2", *with_chart, "--fail-on-leak")
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertNotIn("\x1b[", result.stdout)
        marked = [line for line in result.stdout.splitlines() if line.endswith(LEAK_MARKER)]
        self.assertEqual(len(marked), 1, result.stdout)
        table = result.stdout.split("\n", 1)[1].split("\nSummary for")[0].splitlines()
        self.assertLessEqual(max(len(line) for line in table), 80, table)
        chart = only_file(reports, f"{name}_*.png")
        self.assertEqual(chart.read_bytes()[:8], PNG_SIGNATURE)
        self.assertGreater(chart.stat().st_size, 5000)
        summary = json.loads(only_file(reports, f"{name}_*.json").read_text())
        self.assertEqual(summary["samples"], 15)
        self.assertEqual(set(summary["averages"]), set(METRICS))
        self.assertIs(summary["leak"]["private_memory"]["heuristic"], True)
        self.assertEqual(summary["leak"]["private_memory"]["verdict"], "leak")
        self.assertEqual(summary["leak"]["handles_fds"]["verdict"], "no-leak")
        self.assertIs(summary["leak"]["handles_fds"]["heuristic"], False)
        self.assertEqual(summary["end_reason"], "duration reached")
        self.assertEqual(summary["pids"], {str(proc.pid): name})
        sampling = summary["sampling"]
        self.assertEqual((sampling["planned_samples"], sampling["actual_samples"]), (15, 15))
        # A sane figure in seconds; how late ticks are is timed on a fake clock (test_clock).
        self.assertTrue(0 <= sampling["max_lateness_s"] < 0.2, sampling)
        self.assertEqual(sampling["ticks_missed"], 0)
        self.assertEqual(summary["options"]["fail_on_leak"], True)
        # The saved report re-analysed: the leak lines again, exit 3 with --fail-on-leak, and a chart with --plot.
        report = only_file(reports, f"{name}_*[0-9].csv")
        again = only_file(reports, f"{name}_*.png")
        again.unlink()
        status, out, _ = self.run_in_process("--analyze", str(report), "--fail-on-leak", "--plot")
        self.assertEqual(status, 3)
        self.assertIn("Memory trend: LEAK", out)
        self.assertTrue(again.exists())

    def test_reader_closing_the_pipe_early_loses_no_sample(self) -> None:
        """`main.py ... | head -n 3`: the monitor goes on after the reader leaves, exits 0, and keeps every sample."""
        name = unique_name("piped")
        self.start_workload(name)
        _, reports, _ = self.make_dirs()
        monitor = subprocess.Popen(
            [sys.executable, str(MAIN), "-p", name, "-d", "2", "-s", "0.1", *self.out_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        self.addCleanup(monitor.wait)
        self.addCleanup(monitor.send_signal, signal.SIGKILL)
        head = subprocess.run(["head", "-n", "3"], stdin=monitor.stdout, capture_output=True, timeout=30)
        assert monitor.stdout is not None and monitor.stderr is not None
        monitor.stdout.close()  # only head reads it now, and head has gone
        err = monitor.stderr.read().decode()
        monitor.stderr.close()
        self.assertEqual(monitor.wait(30), 0, err)
        self.assertEqual(err, "")
        self.assertEqual(len(head.stdout.decode().splitlines()), 3)
        rows = read_csv(only_file(reports, f"{name}_*[0-9].csv"))
        summary = json.loads(only_file(reports, f"{name}_*.json").read_text())
        self.assertEqual(len(rows), summary["samples"])
        sampling = summary["sampling"]
        self.assertEqual(len(rows), sampling["planned_samples"] - sampling["ticks_missed"])
        self.assertGreaterEqual(len(rows), 15)

    def test_quiet_prints_only_the_summary_and_no_plot_skips_the_chart(self) -> None:
        """--quiet: no table, no notes, only the summary block; --no-plot: no PNG."""
        name = unique_name("quiet")
        self.start_workload(name)
        _, reports, _ = self.make_dirs()
        result = self.run_main("-p", name, "-d", "1", "-s", "0.25", "--quiet", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertTrue(lines[0].startswith(f"Summary for '{name}'"), lines)
        self.assertNotIn("Monitoring", result.stdout)
        self.assertNotIn("cpu %", result.stdout)
        self.assertEqual(list(reports.glob("*.png")), [])
        self.assertEqual(len(list(reports.glob("*.json"))), 1)

    def test_summary_says_how_many_ticks_were_missed(self) -> None:
        """At -s 0.001 the clock skips ticks it cannot honour; the summary on stdout gives the JSON's count."""
        _, reports, _ = self.make_dirs()
        name = unique_name("missed")
        self.start_workload(name)
        result = self.run_monitor("-p", name, "-d", "3", "-s", "0.001", "-q", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        sampling = json.loads(only_file(reports, "*.json").read_text())["sampling"]
        missed, taken = sampling["ticks_missed"], sampling["actual_samples"]
        if missed:
            self.assertIn(f"Missed {missed:,} of {missed + taken:,} ticks", result.stdout)
        else:
            self.assertNotIn("Missed", result.stdout)

    def test_no_leak_with_fail_on_leak_exits_0(self) -> None:
        """--fail-on-leak does not change the status when there is no leak."""
        name = unique_name("calm")
        self.start_workload(name)
        self.make_dirs()
        result = self.run_main("-p", name, "-d", "1", "-s", "0.25", "--fail-on-leak", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
