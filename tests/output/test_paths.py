"""Report and log file names: sanitised, inside their directories, never overwritten."""

from __future__ import annotations

import datetime
import json
import shutil
import unittest

from monitor.errors import MonitorError
from monitor.output.files import claim_files, prepare_dir, run_stem, safe_name
from tests.helpers import LINUX_ONLY, MonitorTestCase, only_file, read_csv, unique_name


class SafeNameTest(unittest.TestCase):
    def test_keeps_letters_digits_dash_underscore_dot(self) -> None:
        """A plain name passes through unchanged."""
        self.assertEqual(safe_name("chrome-1.2_x"), "chrome-1.2_x")

    def test_path_separators_and_dots_cannot_escape(self) -> None:
        """'../../evil' loses its separators and leading dots."""
        self.assertEqual(safe_name("../../evil"), "evil")
        self.assertEqual(safe_name("a/b\\c d"), "a_b_c_d")
        self.assertNotIn("/", safe_name("/etc/passwd"))

    def test_letters_of_any_script_are_kept(self) -> None:
        """Non-ASCII letters stay; only separators, spaces and punctuation become '_'."""
        self.assertEqual(safe_name("ünïcødé-名前"), "ünïcødé-名前")
        self.assertEqual(safe_name("svc.v2 (main)"), "svc.v2_main")

    def test_empty_result_gets_a_placeholder(self) -> None:
        """A name made only of unsafe characters still gives a file name."""
        self.assertEqual(safe_name("../.."), "process")

    def test_stem_has_name_and_second(self) -> None:
        """The stem is <safe-name>_<YYYYmmdd-HHMMSS>."""
        when = datetime.datetime(2026, 1, 2, 3, 4, 5)
        self.assertEqual(run_stem("my app", when), "my_app_20260102-030405")


class ClaimFilesTest(MonitorTestCase):
    def test_two_runs_in_one_second_do_not_overwrite(self) -> None:
        """A second claim of the same stem gets '-2' and creates new files."""
        _, reports, logs = self.make_dirs()
        reports.mkdir()
        logs.mkdir()
        places = {".csv": reports, ".log": logs}
        first = claim_files("app_20260101-000000", places)
        second = claim_files("app_20260101-000000", places)
        self.assertNotEqual(first[".csv"], second[".csv"])
        self.assertEqual(second[".log"].name, "app_20260101-000000-2.log")
        self.assertTrue(all(path.exists() for path in [*first.values(), *second.values()]))

    def test_a_stem_whose_summary_exists_is_not_taken(self) -> None:
        """A JSON or chart left by another run makes the claim move on to the next stem."""
        _, reports, _ = self.make_dirs()
        reports.mkdir()
        (reports / "svc.v2_20260101-000000.json").write_text("{}")
        paths = claim_files("svc.v2_20260101-000000", {".csv": reports}, reserved={".json": reports, ".png": reports})
        self.assertEqual(paths[".csv"].name, "svc.v2_20260101-000000-2.csv")
        self.assertEqual(paths[".json"].name, "svc.v2_20260101-000000-2.json")
        self.assertEqual(paths[".png"].name, "svc.v2_20260101-000000-2.png")
        self.assertFalse(paths[".png"].exists(), "files written at the end are not created at the start")

    def test_reports_dir_that_is_a_file_is_refused(self) -> None:
        """A file where a directory should be raises a MonitorError naming the option."""
        base, _, _ = self.make_dirs()
        blocker = base / "file"
        blocker.write_text("x")
        with self.assertRaisesRegex(MonitorError, "is a file.*-r"):
            prepare_dir(blocker, "reports", "-r")

    def test_missing_dirs_are_created(self) -> None:
        """Nested missing directories are created."""
        base, _, _ = self.make_dirs()
        target = base / "a" / "b"
        prepare_dir(target, "reports", "-r")
        self.assertTrue(target.is_dir())


@LINUX_ONLY
class RunFilesTest(MonitorTestCase):
    def test_two_runs_of_a_dotted_name_keep_their_own_summary_and_chart(self) -> None:
        """Two runs on `-p svc.v2-...`: two JSON files and two charts, each named like its own CSV."""
        _, reports, logs = self.make_dirs()
        name = unique_name("svc.v2")
        self.start_workload(name)
        for _ in range(2):
            result = self.run_monitor("-p", name, "-d", "1", "-s", "0.5", "-q", "-r", str(reports), "-l", str(logs))
            self.assertEqual(result.returncode, 0, result.stderr)
        reports_csv = sorted(path for path in reports.glob("*.csv") if not path.name.endswith("_processes.csv"))
        self.assertEqual(len(reports_csv), 2)
        for report in reports_csv:
            stem = report.name[: -len(".csv")]
            self.assertTrue(stem.startswith(name), stem)
            self.assertTrue((reports / f"{stem}.json").is_file(), f"no JSON beside {report.name}")
            self.assertTrue((reports / f"{stem}.png").is_file(), f"no chart beside {report.name}")
        self.assertEqual(len(list(reports.glob("*.json"))), 2)
        self.assertEqual(len(list(reports.glob("*.png"))), 2)

    def test_a_report_removed_mid_run_is_written_again_from_memory(self) -> None:
        """The reports directory deleted while sampling: exit 1, one line saying so, and the report written again
        with every row the summary counted; the JSON beside it too."""
        _, reports, logs = self.make_dirs()
        name = unique_name("removed")
        self.start_workload(name)
        monitor = self.start_monitor("-p", name, "-d", "3", "-s", "0.2", "-r", str(reports), "-l", str(logs))
        self.wait_for_rows(monitor, 1)
        shutil.rmtree(reports)
        out, err = self.rest_of_output(monitor, timeout=60)
        self.assertEqual(monitor.returncode, 1, out)
        self.assertOneLineError(err)
        self.assertIn("was removed during the run: its", err)
        self.assertIn("rows were written again from memory, the per-process CSVs are lost", err)
        rows = read_csv(only_file(reports, f"{name}_*[0-9].csv"))
        summary = json.loads(only_file(reports, "*.json").read_text())
        self.assertEqual(len(rows), summary["samples"])
        self.assertGreater(len(rows), 1)
        self.assertEqual(list(rows[0])[:4], ["timestamp", "cpu_percent", "private_memory", "handles_fds"])


if __name__ == "__main__":
    unittest.main()
