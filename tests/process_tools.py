"""Test tools for the sampling tests: controllable processes, binaries under chosen names, another user's view."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Callable, Iterator

from tests.helpers import ROOT

CONTROLLED = ROOT / "tests" / "workloads" / "controlled.py"


class Controlled:
    """A running tests/workloads/controlled.py: rename it and wait for it to obey."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.pid = proc.pid

    def command(self, line: str) -> None:
        """Send one command and wait for its 'ok'."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise AssertionError(f"controlled workload did not obey {line!r}")


def start_controlled(test: unittest.TestCase, name: str) -> Controlled:
    """Start a controlled workload called `name`, wait for 'ready', and kill and reap it at cleanup."""
    proc = subprocess.Popen(
        [sys.executable, str(CONTROLLED), "--name", name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    test.addCleanup(_kill_and_reap, proc)
    assert proc.stdout is not None
    test.assertEqual(proc.stdout.readline().strip(), "ready", "controlled workload did not start")
    return Controlled(proc)


def binary_named(test: unittest.TestCase, name: str, source: str = "/bin/sleep") -> Path:
    """A copy of `source` called `name` in a fresh folder removed at cleanup: its process takes that name."""
    folder = Path(tempfile.mkdtemp())
    test.addCleanup(shutil.rmtree, folder, True)
    folder.chmod(0o755)  # so that another user may run it
    path = folder / name
    shutil.copy(source, path)
    return path


def start_binary(
    test: unittest.TestCase, argv: list[str | Path], user: tuple[int, int] | None = None
) -> subprocess.Popen[bytes]:
    """Start a program (as `user`, a uid and gid, if given); killed and reaped at cleanup.

    Waits until the kernel shows the program's own name, that is, until it has been executed.
    """
    if user is None:
        proc = subprocess.Popen([str(arg) for arg in argv], start_new_session=True)
    else:
        uid, gid = user
        proc = subprocess.Popen(
            [str(arg) for arg in argv], start_new_session=True, user=uid, group=gid, extra_groups=[]
        )
    test.addCleanup(_kill_and_reap, proc)
    wanted = os.fsencode(Path(argv[0]).name)[:15]
    wait_until(lambda: _comm(proc.pid) == wanted, f"{argv[0]} did not start")
    return proc


def wait_until(condition: Callable[[], bool], message: str, timeout_s: float = 10.0) -> None:
    """Poll `condition` until it holds; fail with `message` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.01)


def _has_nobody() -> bool:
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    return True


def _comm(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/comm").read_bytes().rstrip(b"\n")
    except OSError:
        return None


def _kill_and_reap(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


@contextlib.contextmanager
def as_user(uid: int, gid: int) -> Iterator[None]:
    """Run the block with the effective user and group `uid`, `gid` (root only), then become root again.

    The effective capabilities go with root, so inside the block /proc refuses the memory and the
    descriptors of every process of another user, as it does to an ordinary user's monitor.
    """
    os.setegid(gid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def nobody() -> tuple[int, int]:
    """The uid and gid of the unprivileged account 'nobody'."""
    account = pwd.getpwnam("nobody")
    return account.pw_uid, account.pw_gid


ROOT_ONLY = unittest.skipUnless(
    hasattr(os, "geteuid") and os.geteuid() == 0 and _has_nobody(),
    "an unreadable process of another user needs root (to start it) and the 'nobody' account",
)


NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"


def reuse_pid(pid: int) -> subprocess.Popen[bytes] | None:
    """Start `sleep 60` under a PID that was used before, or None where that cannot be arranged.

    The kernel hands out the PID after the one in ns_last_pid (root may set it); another process
    started on the machine in between may take it, so it is tried a few times.
    """
    if not os.access(NS_LAST_PID, os.W_OK):
        return None
    for _ in range(50):
        try:
            with open(NS_LAST_PID, "w") as handle:
                handle.write(str(pid - 1))
        except OSError:
            return None
        proc = subprocess.Popen(["sleep", "60"])
        if proc.pid == pid:
            return proc
        proc.kill()
        proc.wait()
    return None


def mounted_tmpfs(test: unittest.TestCase, folder: Path, size: str) -> Path:
    """A tmpfs of `size` (e.g. '64k') mounted on a new `folder`, unmounted at cleanup; skips the test unless root."""
    if os.geteuid() != 0:
        test.skipTest("mounting a small tmpfs needs root")
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        test.skipTest(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    test.addCleanup(subprocess.run, ["umount", "-l", str(folder)], check=False)
    return folder
