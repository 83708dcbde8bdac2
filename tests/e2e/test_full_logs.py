"""A logs directory that fills mid-run fails like the reports directory: one line, exit 1, the report whole."""

from __future__ import annotations

import unittest

from tests.helpers import LINUX_ONLY, MonitorTestCase, only_file, read_csv, unique_name
from tests.process_tools import mounted_tmpfs


@LINUX_ONLY
class FullLogsTest(MonitorTestCase):
    def test_full_logs_directory_says_so_and_exits_1_with_the_report_whole(self) -> None:
        """-l on a 64 KiB tmpfs: one line naming the directory and -l, exit 1, the summary, a CSV --analyze reads."""
        _, reports, _ = self.make_dirs()
        logs = mounted_tmpfs(self, reports.parent / "tiny-logs", "64k")
        name = unique_name("full-log")
        self.start_workload(name)
        # One page left: the log fills after a few dozen lines of samples.
        (logs / "filler").write_bytes(b"\0" * (60 * 1024))
        # --debug logs every sample, so the log fills within the run.
        result = self.run_monitor("-p", name, "-d", "3", "-s", "0.01", "--debug", "-r", str(reports), "-l", str(logs))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertOneLineError(result.stderr)
        self.assertIn(f"logs directory '{logs}'", result.stderr)
        self.assertIn("No space left on device", result.stderr)
        self.assertIn("-l/--logs-dir", result.stderr)
        self.assertIn("Summary for", result.stdout)
        report = only_file(reports, f"{name}_*[0-9].csv")
        rows = read_csv(report)
        self.assertGreater(len(rows), 100, "sampling goes on without the log")
        self.assertNotIn(f"Wrote {only_file(logs, f'{name}_*.log')}", result.stdout)
        status, out, err = self.run_in_process("--analyze", str(report))
        self.assertEqual(status, 0, err)
        self.assertIn(f"{len(rows)} samples", out)


if __name__ == "__main__":
    unittest.main()
