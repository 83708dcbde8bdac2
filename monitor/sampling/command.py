"""A command the monitor launches: started in a process group of its own, ended whole, its status as a shell says it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

import psutil

from monitor.sampling.names import IS_WINDOWS

# Seconds a launched command gets to exit after SIGTERM before it is killed.
TERMINATE_GRACE_S = 3.0


def launch(command: tuple[str, ...]) -> subprocess.Popen[bytes]:
    """Start a command without a shell, in a process group of its own, so that its whole tree can be ended."""
    if IS_WINDOWS:
        flags = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined,unused-ignore]
        return subprocess.Popen(list(command), creationflags=flags)
    return subprocess.Popen(list(command), start_new_session=True)


def finish_command(launched: subprocess.Popen[bytes], grace_s: float = TERMINATE_GRACE_S) -> tuple[int, str]:
    """Stop a launched command and everything it started; return its status as a shell gives it, and a sentence.

    The command runs in a process group of its own (see targets.launch): the whole group, and any
    descendant that left it, gets SIGTERM, and after `grace_s` seconds SIGKILL. A death by signal N
    is reported as the shell does, status 128 + N with the signal's name (143, SIGTERM).
    """
    was_running = launched.poll() is None
    tree = command_tree(launched)
    leader_ignored = False
    if (was_running or tree) and not _end_tree(launched, tree, kill=False, wait_s=grace_s):
        leader_ignored = launched.poll() is None
        _end_tree(launched, tree, kill=True, wait_s=grace_s)
    status, signal_name = shell_status(launched.wait())
    shown = f"status {status}" if signal_name is None else f"status {status}, {signal_name}"
    if not was_running:
        if signal_name is None:
            return status, f"command exited with status {status}"
        return status, f"command was ended by {signal_name} (status {status})"
    if leader_ignored:
        return status, (
            f"command was still running at the end, ignored SIGTERM for {grace_s:g} s and was killed ({shown})"
        )
    return status, f"command was still running at the end and was terminated ({shown})"


def shell_status(returncode: int) -> tuple[int, str | None]:
    """A Popen return code as a shell reports it: 128 + N and the signal's name for a death by signal N."""
    if returncode >= 0:
        return returncode, None
    signum = -returncode
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return 128 + signum, name


def command_tree(launched: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """Every live process a launched command started: its descendants, and the members of its process group.

    The descendants must be found while the command still runs (an orphan is re-parented); the
    group still holds the orphans that did not leave it.
    """
    found: dict[int, psutil.Process] = {}
    try:
        for proc in psutil.Process(launched.pid).children(recursive=True):
            found[proc.pid] = proc
    except psutil.Error:
        pass
    if not IS_WINDOWS:
        for pid in psutil.pids():
            if pid == launched.pid or pid in found:
                continue
            try:
                if os.getpgid(pid) == launched.pid:
                    found[pid] = psutil.Process(pid)
            except (OSError, psutil.Error):
                continue
    return list(found.values())


def _end_tree(launched: subprocess.Popen[bytes], tree: list[psutil.Process], kill: bool, wait_s: float) -> bool:
    """Send SIGTERM (or SIGKILL) to the command and its tree; True if all of them are gone within wait_s."""
    if not IS_WINDOWS:
        with contextlib.suppress(OSError):
            os.killpg(launched.pid, signal.SIGKILL if kill else signal.SIGTERM)
    targets: list[psutil.Process | subprocess.Popen[bytes]] = [*tree]
    if launched.poll() is None:
        targets.append(launched)
    for proc in targets:
        # psutil checks that a PID still belongs to the same process before signalling it.
        with contextlib.suppress(psutil.Error, OSError):
            if kill:
                proc.kill()
            else:
                proc.terminate()
    deadline = time.monotonic() + wait_s
    while launched.poll() is None or any(_alive(proc) for proc in tree):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
