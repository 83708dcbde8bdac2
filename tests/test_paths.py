"""Report and log file names: sanitised, inside their directories, never overwritten."""

from __future__ import annotations

import datetime
import unittest

from monitor.errors import MonitorError
from monitor.output.files import claim_files, prepare_dir, run_stem, safe_name
from tests.helpers import MonitorTestCase


class SafeNameTest(unittest.TestCase):
    def test_keeps_letters_digits_dash_underscore_dot(self) -> None:
        """A plain name passes through unchanged."""
        self.assertEqual(safe_name("chrome-1.2_x"), "chrome-1.2_x")

    def test_path_separators_and_dots_cannot_escape(self) -> None:
        """'../../evil' loses its separators and leading dots."""
        self.assertEqual(safe_name("../../evil"), "evil")
        self.assertEqual(safe_name("a/b\\c d"), "a_b_c_d")
        self.assertNotIn("/", safe_name("/etc/passwd"))

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


if __name__ == "__main__":
    unittest.main()
