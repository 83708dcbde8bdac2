"""--compare on real runs: a program holding 60 MiB recorded twice, then holding 80 MiB, saved and live."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from typing import Any, ClassVar

from tests.helpers import LINUX_ONLY, MAIN, ROOT, WORKLOAD, MonitorTestCase

MIB = 1024 * 1024
RUN = ("-d", "4", "-s", "0.2")


def holding(mib: int) -> list[str]:
    """The command of a workload that holds `mib` MiB and then waits (it exits by itself after 60 s at most)."""
    return [sys.executable, str(WORKLOAD), "--hold-mib", str(mib), "--seconds", "60"]


def record(folder: Path, mib: int) -> Path:
    """Monitor the workload holding `mib` MiB for 4 s through main.py; the report it wrote."""
    reports = folder / f"hold{mib}"
    monitor = [sys.executable, str(MAIN), *RUN, "-q", "--no-plot", "-r", str(reports), "-l", str(folder / "logs")]
    done = subprocess.run([*monitor, "--", *holding(mib)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    if done.returncode != 0:
        raise AssertionError(f"recording failed: {done.stderr}")
    found = [p for p in reports.glob("*.csv") if not p.name.endswith("_processes.csv")]
    return max(found, key=lambda p: p.stat().st_mtime_ns)


@LINUX_ONLY
class CompareRealRunsTest(MonitorTestCase):
    """Three real runs, recorded once for the class: two holding 60 MiB, one holding 80 MiB."""

    folder: ClassVar[Path]
    first60: ClassVar[Path]
    second60: ClassVar[Path]
    run80: ClassVar[Path]

    @classmethod
    def setUpClass(cls) -> None:
        folder = Path(tempfile.mkdtemp())
        cls.addClassCleanup(shutil.rmtree, folder, True)
        cls.folder = folder
        cls.first60 = record(folder, 60)
        cls.second60 = record(folder, 60)
        cls.run80 = record(folder, 80)

    def compare_json(self, *args: str) -> tuple[int, dict[str, Any]]:
        status, out, err = self.run_in_process("--compare", *args, "--json")
        self.assertNotIn("Traceback", err)
        return status, json.loads(out)

    def test_the_same_program_recorded_twice_is_not_higher_and_exits_0(self) -> None:
        """60 MiB twice: no metric the gate judges is higher, and --fail-on-regression exits 0.

        Rates the machine's load moves (involuntary context switches on a busy host) may differ between
        two runs of one program; the gate does not judge them, and neither does this test.
        """
        status, document = self.compare_json(str(self.first60), str(self.second60), "--fail-on-regression")
        self.assertEqual(status, 0, document)
        gated = ("cpu_percent", "private_memory", "handles_fds")
        higher = [name for name in gated if document["metrics"][name]["verdict"] == "higher"]
        self.assertEqual(higher, [])
        self.assertEqual(document["higher"], [])
        self.assertIn(document["metrics"]["private_memory"]["verdict"], ("same", "inconclusive"))

    def test_a_folder_stands_for_its_newest_report(self) -> None:
        """`-r baseline` then `--compare baseline`: a folder is read as the newest run's report in it."""
        status, document = self.compare_json(str(self.second60.parent), str(self.run80.parent), "--fail-on-regression")
        self.assertEqual(status, 4, document)
        self.assertEqual(document["baseline"]["file"], str(self.second60))
        self.assertEqual(document["candidate"]["file"], str(self.run80))

    def test_a_report_without_samples_is_not_a_pass(self) -> None:
        """A candidate holding only the header cannot pass --fail-on-regression: one line, exit 1."""
        empty = self.folder / "empty.csv"
        empty.write_text(self.first60.read_text().splitlines()[0] + "\n")
        status, out, err = self.run_in_process("--compare", str(self.first60), str(empty), "--fail-on-regression")
        self.assertEqual(status, 1, out)
        self.assertOneLineError(err)
        self.assertIn("holds no samples, so there is nothing to compare", err)

    def test_twenty_mib_more_is_higher_near_20_mib_and_exits_4(self) -> None:
        """60 MiB then 80 MiB: private memory higher by about 20 MiB, inside its interval; exit 4."""
        status, document = self.compare_json(str(self.first60), str(self.run80), "--fail-on-regression")
        self.assertEqual(status, 4)
        memory = document["metrics"]["private_memory"]
        self.assertEqual(memory["verdict"], "higher")
        self.assertAlmostEqual(memory["median_change"] / MIB, 20, delta=1)
        self.assertLessEqual(memory["median_change_low"], memory["median_change"])
        self.assertLessEqual(memory["median_change"], memory["median_change_high"])
        self.assertAlmostEqual(memory["peak_change"] / MIB, 20, delta=1)
        self.assertTrue(document["regression"])
        self.assertEqual(document["higher"], ["private_memory"])
        self.assertEqual(document["baseline"]["file"], str(self.first60))

    def test_twenty_mib_less_is_lower_and_exits_0(self) -> None:
        """80 MiB then 60 MiB: private memory lower, and --fail-on-regression exits 0."""
        status, document = self.compare_json(str(self.run80), str(self.second60), "--fail-on-regression")
        self.assertEqual(status, 0)
        self.assertEqual(document["metrics"]["private_memory"]["verdict"], "lower")
        self.assertAlmostEqual(document["metrics"]["private_memory"]["median_change"] / MIB, -20, delta=1)

    def test_the_console_table_names_each_metric_and_its_verdict(self) -> None:
        """Without --json: a table row per metric with its verdict, and the regression said in words."""
        status, out, err = self.run_in_process("--compare", str(self.first60), str(self.run80))
        self.assertEqual(status, 0, err)  # no --fail-on-regression: a regression is reported, not failed
        rows = {line.split("  ")[0]: line for line in out.splitlines()}
        self.assertTrue(rows["private memory"].endswith("higher"), out)
        self.assertIn("+20.0 MiB", rows["private memory"])
        self.assertTrue(rows["handles/FDs"].endswith("same"), out)
        self.assertIn("Regression: private memory higher than the baseline", out)

    def test_a_report_compared_with_itself_is_same_throughout(self) -> None:
        """The same file as baseline and candidate: every metric with values is same, with a change of 0."""
        _, document = self.compare_json(str(self.first60), str(self.first60))
        for name, facts in document["metrics"].items():
            self.assertEqual(facts["verdict"], "same", name)
            self.assertEqual(facts["median_change"], 0.0, name)

    def test_a_metric_missing_from_one_report_is_reported_as_such(self) -> None:
        """A candidate without the threads column (an older report): threads are `missing`, the rest compared."""
        base, _, _ = self.make_dirs()
        older = base / "older.csv"
        with self.run80.open(newline="") as source, older.open("w", newline="") as target:
            rows = [{k: v for k, v in row.items() if k != "threads"} for row in csv.DictReader(source)]
            writer = csv.DictWriter(target, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        status, document = self.compare_json(str(self.first60), str(older))
        self.assertEqual(status, 0)
        self.assertEqual(document["metrics"]["threads"]["verdict"], "missing")
        self.assertIsNone(document["metrics"]["threads"]["median_change"])
        self.assertEqual(document["metrics"]["private_memory"]["verdict"], "higher")
        _, out, _ = self.run_in_process("--compare", str(self.first60), str(older))
        self.assertIn("missing: no values in the candidate", out)

    def test_plot_writes_the_chart_beside_the_candidate_and_analyze_skips_it(self) -> None:
        """--plot writes <candidate>_compared.png (a real PNG); --analyze on the folder reads each report once."""
        base, _, _ = self.make_dirs()
        baseline, candidate = shutil.copy(self.first60, base / "a.csv"), shutil.copy(self.run80, base / "b.csv")
        status, out, err = self.run_in_process("--compare", str(baseline), str(candidate), "--plot")
        self.assertEqual(status, 0, err)
        chart = base / "b_compared.png"
        self.assertIn(f"Wrote {chart}", out)
        self.assertEqual(chart.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
        status, out, err = self.run_in_process("--analyze", *(str(p) for p in sorted(base.iterdir())))
        self.assertEqual(status, 0, err)
        self.assertEqual(out.count("Summary for"), 2)

    def test_live_run_of_the_80_mib_program_against_the_60_mib_baseline_exits_4(self) -> None:
        """--compare BASELINE --fail-on-regression -- COMMAND: the run, then the comparison saying higher; exit 4."""
        _, reports, _ = self.make_dirs()
        result = self.run_monitor(
            "--compare", str(self.first60), "--fail-on-regression", *RUN, *self.out_args, "--", *holding(80)
        )
        self.assertEqual(result.returncode, 4, result.stderr)
        memory_rows = [line for line in result.stdout.splitlines() if line.startswith("private memory ")]
        self.assertEqual(len(memory_rows), 1, result.stdout)
        self.assertTrue(memory_rows[0].endswith("higher"), memory_rows)
        self.assertIn("Average private memory", result.stdout)  # the run's own summary came first
        candidate = [p for p in reports.glob("*.csv") if not p.name.endswith("_processes.csv")]
        self.assertEqual(len(candidate), 1)
        self.assertIn(f"Comparing '{candidate[0]}'", result.stdout)

    def test_live_json_keeps_stdout_for_the_comparison(self) -> None:
        """With --json, stdout is one JSON object; the run's own lines go to stderr."""
        self.make_dirs()
        result = self.run_monitor("--compare", str(self.first60), "--json", *RUN, *self.out_args, "--", *holding(60))
        self.assertEqual(result.returncode, 0, result.stderr)
        document = json.loads(result.stdout)
        self.assertNotEqual(document["metrics"]["private_memory"]["verdict"], "higher")
        self.assertIn("Summary for", result.stderr)


class CompareErrorsTest(MonitorTestCase):
    def assertUsage(self, *args: str, status: int = 2, says: str = "") -> str:  # noqa: N802 - unittest naming
        code, _, err = self.run_in_process(*args)
        self.assertEqual(code, status, err)
        self.assertOneLineError(err)
        self.assertIn(says, err)
        return err

    def test_one_report_without_a_run_is_a_usage_error(self) -> None:
        """--compare BASELINE alone names both ways to give a candidate."""
        self.assertUsage("--compare", "base.csv", says="give the candidate report after the baseline")

    def test_bad_option_combinations_are_usage_errors(self) -> None:
        """Three files, a target with two files, --tolerance or --fail-on-regression alone, a bad tolerance."""
        self.assertUsage("--compare", "a.csv", "b.csv", "c.csv", says="3 files given")
        self.assertUsage("--compare", "a.csv", "b.csv", "-p", "x", says="compares two saved reports")
        self.assertUsage("--tolerance", "5", "-p", "x", "-d", "1", says="--tolerance goes with --compare")
        self.assertUsage("--fail-on-regression", "--analyze", "a.csv", says="goes with --compare")
        self.assertUsage("--compare", "a.csv", "b.csv", "--tolerance", "-1", says="from 0 to 1000")
        self.assertUsage("--compare", "a.csv", "b.csv", "--tolerance", "nan", says="--tolerance")
        self.assertUsage("--compare", "a.csv", "b.csv", "--analyze", "a.csv", says="two modes")
        self.assertUsage("--compare", "a.csv", "b.csv", "--fail-on-leak", says="judges one run")
        self.assertUsage("--compare", "a.csv", "--serve", "9877", "-p", "x", says="give one of them")

    def test_files_that_are_not_reports_are_one_line_errors(self) -> None:
        """A missing file, a text file, a run's JSON summary and a detail CSV: exit 1, naming what to give."""
        base, _, _ = self.make_dirs()
        good = base / "run.csv"
        good.write_text(
            "timestamp,cpu_percent,private_memory,handles_fds,process_count,elapsed_s\n"
            "2026-01-01T10:00:00.000+00:00,1.0,1000,5,1,0.0\n"
        )
        notes = base / "notes.txt"
        notes.write_text("hello\n")
        summary = base / "run.json"
        summary.write_text("{}\n")
        detail = base / "run_processes.csv"
        detail.write_text("timestamp,pid,name,cpu_percent,private_memory,handles_fds\n")
        self.assertUsage("--compare", str(base / "gone.csv"), str(good), status=1, says="gone.csv: no such file")
        self.assertUsage("--compare", str(good), str(notes), status=1, says="not a report of this monitor")
        self.assertUsage("--compare", str(summary), str(good), status=1, says=f"analyse its report ({good})")
        self.assertUsage("--compare", str(detail), str(good), status=1, says=f"give its run's report ({good})")

    def test_a_bad_baseline_is_said_before_the_run_starts(self) -> None:
        """The live form with a missing baseline: exit 1 at once, and no report is written."""
        base, reports, _ = self.make_dirs()
        err = self.assertUsage(
            "--compare", str(base / "gone.csv"), "-d", "5", *self.out_args, "--", "sleep", "30", status=1
        )
        self.assertIn("no such file", err)
        self.assertFalse(reports.exists() and any(reports.iterdir()))


if __name__ == "__main__":
    unittest.main()
