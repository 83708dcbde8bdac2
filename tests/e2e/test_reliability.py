"""Nothing collected is lost: a dying process, signals, SIGKILL, unwritable outputs, AccessDenied, hostile names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path
from unittest import mock

import psutil

from monitor.output.csv_report import CsvStream
from monitor.output.units import plural
from monitor.sampling import session
from monitor.sampling.probes import AccessDeniedError
from tests.helpers import LINUX_ONLY, MAIN, ROOT, MonitorTestCase, only_file, read_csv, unique_name
from tests.process_tools import mounted_tmpfs, start_controlled


@LINUX_ONLY
class ProcessExitTest(MonitorTestCase):
    def test_process_exiting_mid_run_keeps_every_sample(self) -> None:
        """A process that exits after four samples of a 30 s run ends the run: exit 0, the exit line, the summary,
        every row kept."""
        name = unique_name("dies")
        ctl = start_controlled(self, name)
        _, reports, _logs = self.make_dirs()
        monitor = self.start_monitor("-p", name, "-d", "30", "-s", "0.1", *self.out_args)
        before = self.wait_for_rows(monitor, rows=4)
        ctl.proc.communicate(timeout=30)  # the end of its input: it exits normally
        out, err = self.rest_of_output(monitor)
        stdout = "\n".join([*before, out])
        self.assertEqual(monitor.returncode, 0, err)
        self.assertNotIn("Traceback", err)
        rows = read_csv(only_file(reports, f"{name}_*[0-9].csv"))
        self.assertGreaterEqual(len(rows), 4)
        # A run that went on to the end of -d would hold rows taken after the exit.
        self.assertIn(f"process '{name}' (pid {ctl.pid}) exited after {len(rows)} samples", stdout)
        self.assertIn(f"Summary for '{name}': {len(rows)} samples", stdout)


@LINUX_ONLY
class SignalTest(MonitorTestCase):
    def _interrupt(self, *signums: int, chart: bool = False) -> tuple[tuple[int, str, str], Path]:
        """Run the monitor until it has printed a row, send `signums` (each later one once the first is
        acknowledged), and return ((status, stdout, stderr), report)."""
        name = unique_name("sig")
        self.start_workload(name)
        _, reports, logs = self.make_dirs()
        out_args = ["-r", str(reports), "-l", str(logs)] if chart else self.out_args
        monitor = self.start_monitor("-p", name, "-d", "30", "-s", "0.1", *out_args)
        before = self.wait_for_rows(monitor)
        monitor.send_signal(signums[0])
        if len(signums) > 1:
            assert monitor.stdout is not None
            while not (line := monitor.stdout.readline()).startswith("stopping after"):
                self.assertTrue(line, "the monitor never said it was stopping")
                before.append(line.rstrip("\n"))
            before.append(line.rstrip("\n"))
            for signum in signums[1:]:
                monitor.send_signal(signum)
        out, err = self.rest_of_output(monitor)
        return (monitor.returncode, "\n".join(before) + "\n" + out, err), only_file(reports, f"{name}_*[0-9].csv")

    def test_sigint_finishes_the_report_and_exits_130(self) -> None:
        """Ctrl-C mid-run: exit 130, 'stopping after N samples' at once, the summary printed, the CSV holds them."""
        (status, out, err), report = self._interrupt(signal.SIGINT)
        self.assertEqual(status, 130, err)
        self.assertNotIn("Traceback", err)
        rows = read_csv(report)
        self.assertGreaterEqual(len(rows), 1)
        self.assertIn(f"stopping after {plural(len(rows), 'sample')}; writing the summary...", out)
        self.assertIn(f"{plural(len(rows), 'sample')}", out)
        self.assertIn("Stopped: interrupted", out)

    def test_sigterm_finishes_the_report_and_exits_143(self) -> None:
        """SIGTERM mid-run: exit 143, the summary printed, the CSV holds the samples taken."""
        (status, out, err), report = self._interrupt(signal.SIGTERM)
        self.assertEqual(status, 143, err)
        self.assertNotIn("Traceback", err)
        rows = read_csv(report)
        self.assertGreaterEqual(len(rows), 1)
        self.assertIn("Summary for '", out)
        self.assertIn(f": {plural(len(rows), 'sample')}", out)

    def _assert_second_signal_kept_the_summary(self, *signums: int) -> None:
        (status, out, err), report = self._interrupt(*signums, chart=True)
        self.assertEqual(status, 130, err)
        self.assertNotIn("Traceback", err)
        self.assertNotIn("interrupted\n", err)
        rows = read_csv(report)
        self.assertIn("Summary for '", out)
        self.assertIn("Memory trend:", out)
        summary = json.loads(report.with_suffix(".json").read_text())
        self.assertEqual(summary["samples"], len(rows))
        self.assertEqual(summary["end_reason"], "interrupted")
        # Every file announced exists whole, and every file there is announced (the chart may be skipped).
        announced = {Path(line[len("Wrote ") :]) for line in out.splitlines() if line.startswith("Wrote ")}
        on_disk = {path for path in report.parent.iterdir() if not path.name.endswith("_processes.csv")}
        on_disk |= set(only_file(report.parent.parent / "logs", "*.log").parent.glob("*.log"))
        self.assertEqual(announced, on_disk)
        self.assertTrue(report.read_text().endswith("\n"))

    def test_second_ctrl_c_during_the_summary_keeps_summary_and_json(self) -> None:
        """Ctrl-C, then Ctrl-C again while the summary is written: the summary and the JSON are still written."""
        self._assert_second_signal_kept_the_summary(signal.SIGINT, signal.SIGINT)

    def test_sigterm_after_ctrl_c_during_the_summary_keeps_summary_and_json(self) -> None:
        """Ctrl-C, then SIGINT and SIGTERM while the summary is written: exit 130, summary and JSON written."""
        self._assert_second_signal_kept_the_summary(signal.SIGINT, signal.SIGINT, signal.SIGTERM)

    def test_sigkill_leaves_a_valid_csv(self) -> None:
        """kill -9 of the monitor: the CSV on disk parses and holds every completed tick."""
        name = unique_name("kill9")
        self.start_workload(name)
        _, reports, _logs = self.make_dirs()
        monitor = self.start_monitor("-p", name, "-d", "30", "-s", "0.1", *self.out_args)
        self.wait_for_rows(monitor, rows=3)
        monitor.kill()
        monitor.communicate(timeout=15)
        report = only_file(reports, f"{name}_*[0-9].csv")
        rows = read_csv(report)
        self.assertGreaterEqual(len(rows), 3)
        self.assertTrue(report.read_text().endswith("\n"), "no half-written row")
        for row in rows:
            int(row["private_memory"])
            float(row["cpu_percent"])


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
        """-r pointing at a file: exit 1, one line, at once, before the first sample."""
        name = unique_name("blocked")
        self.start_workload(name)
        base, _, logs = self.make_dirs()
        blocker = base / "not-a-dir"
        blocker.write_text("keep me")
        started = time.monotonic()
        status, out, err = self.run_in_process("-p", name, "-d", "60", "-s", "30", "-r", str(blocker), "-l", str(logs))
        # A first sample would come 30 s in; half that leaves a busy machine ample room.
        self.assertLess(time.monotonic() - started, 15)
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
class StandardOutputTest(MonitorTestCase):
    def test_closed_stdout_still_writes_the_files(self) -> None:
        """Started with stdout closed (`>&-`): exit 0, the report and JSON written, nothing on stderr."""
        name = unique_name("noout")
        _, reports, _ = self.make_dirs()
        self.start_workload(name)
        result = subprocess.run(
            [sys.executable, str(MAIN), "-p", name, "-d", "1", "-s", "0.25", *self.out_args],
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            cwd=ROOT,
            preexec_fn=lambda: os.close(1),
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        self.assertTrue(read_csv(only_file(reports, f"{name}_*[0-9].csv")))
        only_file(reports, "*.json")

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_output_to_a_full_device_is_said_once_and_the_files_are_written(self) -> None:
        """stdout on a full device: one line on stderr naming it, exit 0, the report and JSON written."""
        name = unique_name("fullout")
        _, reports, _ = self.make_dirs()
        self.start_workload(name)
        with open("/dev/full", "w") as full:
            result = subprocess.run(
                [sys.executable, str(MAIN), "-p", name, "-d", "1", "-s", "0.25", *self.out_args],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
                cwd=ROOT,
            )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertOneLineError(result.stderr)
        self.assertIn("cannot write to the output (No space left on device)", result.stderr)
        self.assertTrue(read_csv(only_file(reports, f"{name}_*[0-9].csv")))
        only_file(reports, "*.json")


class MidRunFailureTest(MonitorTestCase):
    def test_full_disk_keeps_whole_rows_and_writes_no_empty_summary(self) -> None:
        """A 64 KiB tmpfs filling mid-run: exit 1, one line, whole rows, no empty JSON or chart, honest 'Wrote'."""
        base, _, logs = self.make_dirs()
        reports = mounted_tmpfs(self, base / "tiny", "64k")
        name = unique_name("full")
        self.start_workload(name)
        # Leave two pages: one for each CSV, so the report fills after about fifty rows.
        (reports / "filler").write_bytes(b"\0" * (56 * 1024))
        result = self.run_monitor("-p", name, "-d", "5", "-s", "0.01", "-r", str(reports), "-l", str(logs))
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertOneLineError(result.stderr)
        self.assertIn("No space left on device", result.stderr)
        report = only_file(reports, f"{name}_*[0-9].csv")
        text = report.read_text()
        self.assertTrue(text.endswith("\n"), f"torn last row: {text[-80:]!r}")
        rows = read_csv(report)
        self.assertGreater(len(rows), 10)
        self.assertTrue(all(len(row) == len(rows[0]) and None not in row.values() for row in rows))
        leftovers = [path.name for path in reports.iterdir() if path.suffix in (".json", ".png", ".partial")]
        self.assertEqual(leftovers, [], "no empty or partial summary file")
        announced = {line[len("Wrote ") :] for line in result.stdout.splitlines() if line.startswith("Wrote ")}
        self.assertEqual(announced, {str(report), str(only_file(logs, f"{name}_*.log"))})
        self.assertIn("Summary for", result.stdout)
        status, out, err = self.run_in_process("--analyze", str(report))
        self.assertEqual(status, 0, err)
        self.assertIn(f"{len(rows)} samples", out)

    def test_report_stream_cut_back_to_its_last_whole_row(self) -> None:
        """CsvStream on a full tmpfs: the write that fails leaves the file ending on its last complete row."""
        base, _, _ = self.make_dirs()
        folder = mounted_tmpfs(self, base / "tiny", "8k")
        path = folder / "r.csv"
        path.touch()
        stream = CsvStream(path, ["a", "b"])
        self.addCleanup(stream.close)
        row = ["x" * 97, 1]  # 100 bytes, so rows never end on a page boundary
        with self.assertRaises(OSError):
            for _ in range(1000):
                stream.write(row)
        text = path.read_text()
        self.assertTrue(text.endswith("\n"))
        self.assertEqual((len(text) - len("a,b\n")) % 100, 0)

    def test_access_denied_at_start_exits_1_naming_the_pid(self) -> None:
        """USS unreadable from the start: exit 1, one line with the PID, nothing sampled, no CSV left."""
        name = unique_name("denied")
        proc = self.start_workload(name)
        _, reports, _logs = self.make_dirs()
        denied = mock.patch.object(psutil.Process, "memory_full_info", side_effect=psutil.AccessDenied(proc.pid))
        with denied:
            status, out, err = self.run_in_process("-p", name, "-d", "1", "-s", "0.2", *self.out_args)
        self.assertEqual(status, 1)
        self.assertOneLineError(err)
        self.assertIn(f"pid {proc.pid}", err)
        self.assertNotIn("Summary", out)
        self.assertEqual(list(reports.glob("*.csv")), [], "no header-only report left behind")

    def test_access_denied_mid_run_keeps_what_was_collected(self) -> None:
        """AccessDenied once three rows are written: the three rows stay, the summary says so, exit 1."""
        name = unique_name("denylate")
        proc = self.start_workload(name)
        _, reports, _logs = self.make_dirs()
        real_read = session.read_process

        def read_then_deny(*args: object, **kwargs: object) -> object:
            # Refused once the report holds three rows (each row is flushed as it is taken).
            written = list(reports.glob(f"{name}_*[0-9].csv"))
            if written and len(written[0].read_text().splitlines()) >= 1 + 3:
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
