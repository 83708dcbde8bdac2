"""Nothing collected is lost: a dying process, signals, SIGKILL, unwritable outputs, AccessDenied, hostile names."""

from __future__ import annotations

import errno
import signal
import time
import unittest
from pathlib import Path
from unittest import mock

import psutil

from monitor.output.csv_report import CsvStream
from monitor.sampling import session
from monitor.sampling.probes import AccessDeniedError
from tests.helpers import LINUX_ONLY, MonitorTestCase, only_file, read_csv, unique_name


@LINUX_ONLY
class ProcessExitTest(MonitorTestCase):
    def test_process_exiting_mid_run_keeps_every_sample(self) -> None:
        """A workload that exits after 1.5 s of an 8 s run: exit 0, the exit line, the summary, every row kept."""
        name = unique_name("dies")
        proc = self.start_workload(name, "--seconds", "1.5")
        _, reports, _logs = self.make_dirs()
        started = time.monotonic()
        result = self.run_monitor("-p", name, "-d", "8", "-s", "0.1", *self.out_args)
        self.assertLess(time.monotonic() - started, 6, "sampling should stop when the process exits")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        rows = read_csv(only_file(reports, f"{name}_*[0-9].csv"))
        self.assertGreaterEqual(len(rows), 4)
        self.assertIn(f"process '{name}' (pid {proc.pid}) exited after {len(rows)} samples", result.stdout)
        self.assertIn(f"Summary for '{name}': {len(rows)} samples", result.stdout)


@LINUX_ONLY
class SignalTest(MonitorTestCase):
    def _interrupt(self, signum: int) -> tuple[subprocess_result, Path]:
        name = unique_name("sig")
        self.start_workload(name)
        _, reports, _logs = self.make_dirs()
        monitor = self.start_monitor("-p", name, "-d", "30", "-s", "0.1", *self.out_args)
        time.sleep(1.5)
        monitor.send_signal(signum)
        out, err = monitor.communicate(timeout=15)
        return (monitor.returncode, out, err), only_file(reports, f"{name}_*[0-9].csv")

    def test_sigint_finishes_the_report_and_exits_130(self) -> None:
        """Ctrl-C mid-run: exit 130, the summary printed, the CSV holds the samples taken."""
        (status, out, err), report = self._interrupt(signal.SIGINT)
        self.assertEqual(status, 130, err)
        self.assertNotIn("Traceback", err)
        rows = read_csv(report)
        self.assertGreaterEqual(len(rows), 5)
        self.assertIn(f"{len(rows)} samples", out)
        self.assertIn("Stopped: interrupted", out)

    def test_sigterm_finishes_the_report_and_exits_143(self) -> None:
        """SIGTERM mid-run: exit 143, the summary printed, the CSV holds the samples taken."""
        (status, out, err), report = self._interrupt(signal.SIGTERM)
        self.assertEqual(status, 143, err)
        self.assertNotIn("Traceback", err)
        rows = read_csv(report)
        self.assertGreaterEqual(len(rows), 5)
        self.assertIn(f"{len(rows)} samples", out)

    def test_sigkill_leaves_a_valid_csv(self) -> None:
        """kill -9 of the monitor: the CSV on disk parses and holds every completed tick."""
        name = unique_name("kill9")
        self.start_workload(name)
        _, reports, _logs = self.make_dirs()
        monitor = self.start_monitor("-p", name, "-d", "30", "-s", "0.1", *self.out_args)
        time.sleep(1.5)
        monitor.kill()
        monitor.communicate(timeout=15)
        report = only_file(reports, f"{name}_*[0-9].csv")
        rows = read_csv(report)
        self.assertGreaterEqual(len(rows), 5)
        self.assertTrue(report.read_text().endswith("\n"), "no half-written row")
        for row in rows:
            int(row["private_memory"])
            float(row["cpu_percent"])


subprocess_result = tuple  # (returncode, stdout, stderr)


@LINUX_ONLY
class OutputPathTest(MonitorTestCase):
    def test_name_with_dot_dot_cannot_write_outside_the_dirs(self) -> None:
        """A process called '../../evilx' gets its five files (chart included) inside -r and -l, nowhere else."""
        name = "../../evilx"
        self.start_workload(name)
        base, reports, logs = self.make_dirs()
        deep_reports, deep_logs = reports / "a" / "b", logs / "a" / "b"
        result = self.run_monitor("-p", name, "-d", "0.6", "-s", "0.2", "-r", str(deep_reports), "-l", str(deep_logs))
        self.assertEqual(result.returncode, 0, result.stderr)
        written = sorted(path for path in base.rglob("*") if path.is_file())
        self.assertEqual(len(written), 5, written)
        for path in written:
            self.assertIn(path.parent, (deep_reports, deep_logs))
            self.assertTrue(path.name.startswith("evilx_"))

    def test_reports_path_that_is_a_file_fails_fast(self) -> None:
        """-r pointing at a file: exit 1, one line, within a second and before sampling."""
        name = unique_name("blocked")
        self.start_workload(name)
        base, _, logs = self.make_dirs()
        blocker = base / "not-a-dir"
        blocker.write_text("keep me")
        started = time.monotonic()
        status, out, err = self.run_in_process("-p", name, "-d", "5", "-s", "1", "-r", str(blocker), "-l", str(logs))
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn("not-a-dir", err)
        self.assertEqual(blocker.read_text(), "keep me")
        self.assertNotIn("time", out)

    def test_unwritable_logs_dir_fails_fast(self) -> None:
        """A logs directory we may not write to: exit 1 and one line naming it."""
        name = unique_name("nolog")
        self.start_workload(name)
        _, _reports, _logs = self.make_dirs()
        refuse = mock.patch(
            "monitor.output.files.tempfile.TemporaryFile", side_effect=PermissionError(13, "Permission denied")
        )
        with refuse:
            status, _, err = self.run_in_process("-p", name, "-d", "5", *self.out_args)
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn("Permission denied", err)


@LINUX_ONLY
class MidRunFailureTest(MonitorTestCase):
    def test_full_disk_keeps_rows_and_prints_the_summary(self) -> None:
        """ENOSPC on the 4th row: one stderr line, three rows stay on disk, the summary covers four, exit 1."""
        name = unique_name("full")
        self.start_workload(name)
        _, reports, _logs = self.make_dirs()
        real_write = CsvStream.write
        calls = {"n": 0}

        def write_until_full(stream: CsvStream, row: object) -> None:
            calls["n"] += 1
            if calls["n"] == 4:
                raise OSError(errno.ENOSPC, "No space left on device")
            real_write(stream, row)  # type: ignore[arg-type]

        with mock.patch.object(CsvStream, "write", write_until_full):
            status, out, err = self.run_in_process("-p", name, "-d", "3", "-s", "0.2", *self.out_args)
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn("No space left on device", err)
        self.assertEqual(len(read_csv(only_file(reports, f"{name}_*[0-9].csv"))), 3)
        self.assertIn("4 samples", out)

    def test_access_denied_at_start_exits_1_naming_the_pid(self) -> None:
        """USS unreadable from the start: exit 1, one line with the PID and the fix, nothing sampled."""
        name = unique_name("denied")
        proc = self.start_workload(name)
        _, _reports, _logs = self.make_dirs()
        denied = mock.patch.object(psutil.Process, "memory_full_info", side_effect=psutil.AccessDenied(proc.pid))
        with denied:
            status, out, err = self.run_in_process("-p", name, "-d", "1", "-s", "0.2", *self.out_args)
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn(f"pid {proc.pid}", err)
        self.assertIn("elevated rights", err)
        self.assertNotIn("Summary", out)

    def test_access_denied_mid_run_keeps_what_was_collected(self) -> None:
        """AccessDenied on the 4th tick: the three rows stay, the summary says so, exit 1."""
        name = unique_name("denylate")
        proc = self.start_workload(name)
        _, reports, _logs = self.make_dirs()
        real_read = session.read_process
        calls = {"n": 0}

        def read_then_deny(*args: object, **kwargs: object) -> object:
            calls["n"] += 1
            if calls["n"] == 5:  # one read at start, then one per tick
                raise AccessDeniedError(proc.pid, name)
            return real_read(*args, **kwargs)  # type: ignore[arg-type]

        with mock.patch.object(session, "read_process", read_then_deny):
            status, out, err = self.run_in_process("-p", name, "-d", "3", "-s", "0.2", *self.out_args)
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn("access denied", err)
        self.assertEqual(len(read_csv(only_file(reports, f"{name}_*[0-9].csv"))), 3)
        self.assertIn("3 samples", out)


if __name__ == "__main__":
    unittest.main()
