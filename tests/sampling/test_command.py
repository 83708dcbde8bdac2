"""A launched command: its own process group, the end of its whole tree, and its status as a shell reports it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import psutil

from monitor.sampling.command import finish_command, launch, shell_status
from tests.helpers import LINUX_ONLY, MonitorTestCase, only_file, read_csv
from tests.process_tools import wait_until


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class ShellStatusTest(unittest.TestCase):
    def test_signal_death_is_128_plus_the_signal_with_its_name(self) -> None:
        """-15 is 143 (SIGTERM), -9 is 137 (SIGKILL); an exit code stays as it is."""
        self.assertEqual(shell_status(-15), (143, "SIGTERM"))
        self.assertEqual(shell_status(-9), (137, "SIGKILL"))
        self.assertEqual(shell_status(0), (0, None))
        self.assertEqual(shell_status(3), (3, None))


@LINUX_ONLY
class LaunchedTreeTest(MonitorTestCase):
    def launch(self, script: str) -> subprocess.Popen[bytes]:
        """Launch `sh -c script` as the monitor does; whatever is left is killed at cleanup."""
        launched = launch(("sh", "-c", script))

        def cleanup() -> None:
            with contextlib.suppress(OSError):
                os.killpg(launched.pid, signal.SIGKILL)
            launched.wait()

        self.addCleanup(cleanup)
        return launched

    def ready_file(self) -> Path:
        """A path in a fresh folder, for a command to create when it is ready."""
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        return Path(folder.name) / "ready"

    def test_command_runs_in_its_own_process_group(self) -> None:
        """The launched command leads a new process group, apart from the monitor's."""
        launched = self.launch("sleep 30")
        self.assertEqual(os.getpgid(launched.pid), launched.pid)
        self.assertNotEqual(os.getpgid(launched.pid), os.getpgrp())

    def test_whole_tree_is_terminated_and_status_follows_the_shell(self) -> None:
        """`sh -c 'sleep; echo'` still running: the shell and its sleep end; status 143 with SIGTERM named."""
        launched = self.launch("sleep 41; echo done")
        wait_until(lambda: bool(psutil.Process(launched.pid).children()), "the shell started no child")
        child = psutil.Process(launched.pid).children()[0].pid
        status, sentence = finish_command(launched, grace_s=5)
        self.assertEqual(status, 143)
        self.assertEqual(sentence, "command was still running at the end and was terminated (status 143, SIGTERM)")
        self.assertFalse(alive(child))

    def test_tree_ignoring_sigterm_is_killed_after_the_grace_period(self) -> None:
        """A shell and child that ignore SIGTERM are killed once the grace period is over: status 137, SIGKILL."""
        ready = self.ready_file()
        launched = self.launch(f'trap "" TERM; sleep 41 & touch "{ready}"; wait')
        wait_until(ready.exists, "the command did not get ready")
        child = psutil.Process(launched.pid).children()[0].pid
        started = time.monotonic()
        status, sentence = finish_command(launched, grace_s=0.5)
        self.assertGreaterEqual(time.monotonic() - started, 0.5)
        self.assertEqual(status, 137)
        self.assertIn("ignored SIGTERM for 0.5 s and was killed (status 137, SIGKILL)", sentence)
        self.assertFalse(alive(child))

    def test_descendant_that_left_the_group_is_ended_too(self) -> None:
        """A child that started a session of its own (setsid) is found as a descendant and ended as well."""
        ready = self.ready_file()
        launched = self.launch(f'setsid sleep 41 & echo $! > "{ready}.tmp"; mv "{ready}.tmp" "{ready}"; wait')
        wait_until(ready.exists, "the command did not get ready")
        runaway = int(ready.read_text())
        wait_until(lambda: os.getpgid(runaway) != launched.pid, "the child did not leave the group")
        finish_command(launched, grace_s=5)
        self.assertFalse(alive(runaway))

    def test_orphan_left_in_the_group_is_ended(self) -> None:
        """A background child of a command that has already exited is ended through the process group."""
        ready = self.ready_file()
        launched = self.launch(f'sleep 41 & echo $! > "{ready}.tmp"; mv "{ready}.tmp" "{ready}"')
        wait_until(ready.exists, "the command did not get ready")
        orphan = int(ready.read_text())
        launched.wait()
        status, sentence = finish_command(launched, grace_s=5)
        self.assertEqual((status, sentence), (0, "command exited with status 0"))
        wait_until(lambda: not alive(orphan), "the orphan outlived the command")

    def test_command_that_exited_gives_its_own_status(self) -> None:
        """A command that exited with 3 is reported as such and not signalled."""
        launched = self.launch("exit 3")
        launched.wait()
        self.assertEqual(finish_command(launched), (3, "command exited with status 3"))

    def test_command_ended_by_a_signal_is_reported_as_a_shell_does(self) -> None:
        """A command that died of SIGUSR1 on its own has status 138 and the signal's name."""
        launched = self.launch("kill -USR1 $$")
        launched.wait()
        self.assertEqual(finish_command(launched), (138, "command was ended by SIGUSR1 (status 138)"))


@LINUX_ONLY
class LaunchedEndToEndTest(MonitorTestCase):
    def test_nothing_the_command_started_outlives_the_monitor(self) -> None:
        """-d 3 -s 0.25 -- sh -c 'sleep 40; echo done': exit 0, status 143 (SIGTERM) said once, no process left."""
        _, reports, logs = self.make_dirs()
        # A dozen ticks: on a busy machine a late tick is skipped, and sleep must still be sampled after its fork.
        result = self.run_monitor("-d", "3", "-s", "0.25", *self.out_args, "--", "sh", "-c", "sleep 40; echo done")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("was terminated (status 143, SIGTERM)", result.stdout)
        log = only_file(logs, "*.log").read_text(encoding="utf-8")
        self.assertEqual(log.count("was terminated (status 143, SIGTERM)"), 1, log)
        summary = json.loads(only_file(reports, "*.json").read_text(encoding="utf-8"))
        self.assertEqual(summary["command_status"], 143)
        detail = read_csv(only_file(reports, "*_processes.csv"))
        self.assertIn("sleep", {row["name"] for row in detail})
        for pid in {int(row["pid"]) for row in detail}:
            self.assertFalse(alive(pid), f"pid {pid} outlived the monitor")


if __name__ == "__main__":
    unittest.main()
