"""Which processes are watched: every instance of a name, --pid, children, and a launched command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import unittest
import uuid

import psutil

from tests.helpers import (
    LINUX_ONLY,
    MAIN,
    ROOT,
    WORKLOAD,
    MonitorTestCase,
    only_file,
    read_csv,
    smaps_private_bytes,
    unique_name,
)


@LINUX_ONLY
class InstancesTest(MonitorTestCase):
    def test_four_same_named_processes_are_summed(self) -> None:
        """Parent and three forked children: process_count 4, USS the sum of the four, four PIDs in the detail CSV."""
        name = unique_name("quad")
        parent = self.start_workload(name, "--children", "3")
        _, reports, _ = self.make_dirs()
        result = self.run_main("-p", name, "-d", "2", "-s", "0.5", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = read_csv(only_file(reports, f"{name}_*[0-9].csv"))
        # A tick more than half an interval late is skipped by design, so only the planned count is a bound.
        self.assertTrue(1 <= len(rows) <= 4, len(rows))
        self.assertEqual({row["process_count"] for row in rows}, {"4"})
        detail = read_csv(only_file(reports, f"{name}_*_processes.csv"))
        pids = {int(row["pid"]) for row in detail}
        self.assertEqual(len(pids), 4)
        self.assertIn(parent.pid, pids)
        expected = sum(smaps_private_bytes(pid) for pid in pids)
        measured = int(rows[-1]["private_memory"])
        self.assertLess(abs(measured - expected) / expected, 0.15, (measured, expected))
        for row in rows:
            per_tick = sum(int(d["private_memory"]) for d in detail if d["timestamp"] == row["timestamp"])
            self.assertEqual(per_tick, int(row["private_memory"]))

    def test_instances_join_and_leave_during_the_run(self) -> None:
        """One of two instances exits after the first sample and another starts once that is said: the count goes
        2, 1, 2 and the run goes on."""
        name = unique_name("churn")
        self.start_workload(name)
        leaver = self.start_workload(name)
        _, reports, _ = self.make_dirs()
        # Each step waits for the monitor's word, so the run only needs to outlast a slow start of the joiner.
        monitor = self.start_monitor("-p", name, "-d", "6", "-s", "0.25", *self.out_args)
        self.wait_for_rows(monitor)
        os.killpg(leaver.pid, signal.SIGKILL)
        leaver.wait()
        assert monitor.stdout is not None
        while f"(pid {leaver.pid}) exited" not in (line := monitor.stdout.readline()):
            self.assertTrue(line, "the monitor never said that the instance exited")
        joiner = self.start_workload(name)
        _, err = self.rest_of_output(monitor)
        self.assertEqual(monitor.returncode, 0, err)
        counts = [int(row["process_count"]) for row in read_csv(only_file(reports, f"{name}_*[0-9].csv"))]
        self.assertLessEqual(len(counts), 24)
        self.assertEqual(counts[0], 2)
        self.assertIn(1, counts)
        self.assertEqual(counts[-1], 2)
        pids = {int(row["pid"]) for row in read_csv(only_file(reports, f"{name}_*_processes.csv"))}
        self.assertIn(leaver.pid, pids)
        self.assertIn(joiner.pid, pids)

    def test_leaky_instance_is_named(self) -> None:
        """Two instances, one leaking: the summary names the leaking PID only."""
        name = unique_name("pair")
        leaky = self.start_workload(name, "--leak-mib-per-s", "20")
        steady = self.start_workload(name)
        self.make_dirs()
        result = self.run_main("-p", name, "-d", "2.5", "-s", "0.25", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        line = next(line for line in result.stdout.splitlines() if line.startswith("README rule, per instance:"))
        self.assertIn(f"pid {leaky.pid}", line)
        self.assertNotIn(f"pid {steady.pid}", line)


@LINUX_ONLY
class PidAndChildrenTest(MonitorTestCase):
    def test_pid_option_monitors_that_process(self) -> None:
        """--pid N -d 1 -s 0.25 writes a report of up to four rows, all of that PID, exit 0."""
        proc = self.start_workload(unique_name("bypid"))
        _, reports, _ = self.make_dirs()
        result = self.run_main("--pid", str(proc.pid), "-d", "1", "-s", "0.25", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        report = only_file(reports, "*[0-9].csv")
        self.assertTrue(1 <= len(read_csv(report)) <= 4)
        self.assertEqual({int(r["pid"]) for r in read_csv(only_file(reports, "*_processes.csv"))}, {proc.pid})

    def test_missing_pid_exits_1(self) -> None:
        """A PID that does not exist: exit 1 with one line."""
        self.make_dirs()
        result = self.run_main("--pid", "999999999", "-d", "1", "-s", "0.5", *self.out_args)
        self.assertEqual(result.returncode, 1)
        self.assertOneLineError(result.stderr)
        self.assertIn("No process with PID 999999999", result.stderr)

    def test_include_children_adds_differently_named_children(self) -> None:
        """--include-children counts a parent's two children, whatever they are called."""
        name = unique_name("family")
        self.start_workload(name, "--children", "2", "--child-name", unique_name("kid"))
        _, reports, _ = self.make_dirs()
        plain = self.run_main("-p", name, "-d", "0.5", "-s", "0.25", *self.out_args)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        _, reports_with, _ = self.make_dirs()
        with_children = self.run_main("-p", name, "-d", "0.5", "-s", "0.25", "--include-children", *self.out_args)
        self.assertEqual(with_children.returncode, 0, with_children.stderr)
        self.assertEqual({r["process_count"] for r in read_csv(only_file(reports, "*[0-9].csv"))}, {"1"})
        self.assertEqual({r["process_count"] for r in read_csv(only_file(reports_with, "*[0-9].csv"))}, {"3"})


@LINUX_ONLY
class LaunchTest(MonitorTestCase):
    def test_command_that_exits_ends_the_run(self) -> None:
        """-d 120 -- a command exiting after 2 s: the run ends long before -d, with at least 5 samples and its
        status."""
        _, reports, _ = self.make_dirs()
        started = time.monotonic()
        command = [sys.executable, str(WORKLOAD), "--seconds", "2"]
        result = self.run_monitor("-d", "120", "-s", "0.25", *self.out_args, "--", *command, timeout=120)
        # Half of -d: ample for start-up and the summary on a busy machine.
        self.assertLess(time.monotonic() - started, 60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertGreaterEqual(len(read_csv(only_file(reports, "*[0-9].csv"))), 5)
        self.assertIn("command exited with status 0", result.stdout)

    def test_command_outliving_the_duration_is_terminated(self) -> None:
        """A command still running at the end is terminated, and no process of it is left."""
        _, reports, _ = self.make_dirs()
        result = self.run_main(
            "-d", "1", "-s", "0.25", *self.out_args, "--", sys.executable, str(WORKLOAD), "--seconds", "60"
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("was terminated (status 143, SIGTERM)", result.stdout)
        pids = {int(row["pid"]) for row in read_csv(only_file(reports, "*_processes.csv"))}
        self.assertTrue(pids)
        for pid in pids:
            self.assertFalse(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)

    def test_command_that_cannot_start_exits_1(self) -> None:
        """A command that does not exist: exit 1 with one line."""
        self.make_dirs()
        result = self.run_main("-d", "1", "-s", "0.5", *self.out_args, "--", "no-such-command-xyz")
        self.assertEqual(result.returncode, 1)
        self.assertOneLineError(result.stderr)
        self.assertIn("cannot start command 'no-such-command-xyz'", result.stderr)
        self.assertIn("check its name, or give its path", result.stderr)
        folder = self.run_main("-d", "1", "-s", "0.5", *self.out_args, "--", "/")
        self.assertEqual(folder.returncode, 1)
        self.assertOneLineError(folder.stderr)
        self.assertIn("it is a directory; give a program", folder.stderr)


@LINUX_ONLY
class CmdlineTest(MonitorTestCase):
    def test_cmdline_watches_only_the_other_process_carrying_the_pattern(self) -> None:
        """--cmdline TAG, with TAG in the monitor's own command line, watches only the workload that carries it."""
        tag = f"tag{uuid.uuid4().hex[:8]}"
        carrier = self.start_workload(unique_name("carry"), "--label", tag)
        self.start_workload(unique_name("plain"))
        _, reports, _ = self.make_dirs()
        result = self.run_monitor("--cmdline", tag, "-d", "1", "-s", "0.25", *self.out_args)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual({row["pid"] for row in read_csv(only_file(reports, "*_processes.csv"))}, {str(carrier.pid)})
        self.assertEqual(list(json.loads(only_file(reports, "*.json").read_text())["pids"]), [str(carrier.pid)])

    def test_cmdline_never_matches_the_shell_that_started_the_monitor(self) -> None:
        """Started from a shell whose command line holds TAG too, the monitor still watches only the carrier."""
        tag = f"tag{uuid.uuid4().hex[:8]}"
        carrier = self.start_workload(unique_name("carry"), "--label", tag)
        _, reports, _ = self.make_dirs()
        # Not a lone command, so the shell stays the monitor's parent instead of exec'ing it.
        script = f'"$0" "$@"; status=$?; exit $status  # {tag}'
        result = subprocess.run(
            ["sh", "-c", script, sys.executable, str(MAIN), "--cmdline", tag, "-d", "1", "-s", "0.25", *self.out_args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(list(json.loads(only_file(reports, "*.json").read_text())["pids"]), [str(carrier.pid)])

    def test_invalid_pattern_is_a_usage_error(self) -> None:
        """A --cmdline pattern that is not a regular expression: exit 2, one line."""
        result = self.run_main("--cmdline", "(unclosed", "-d", "1", "-s", "0.5")
        self.assertEqual(result.returncode, 2)
        self.assertOneLineError(result.stderr)
        self.assertIn("--cmdline", result.stderr)

    def test_pattern_matching_only_the_monitor_exits_1(self) -> None:
        """A pattern found in no command line but the monitor's own: exit 1, one line."""
        self.make_dirs()
        result = self.run_monitor("--cmdline", f"none{uuid.uuid4().hex[:8]}", "-d", "1", "-s", "0.5", *self.out_args)
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertOneLineError(result.stderr)


if __name__ == "__main__":
    unittest.main()
