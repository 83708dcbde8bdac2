"""Stop signals end the monitor cleanly at any moment: the status of the signal, no traceback, nothing left running."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time
import unittest

import psutil

from monitor.cli.status import ExitStatus, status_for_signal
from monitor.sampling.signals import EndOnSignals, Stopped, loading
from tests.helpers import LINUX_ONLY, MAIN, ROOT, WORKLOAD, MonitorTestCase, only_file, unique_name
from tests.process_tools import wait_until

# A report row on the console starts with its wall-clock time.
_ROW = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} ")
_LAUNCHED_PID = re.compile(r"^Monitoring command '.*' \(pid (\d+)\)", re.MULTILINE)

# Every moment of start-up: the imports, option parsing, launching the command, the first samples.
START_UP_DELAYS_S = (0.15, 0.3, 0.45, 0.6, 0.8, 1.0)


class StatusForSignalTest(unittest.TestCase):
    def test_each_stop_signal_has_the_status_a_shell_gives_it(self) -> None:
        """SIGHUP 129, SIGINT 130, SIGQUIT 131, SIGTERM 143: 128 + the signal's number."""
        self.assertEqual(status_for_signal(signal.SIGHUP), ExitStatus.HUNG_UP)
        self.assertEqual(status_for_signal(signal.SIGINT), ExitStatus.INTERRUPTED)
        self.assertEqual(status_for_signal(signal.SIGQUIT), ExitStatus.QUIT)
        self.assertEqual(status_for_signal(signal.SIGTERM), ExitStatus.TERMINATED)
        self.assertEqual([int(s) for s in (ExitStatus.HUNG_UP, ExitStatus.QUIT)], [129, 131])


class EndOnSignalsTest(unittest.TestCase):
    """Real signals sent to this test process, with EndOnSignals' handlers installed (restored at cleanup)."""

    def setUp(self) -> None:
        self.ending = EndOnSignals().install()
        self.addCleanup(self.ending.restore)

    def test_a_stop_signal_ends_at_once_and_later_ones_are_ignored(self) -> None:
        """SIGTERM raises Stopped (status 143) where it lands; a second signal on the way out is ignored."""
        reached = False
        with self.assertRaises(Stopped) as caught:
            signal.raise_signal(signal.SIGTERM)
            reached = True
        self.assertFalse(reached)
        self.assertEqual(caught.exception.code, 143)
        signal.raise_signal(signal.SIGINT)  # would raise here if it were not ignored

    def test_a_signal_while_modules_load_ends_the_program_after_them(self) -> None:
        """SIGHUP inside `loading()` lets the block finish, then raises Stopped with status 129."""
        finished = False
        with self.assertRaises(Stopped) as caught, loading():
            signal.raise_signal(signal.SIGHUP)
            finished = True
        self.assertTrue(finished)
        self.assertEqual(caught.exception.code, 129)


class InProcessTest(MonitorTestCase):
    def test_main_in_process_puts_back_the_signal_handlers_it_replaced(self) -> None:
        """main() takes over the stop signals while it runs and gives the caller its own handlers back."""
        stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
        before = {signum: signal.getsignal(signum) for signum in stop_signals}
        status, _out, err = self.run_in_process("-p", "x", "-d", "not-a-number")
        self.assertEqual(status, ExitStatus.USAGE, err)
        self.assertEqual({signum: signal.getsignal(signum) for signum in stop_signals}, before)


class HelpTest(unittest.TestCase):
    def test_help_loads_no_heavy_library(self) -> None:
        """--help answers without importing pandas, numpy, scipy, matplotlib, psutil or prometheus_client."""
        result = subprocess.run(
            [sys.executable, "-X", "importtime", str(MAIN), "--help"], capture_output=True, text=True, cwd=ROOT
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertIn("usage:", result.stdout)
        loaded = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
        self.assertIn("monitor.cli.options", loaded)
        heavy = {"pandas", "numpy", "scipy", "matplotlib", "psutil", "prometheus_client"}
        self.assertEqual(heavy & loaded, set())


@LINUX_ONLY
class StopSignalTest(MonitorTestCase):
    def start(
        self,
        *args: str,
        hup: signal.Handlers = signal.SIG_DFL,
        quit_as: signal.Handlers = signal.SIG_DFL,
        terminal: int | None = None,
        entry: list[str] | None = None,
    ) -> subprocess.Popen[str]:
        """Start `python main.py ARGS` (or `python ENTRY ARGS`) as from a terminal; killed and reaped at cleanup.

        SIGHUP and SIGQUIT are set to their default action (or `hup` and `quit_as`: SIG_IGN as under nohup,
        or as a script's background job has them),
        whatever this test runner inherited. With `terminal` (a pseudo-terminal's side), the monitor
        runs in a session of its own with that terminal as its controlling one, as a login shell's
        command does, so that closing the terminal hangs it up.
        """

        def as_from_a_terminal() -> None:
            signal.signal(signal.SIGQUIT, quit_as)
            signal.signal(signal.SIGHUP, hup)
            if terminal is not None:
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        stdio = subprocess.PIPE if terminal is None else terminal
        monitor = subprocess.Popen(
            [sys.executable, *(entry or [str(MAIN)]), *args],
            stdin=subprocess.DEVNULL if terminal is None else terminal,
            stdout=stdio,
            stderr=stdio,
            text=True,
            cwd=ROOT,
            start_new_session=terminal is not None,
            preexec_fn=as_from_a_terminal,  # signal dispositions have no Popen parameter; no thread runs here
        )
        self.addCleanup(_reap, monitor)
        return monitor

    def long_command(self) -> tuple[str, list[str]]:
        """A workload that would run for 5 minutes, with a label to find it by; any left is killed at cleanup."""
        label = unique_name("cmd")
        self.addCleanup(_kill_all, label)
        return label, ["--", sys.executable, str(WORKLOAD), "--label", label, "--seconds", "300"]

    def assert_nothing_left(self, label: str, launched: psutil.Process | None = None) -> None:
        """No process of the launched command is alive (and the one given, by PID and start time, is gone)."""
        left = _kill_all(label)
        self.assertEqual(left, [], "the launched command outlived the monitor")
        if launched is not None:
            self.assertFalse(launched.is_running(), f"pid {launched.pid} is still running")

    def _stop_mid_run(self, signum: int, quit_as: signal.Handlers = signal.SIG_DFL) -> None:
        _, reports, _ = self.make_dirs()
        label, command = self.long_command()
        monitor = self.start("-d", "60", "-s", "0.5", *self.out_args, *command, quit_as=quit_as)
        shown = "\n".join(self.wait_for_rows(monitor))
        found = _LAUNCHED_PID.search(shown)
        assert found is not None, shown
        launched = psutil.Process(int(found.group(1)))
        monitor.send_signal(signum)
        status = monitor.wait(timeout=60)
        self.assert_nothing_left(label, launched)
        out, err = self.rest_of_output(monitor)
        self.assertEqual(status, 128 + signum, err)
        self.assertNotIn("Traceback", err)
        self.assertIn("Summary for ", out)
        summary = json.loads(only_file(reports, "*.json").read_text())
        self.assertEqual(summary["end_reason"], "interrupted")
        self.assertEqual(summary["command_status"], 143)

    def test_a_second_ctrl_c_during_the_summary_skips_only_the_chart(self) -> None:
        """Ctrl-C, then Ctrl-C again once the JSON summary is out: the chart, drawn after it, is not."""
        _, reports, _ = self.make_dirs()
        label, command = self.long_command()
        with_chart = [arg for arg in self.out_args if arg != "--no-plot"]
        monitor = self.start("-d", "60", "-s", "0.5", *with_chart, *command)
        self.wait_for_rows(monitor)
        monitor.send_signal(signal.SIGINT)
        # The JSON summary is written just before the chart is drawn (which takes a second or so).
        wait_until(lambda: any(reports.glob("*.json")), "the JSON summary", timeout_s=60)
        monitor.send_signal(signal.SIGINT)
        out, err = self.rest_of_output(monitor, timeout=60)
        self.assertEqual(monitor.returncode, 130, err)
        self.assertNotIn("Traceback", err)
        self.assertIn("chart not drawn: stopped again while the summary was being written", out)
        self.assertEqual(list(reports.glob("*.png")), [])
        self.assertEqual(list(reports.glob("*.partial")), [])
        # Everything else is written whole.
        self.assertEqual(json.loads(only_file(reports, "*.json").read_text())["end_reason"], "interrupted")
        self.assertTrue(only_file(reports, "*[0-9].csv").read_text().startswith("timestamp,"))
        self.assert_nothing_left(label)

    def test_sighup_mid_run_writes_the_summary_ends_the_command_and_exits_129(self) -> None:
        """kill -HUP after the first row: exit 129, summary and JSON written, the launched command gone."""
        self._stop_mid_run(signal.SIGHUP)

    def test_sigquit_mid_run_writes_the_summary_ends_the_command_and_exits_131(self) -> None:
        """kill -QUIT (Ctrl-\\) after the first row: exit 131, summary and JSON written, the launched command gone."""
        self._stop_mid_run(signal.SIGQUIT)

    def test_sigquit_stops_a_background_job_that_started_with_it_ignored(self) -> None:
        """A script's background job starts with SIGQUIT ignored, as with SIGINT: kill -QUIT still ends it, 131."""
        self._stop_mid_run(signal.SIGQUIT, quit_as=signal.SIG_IGN)

    def test_closing_the_terminal_stops_the_run_like_sighup(self) -> None:
        """The terminal the monitor runs in is closed: exit 129, the JSON and the log's summary, the command gone."""
        _, reports, logs = self.make_dirs()
        label, command = self.long_command()
        terminal, monitor_side = os.openpty()
        try:
            monitor = self.start("-d", "60", "-s", "0.5", *self.out_args, *command, terminal=monitor_side)
        finally:
            os.close(monitor_side)
        try:
            shown = _read_until(terminal, re.compile(rb"\n\d\d:\d\d:\d\d\.\d{3} "))
        finally:
            os.close(terminal)  # the terminal goes away: the kernel hangs up the monitor
        found = _LAUNCHED_PID.search(shown.decode(errors="replace").replace("\r", ""))
        assert found is not None, shown
        launched = psutil.Process(int(found.group(1)))
        status = monitor.wait(timeout=60)
        self.assert_nothing_left(label, launched)
        self.assertEqual(status, 129)
        summary = json.loads(only_file(reports, "*.json").read_text())
        self.assertEqual(summary["end_reason"], "interrupted")
        self.assertIn("Summary for ", only_file(logs, "*.log").read_text())

    def test_hang_up_ignored_at_start_stays_ignored(self) -> None:
        """Under nohup, SIGHUP does not stop the run: rows go on, and SIGTERM then ends it with 143."""
        self.make_dirs()
        label, command = self.long_command()
        monitor = self.start("-d", "60", "-s", "0.1", *self.out_args, *command, hup=signal.SIG_IGN)
        self.wait_for_rows(monitor)
        monitor.send_signal(signal.SIGHUP)
        assert monitor.stdout is not None
        for _ in range(3):
            line = monitor.stdout.readline()
            self.assertRegex(line, _ROW, "the run did not go on after SIGHUP")
        monitor.send_signal(signal.SIGTERM)
        status = monitor.wait(timeout=60)
        self.assert_nothing_left(label)
        _out, err = self.rest_of_output(monitor)
        self.assertEqual(status, 143, err)

    def _signal_during_start_up(self, signum: int, entry: list[str] | None = None) -> None:
        for delay_s in START_UP_DELAYS_S:
            with self.subTest(signal=signal.Signals(signum).name, delay_s=delay_s):
                self.make_dirs()
                label, command = self.long_command()
                monitor = self.start("-d", "30", "-s", "0.5", *self.out_args, *command, entry=entry)
                time.sleep(delay_s)  # the moment of start-up is the subject here
                monitor.send_signal(signum)
                status = monitor.wait(timeout=60)
                self.assert_nothing_left(label)
                _out, err = monitor.communicate(timeout=60)
                self.assertNotIn("Traceback", err)
                self.assertEqual(status, 128 + signum, err)

    def test_ctrl_c_at_any_moment_of_start_up_exits_130_without_traceback(self) -> None:
        """SIGINT 0.15 to 1 s after start, with a command to launch: exit 130, no traceback, no command left."""
        self._signal_during_start_up(signal.SIGINT)

    def test_ctrl_c_during_start_up_of_the_installed_script_exits_130_without_traceback(self) -> None:
        """The same through `procmon` (what its script runs: monitor.cli.main(), without main.py): exit 130."""
        self._signal_during_start_up(
            signal.SIGINT, entry=["-c", "import sys; from monitor.cli import main; sys.exit(main())"]
        )

    def test_sigterm_at_any_moment_of_start_up_exits_143_without_traceback(self) -> None:
        """SIGTERM 0.15 to 1 s after start: exit 143, no traceback, no command left."""
        self._signal_during_start_up(signal.SIGTERM)

    def test_sighup_at_any_moment_of_start_up_exits_129_without_traceback(self) -> None:
        """SIGHUP 0.15 to 1 s after start: exit 129, no traceback, no command left."""
        self._signal_during_start_up(signal.SIGHUP)


def _read_until(fd: int, wanted: re.Pattern[bytes], timeout_s: float = 60.0) -> bytes:
    """Read a terminal's output until `wanted` appears; AssertionError if the other side ends or stays silent."""
    seen = b""
    deadline = time.monotonic() + timeout_s
    while not wanted.search(seen):
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise AssertionError(f"no {wanted.pattern!r} within {timeout_s:g} s: {seen[-500:]!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every program on the terminal has gone
            chunk = b""
        if not chunk:
            raise AssertionError(f"the terminal closed before {wanted.pattern!r}: {seen[-500:]!r}")
        seen += chunk
    return seen


def _kill_all(label: str) -> list[int]:
    """Kill every workload whose command line holds `label`; return their PIDs."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline[1:2] == [str(WORKLOAD)] and label in cmdline:
            try:
                proc.kill()
                found.append(proc.pid)
            except psutil.NoSuchProcess:
                pass
    return found


def _reap(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate()
