"""The monitor run by an ordinary user: directories it may not use, and processes of root it may not read."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import pwd
import shutil
import signal
import subprocess
import traceback
import unittest
import uuid
from pathlib import Path
from typing import Callable

from monitor.cli import main
from tests.helpers import LINUX_ONLY, MonitorTestCase, only_file, unique_name
from tests.workloads import workload

PR_SET_DUMPABLE = 4


@LINUX_ONLY
@unittest.skipUnless(hasattr(os, "geteuid") and os.geteuid() == 0, "creating a second user needs root")
@unittest.skipUnless(shutil.which("useradd"), "needs useradd to create the second user")
class UnprivilegedUserTest(MonitorTestCase):
    user: str
    uid: int
    gid: int

    @classmethod
    def setUpClass(cls) -> None:
        cls.user = f"pm{uuid.uuid4().hex[:8]}"
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", cls.user], check=True)
        cls.addClassCleanup(subprocess.run, ["userdel", cls.user], check=False)
        account = pwd.getpwnam(cls.user)
        cls.uid, cls.gid = account.pw_uid, account.pw_gid
        # The interpreter may live where the user cannot reach it (a pyenv under /root), so the user's
        # processes are forks of this one that drop root; what they import late is imported now.
        import scipy.stats  # noqa: F401

    def _user_dirs(self) -> tuple[Path, Path, Path]:
        base, reports, logs = self.make_dirs()
        os.chown(base, self.uid, self.gid)
        return base, reports, logs

    def _fork_as_user(self, work: Callable[[int, int], int]) -> tuple[int, int, int]:
        """Run work(stdout_fd, stderr_fd) in a child that has dropped to the user; (pid, stdout, stderr) read ends."""
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            status = 99
            try:
                os.close(out_read)
                os.close(err_read)
                os.setgroups([])
                os.setgid(self.gid)
                os.setuid(self.uid)
                # A process that changed its user without exec is not dumpable: the kernel hands its
                # /proc files to root. The user's own processes are dumpable; make this one so too.
                _set_dumpable()
                status = work(out_write, err_write)
            except BaseException:
                os.write(err_write, traceback.format_exc().encode())
            finally:
                os._exit(status)
        os.close(out_write)
        os.close(err_write)
        return pid, out_read, err_read

    def _as_user(self, *args: str) -> subprocess.CompletedProcess[str]:
        """main.py ARGS run as the user; stdout and stderr as text."""

        def monitor(out_fd: int, err_fd: int) -> int:
            with open(out_fd, "w") as out, open(err_fd, "w") as err:
                return main(list(args), stdout=out, stderr=err)

        pid, out_read, err_read = self._fork_as_user(monitor)
        with open(out_read) as out, open(err_read) as err:
            stdout, stderr = out.read(), err.read()
        _, status = os.waitpid(pid, 0)
        return subprocess.CompletedProcess(list(args), os.waitstatus_to_exitcode(status), stdout, stderr)

    def _user_workload(self, name: str) -> int:
        """A steady workload called `name` owned by the user; its PID, killed and reaped at cleanup."""

        def steady(out_fd: int, err_fd: int) -> int:
            os.dup2(out_fd, 1)
            workload.run(workload.parse_args(["--announce", "--name", name]))
            return 0

        pid, out_read, err_read = self._fork_as_user(steady)
        os.close(err_read)
        self.addCleanup(os.waitpid, pid, 0)
        self.addCleanup(os.kill, pid, signal.SIGKILL)
        with open(out_read) as out:
            self.assertEqual(out.readline().strip(), "ready")
        return pid

    def test_reports_dir_under_root_home_is_one_line_naming_it(self) -> None:
        """-r /root/x as an ordinary user: exit 1, one line with the directory, the reason and the option."""
        _, _, logs = self._user_dirs()
        forbidden = f"/root/{unique_name('x')}/reports"
        result = self._as_user("-p", "nothing", "-d", "1", "-s", "1", "-r", forbidden, "-l", str(logs))
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertOneLineError(result.stderr)
        self.assertIn(f"'{forbidden}'", result.stderr)
        self.assertIn("Permission denied", result.stderr)
        self.assertIn("-r/--reports-dir", result.stderr)
        self.assertNotIn("unexpected", result.stderr)

    def test_logs_dir_under_root_home_names_the_logs_option(self) -> None:
        """-l /root/x as an ordinary user: one line naming the logs directory and -l/--logs-dir."""
        _, reports, _ = self._user_dirs()
        forbidden = f"/root/{unique_name('x')}"
        result = self._as_user("-p", "nothing", "-d", "1", "-s", "1", "-r", str(reports), "-l", forbidden)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertOneLineError(result.stderr)
        self.assertIn(f"'{forbidden}'", result.stderr)
        self.assertIn("-l/--logs-dir", result.stderr)

    def test_only_instance_unreadable_fails_and_leaves_no_csv(self) -> None:
        """The only instance belongs to root: exit 1, one line naming its PID, and no header-only CSV left."""
        name = unique_name("rootonly")
        proc = self.start_workload(name)
        _, reports, logs = self._user_dirs()
        result = self._as_user("-p", name, "-d", "1", "-s", "0.2", "-r", str(reports), "-l", str(logs), "--no-plot")
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertOneLineError(result.stderr)
        self.assertIn(str(proc.pid), result.stderr)
        self.assertEqual(list(reports.glob("*.csv")), [])

    def test_unreadable_instance_is_skipped_and_named(self) -> None:
        """One instance of the user's, one of root's: the run goes on, root's is named once and listed as denied."""
        name = unique_name("mixed")
        mine = self._user_workload(name)
        roots = self.start_workload(name)
        _, reports, logs = self._user_dirs()
        result = self._as_user("-p", name, "-d", "1", "-s", "0.2", "-r", str(reports), "-l", str(logs), "--no-plot")
        self.assertEqual(result.returncode, 0, result.stderr)
        sentence = (
            f"1 instance of '{name}' could not be read (access denied): pid {roots.pid}; "
            "run as its owner or as root to include it"
        )
        self.assertEqual(result.stdout.count(sentence), 2, result.stdout)  # when skipped, and in the summary
        self.assertIn(sentence, only_file(logs, f"{name}_*.log").read_text())
        summary = json.loads(only_file(reports, f"{name}_*.json").read_text())
        self.assertEqual(summary["denied_pids"], {str(roots.pid): name})
        self.assertEqual(summary["pids"], {str(mine): name})


if __name__ == "__main__":
    unittest.main()


def _set_dumpable() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
