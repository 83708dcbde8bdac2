"""Command-line parsing: defaults, the sample count, and every usage error as one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from monitor.cli.options import (
    AnalyzeOptions,
    CompareOptions,
    ServeOptions,
    WatchOptions,
    described,
    parse_options,
)
from monitor.errors import UsageError
from tests.helpers import MAIN, MonitorTestCase

BAD_INPUTS = [
    ("-p", "x", "-d", "-5"),
    ("-p", "x", "-d", "0"),
    ("-p", "x", "-d", "abc"),
    ("-p", "x", "-d", "nan"),
    ("-p", "x", "-d", "inf"),
    ("-p", "x", "-d", "10", "-s", "0"),
    ("-p", "x", "-d", "10", "-s", "-1"),
    ("-p", "x", "-d", "10", "-s", "NaN"),
    ("-p", "x", "-d", "2", "-s", "10"),
    ("-p", "", "-d", "5"),
    ("-p", "   ", "-d", "5"),
    ("-d", "5"),
    ("-p", "x"),
    ("-p", "x", "--pid", "1", "-d", "5"),
    ("-p", "x", "-d", "5", "--", "sleep", "1"),
    ("-d", "5", "--"),
    ("-p", "x", "-d", "5", "--bogus"),
    ("-p", "x", "-d", "10", "-s", "1e-400"),
    # "--" attached as a value: argparse drops it and hands on an empty list (found by a property test).
    ("-p", "x", "-d", "5", "-s--"),
    ("-p", "x", "-d", "5", "--min-leak-rate=--"),
    ("-p=--", "-d", "5"),
    ("-p", "x", "-d", "10", "-s", "4e-7"),
    ("-p", "x", "-d", "10", "-s", "0.0009"),
    ("-p", "x", "-d", "1e400"),
    ("-p", "x", "-d", "1e11", "-s", "1e10"),
    ("-p", "x", "-d", "31536001"),
    ("-p", "x", "-d", "5", "-r", ""),
    ("-p", "x", "-d", "5", "-l", " "),
    ("--analyze", "a.csv", "-d", "5"),
    ("--analyze", "a.csv", "--serve", "9000"),
    ("--compare", "a.csv", "b.csv", "-s", "1"),
]

# Each out-of-range value, the option the message must name, and the range it must give.
OUT_OF_RANGE = [
    (("-p", "x", "-d", "10", "-s", "1e-400"), "-s/--sampling", "from 0.001 seconds to the duration"),
    (("-p", "x", "-d", "10", "-s", "4e-7"), "-s/--sampling", "from 0.001 seconds to the duration"),
    (("-p", "x", "-d", "1e400"), "-d/--duration", "from 0.001 to 31536000 seconds"),
    (("-p", "x", "-d", "1e11", "-s", "1e10"), "-d/--duration", "from 0.001 to 31536000 seconds"),
]


def watch_options(argv: list[str]) -> WatchOptions:
    """The options of a monitoring run; fails the test for any other mode."""
    options = parse_options(argv)
    assert isinstance(options, WatchOptions), options
    return options


class ParseOptionsTest(unittest.TestCase):
    def test_defaults_match_the_readme(self) -> None:
        """-s defaults to 5, reports and logs to output/reports and output/logs."""
        options = watch_options(["-p", "chrome", "-d", "20"])
        self.assertEqual(options.interval_s, 5.0)
        self.assertEqual(options.reports_dir, Path("output/reports"))
        self.assertEqual(options.logs_dir, Path("output/logs"))
        self.assertEqual(options.sample_count, 4)

    def test_min_leak_rate_takes_a_size_for_memory_and_a_count_for_handles(self) -> None:
        """--min-leak-rate 5MiB/h sets memory's smallest leak, 10/d handles' (per hour); none by default."""
        options = watch_options(["-p", "x", "-d", "5", "--min-leak-rate", "5MiB/h", "--min-leak-rate", "10/d"])
        rates = dict(options.min_leak_rates)
        self.assertEqual(set(rates), {"private_memory", "handles_fds"})
        self.assertAlmostEqual(rates["private_memory"], 5 * 1024**2)
        self.assertAlmostEqual(rates["handles_fds"], 10 / 24)
        analyze = parse_options(["--analyze", "a.csv", "--min-leak-rate", "512KiB/min"])
        assert isinstance(analyze, AnalyzeOptions), analyze
        self.assertAlmostEqual(dict(analyze.min_leak_rates)["private_memory"], 512 * 1024 * 60)
        self.assertEqual(watch_options(["-p", "x", "-d", "5"]).min_leak_rates, ())

    def test_each_command_line_names_one_mode(self) -> None:
        """A run, the exporter, --analyze and --compare each give their own options; a comparison with a run
        holds that run's options as its candidate."""
        self.assertIsInstance(parse_options(["-p", "x", "-d", "5"]), WatchOptions)
        self.assertIsInstance(parse_options(["--serve", "9877", "-p", "x"]), ServeOptions)
        self.assertIsInstance(parse_options(["--analyze", "a.csv"]), AnalyzeOptions)
        saved = parse_options(["--compare", "a.csv", "b.csv", "--tolerance", "2"])
        assert isinstance(saved, CompareOptions), saved
        self.assertEqual((saved.baseline, saved.candidate, saved.tolerance_pct), (Path("a.csv"), Path("b.csv"), 2.0))
        live = parse_options(["--compare", "a.csv", "-p", "x", "-d", "30", "--no-plot"])
        assert isinstance(live, CompareOptions), live
        assert isinstance(live.candidate, WatchOptions), live.candidate
        self.assertEqual((live.candidate.selection.process_name, live.candidate.duration_s), ("x", 30.0))
        self.assertFalse(live.candidate.plot)

    def test_the_log_line_of_the_options_names_what_was_set(self) -> None:
        """The log shows `name=value` for the target and every option set, not a Python repr."""
        line = described(parse_options(["-p", "x", "-d", "5", "-s", "0.5", "--wide"]))
        self.assertTrue(line.startswith("process_names=x duration_s=5.0 interval_s=0.5 sample_count=10 "), line)
        self.assertIn(" wide=True", line)
        self.assertNotIn("Options(", line)
        self.assertNotIn("pid=", line)

    def test_bad_min_leak_rates_are_one_line_usage_errors(self) -> None:
        """A rate without a known unit or its time, of 0, or given twice for one metric names the option and the fix."""
        for rate in (["5MB/h"], ["0/h"], ["-3/h"], ["fast"], ["1/h", "2/h"], ["1MiB/h", "2GiB/d"], ["5MiB"], ["10"]):
            with self.subTest(rate=rate):
                argv = ["-p", "x", "-d", "5"]
                for one in rate:
                    argv += ["--min-leak-rate", one]
                with self.assertRaises(UsageError) as caught:
                    parse_options(argv)
                message = str(caught.exception)
                self.assertIn("--min-leak-rate", message)
                self.assertEqual(len(message.splitlines()), 1)

    def test_sample_count_is_exact_for_decimal_fractions(self) -> None:
        """0.3 s / 0.1 s is 3 samples, not the 2 a float division would give."""
        self.assertEqual(watch_options(["-p", "x", "-d", "0.3", "-s", "0.1"]).sample_count, 3)
        self.assertEqual(watch_options(["-p", "x", "-d", "20", "-s", "2"]).sample_count, 10)
        self.assertEqual(watch_options(["-p", "x", "-d", "6", "-s", "0.5"]).sample_count, 12)
        self.assertEqual(watch_options(["-p", "x", "-d", "7", "-s", "2"]).sample_count, 3)

    def test_command_after_double_dash_is_kept_whole(self) -> None:
        """Options after -- belong to the launched command, not to the monitor."""
        options = watch_options(["-d", "5", "--", "python3", "-d", "x"])
        self.assertEqual(options.selection.command, ("python3", "-d", "x"))
        self.assertIsNone(options.selection.process_name)

    def test_bounds_are_accepted_at_their_limits(self) -> None:
        """-s 0.001 and -d 31536000 (one year) are the extreme values a run may have."""
        self.assertEqual(watch_options(["-p", "x", "-d", "1", "-s", "0.001"]).sample_count, 1000)
        options = watch_options(["-p", "x", "-d", "31536000", "-s", "3600"])
        self.assertEqual((options.duration_s, options.sample_count), (31536000.0, 8760))

    def test_each_bad_input_is_a_usage_error(self) -> None:
        """Every bad input raises UsageError with a message naming the problem."""
        for argv in BAD_INPUTS:
            with self.subTest(argv=argv), self.assertRaises(UsageError):
                parse_options(list(argv))


class UsageErrorOutputTest(MonitorTestCase):
    def test_bad_inputs_exit_2_with_one_line(self) -> None:
        """main() returns 2 and writes exactly one line, no traceback, for each bad input."""
        for argv in BAD_INPUTS:
            with self.subTest(argv=argv):
                status, out, err = self.run_in_process(*argv)
                self.assertEqual(status, 2)
                self.assertOneLineError(err)
                self.assertEqual(out, "")

    def test_error_names_the_option(self) -> None:
        """The message says which option is wrong."""
        _, _, err = self.run_in_process("-p", "x", "-d", "nan")
        self.assertIn("-d/--duration", err)
        _, _, err = self.run_in_process("-p", "x", "-d", "2", "-s", "10")
        self.assertIn("-s/--sampling", err)

    def test_options_of_a_run_are_refused_when_reading_saved_reports(self) -> None:
        """--analyze with -d, -r and --wide names all three instead of ignoring them."""
        status, _, err = self.run_in_process("--analyze", "a.csv", "-d", "5", "-r", "out", "--wide")
        self.assertEqual(status, 2)
        self.assertIn("--analyze reads saved reports and samples nothing: leave out -d, -r, --wide", err)

    def test_a_missing_package_is_named_with_the_fix(self) -> None:
        """Run by a Python without pandas, a monitoring run says which package is missing and how to install it."""
        entry = "import sys; sys.modules['pandas'] = None; from monitor.cli import main; sys.exit(main())"
        result = subprocess.run(
            [sys.executable, "-c", entry, "-p", "x", "-d", "1", "-s", "0.5"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=MAIN.parent,
        )
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertOneLineError(result.stderr)
        self.assertIn("the Python package 'pandas' is missing", result.stderr)
        self.assertIn("pip install -r requirements.txt", result.stderr)

    def test_nothing_given_names_what_to_give(self) -> None:
        """Run with no option at all, the error names the target options and -d, not -d alone."""
        status, _, err = self.run_in_process()
        self.assertEqual(status, 2)
        self.assertIn("nothing to monitor: give -p NAME, --pid PID, --cmdline PATTERN or -- COMMAND, and -d", err)

    def test_real_command_line_gives_one_line(self) -> None:
        """Through the real entry point, a bad duration gives exit 2 and one stderr line."""
        result = self.run_monitor("-p", "x", "-d", "abc")
        self.assertEqual(result.returncode, 2)
        self.assertOneLineError(result.stderr)

    def test_out_of_range_values_name_the_option_and_the_range(self) -> None:
        """A too small interval or a too long duration: exit 2, one line naming the option and its range."""
        for argv, option, allowed in OUT_OF_RANGE:
            with self.subTest(argv=argv):
                status, _, err = self.run_in_process(*argv)
                self.assertEqual(status, 2)
                self.assertOneLineError(err)
                self.assertIn(option, err)
                self.assertIn(allowed, err)

    def test_default_interval_longer_than_the_duration_is_called_the_default(self) -> None:
        """-d 3 without -s: the message says the 5 s is the default interval and gives both fixes."""
        status, _, err = self.run_in_process("-p", "x", "-d", "3")
        self.assertEqual(status, 2)
        self.assertOneLineError(err)
        self.assertIn("the sampling interval (default 5 s) is longer than the duration 3 s", err)
        self.assertIn("give -s up to 3 (fractions allowed), or -d of at least 5", err)

    def test_given_interval_longer_than_the_duration_names_the_option(self) -> None:
        """-d 2 -s 10: the message names -s/--sampling and its value, and does not call it a default."""
        status, _, err = self.run_in_process("-p", "x", "-d", "2", "-s", "10")
        self.assertEqual(status, 2)
        self.assertIn("argument -s/--sampling: 10 s is longer than the duration 2 s", err)
        self.assertNotIn("default", err)

    def test_window_under_eight_default_intervals_says_the_interval_is_the_default(self) -> None:
        """--serve --window 20 without -s: fewer than 8 samples at the default 5 s, and the window that would do."""
        _, _, err = self.run_in_process("--serve", "9877", "-p", "x", "--window", "20")
        self.assertIn("at the sampling interval (default 5 s)", err)
        self.assertIn("at least 8 sampling intervals (40 s)", err)
        _, _, err = self.run_in_process("--serve", "9877", "-p", "x", "-s", "0.25", "--window", "1")
        self.assertIn("at -s 0.25;", err)
        self.assertIn("at least 8 sampling intervals (2 s)", err)

    def test_help_and_errors_use_the_name_the_program_was_run_by(self) -> None:
        """Run as `procmon` (as pip installs it), --help's launch form and error lines say procmon, not main.py."""
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        procmon = Path(folder.name) / "procmon"
        procmon.symlink_to(MAIN)
        helped = subprocess.run([sys.executable, str(procmon), "--help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(helped.returncode, 0, helped.stderr)
        self.assertIn("Launch form: procmon -d SECONDS", helped.stdout)
        self.assertNotIn("main.py", helped.stdout)
        failed = subprocess.run([sys.executable, str(procmon), "-p", "x"], capture_output=True, text=True, timeout=60)
        self.assertTrue(failed.stderr.startswith("procmon: error: "), failed.stderr)
        self.assertIn("Launch form: main.py -d SECONDS", self.run_monitor("--help").stdout)

    def test_help_lists_every_option(self) -> None:
        """--help exits 0 and documents each of the README's options by its own name."""
        result = self.run_monitor("--help")
        self.assertEqual(result.returncode, 0)
        for spelling in (
            "-p NAME, --process NAME",
            "--pid PID",
            "-d SECONDS, --duration SECONDS",
            "-s SECONDS, --sampling SECONDS",
            "-r DIR, --reports-dir DIR",
            "-l DIR, --logs-dir DIR",
            "--include-children",
            "--min-leak-rate RATE",
        ):
            self.assertIn(spelling, result.stdout)
        self.assertNotIn("%%", result.stdout)


if __name__ == "__main__":
    unittest.main()
