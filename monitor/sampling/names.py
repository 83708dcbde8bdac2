"""What a process is called: names as the kernel and psutil give them, cleaned for output, and who owns it."""

from __future__ import annotations

import contextlib
import os
import weakref

import psutil

from monitor.errors import MonitorError

IS_WINDOWS = psutil.WINDOWS
IS_LINUX = psutil.LINUX


def name_matches(candidate: str, wanted: str, windows: bool | None = None) -> bool:
    """True if a process called `candidate` is what the user asked for with `wanted`.

    On Windows names are case-insensitive and `chrome` also matches `chrome.exe`.
    """
    if windows is None:
        windows = IS_WINDOWS
    if not windows:
        return candidate == wanted
    candidate, wanted = candidate.lower(), wanted.lower()
    return (
        candidate == wanted
        or candidate == wanted + ".exe"
        or (wanted.endswith(".exe") and candidate == wanted[: -len(".exe")])
    )


# Linux keeps a process name (comm) of at most 15 bytes; a longer name is cut, perhaps mid-character.
COMM_BYTES = 15


# Control characters as escapes: a name holding ESC [2J would clear the terminal, a newline split a line.
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROLS |= {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def clean_name(name: str) -> str:
    """A process name as printable, valid UTF-8: bytes that do not decode and control characters
    become backslash escapes.

    psutil decodes names with surrogateescape, so a name cut mid-character holds lone surrogates
    that no UTF-8 file or terminal accepts.
    """
    try:
        text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        text = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.translate(_CONTROLS)


def kernel_name(pid: int) -> bytes | None:
    """The kernel's name of a process (Linux, at most 15 bytes), or None if it cannot be read."""
    data = _read_proc_file(pid, "comm")
    return None if data is None else data.rstrip(b"\n")


# How many /proc/PID/comm descriptors a KernelNames keeps open: a quarter of the usual limit of 1,024.
KEPT_DESCRIPTORS = 256


class KernelNames:
    """Kernel names of processes read again and again, through /proc/PID/comm descriptors kept open.

    Opening /proc/PID/comm costs several times what reading it does, and a finder reads the names of
    the same unmatched processes every second to catch a rename. So up to `limit` descriptors stay
    open and each later read is one pread, which the kernel answers with the name as it is now (an
    exec or a rename included). A descriptor belongs to the process that was opened, not to its PID:
    once that process is gone the read fails, and the PID is opened anew, whoever holds it now.
    """

    def __init__(self, limit: int = KEPT_DESCRIPTORS) -> None:
        self._limit = limit
        self._fds: dict[int, int] = {}
        # Closed when the finder holding this is dropped, or at exit.
        self._finalizer = weakref.finalize(self, _close_all, self._fds)

    def read(self, pid: int) -> bytes | None:
        """The kernel's name of the process holding `pid` now, or None if there is none or it cannot be read."""
        fd = self._fds.get(pid)
        if fd is not None:
            try:
                data = os.pread(fd, 4096, 0)
            except OSError:
                data = b""  # that process is gone; another may hold the PID now
            if data:
                return data.rstrip(b"\n")
            self.forget(pid)
        try:
            fd = os.open(f"/proc/{pid}/comm", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            data = os.read(fd, 4096)
        except OSError:
            os.close(fd)
            return None
        if len(self._fds) < self._limit:
            self._fds[pid] = fd
        else:
            os.close(fd)
        return data.rstrip(b"\n")

    def forget(self, pid: int) -> None:
        """Close the descriptor kept for `pid`, if any."""
        fd = self._fds.pop(pid, None)
        if fd is not None:
            os.close(fd)

    def keep_only(self, pids: set[int]) -> None:
        """Close the descriptors of every PID not in `pids`."""
        for pid in [pid for pid in self._fds if pid not in pids]:
            self.forget(pid)

    @property
    def kept(self) -> int:
        """How many descriptors are open now."""
        return len(self._fds)


def _close_all(fds: dict[int, int]) -> None:
    for fd in fds.values():
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()


# The one reader every name finder of the monitor shares: several -p names list the same processes,
# and the descriptors kept stay within one limit.
KERNEL_NAMES = KernelNames()


def full_name(pid: int, comm: bytes) -> bytes:
    """The untruncated name of a process whose kernel name is `comm`, as psutil finds it, but on bytes.

    When the kernel name fills all 15 bytes, the base name of the first command-line argument is the
    full name if it starts with those bytes. Comparing bytes, unlike psutil, also works when the cut
    split a character.
    """
    if len(comm) < COMM_BYTES:
        return comm
    cmdline = _read_proc_file(pid, "cmdline")
    if not cmdline:
        return comm
    # A process that rewrote its command line may have joined its arguments with spaces.
    first = cmdline.split(b"\0" if cmdline.endswith(b"\0") else b" ")[0]
    extended = os.path.basename(first)
    return extended if extended.startswith(comm) else comm


def _read_proc_file(pid: int, leaf: str) -> bytes | None:
    try:
        fd = os.open(f"/proc/{pid}/{leaf}", os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)


def process_name(proc: psutil.Process) -> str:
    """The process's name, cleaned for output (see clean_name), or '?' if it can no longer be read."""
    try:
        name = proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?"
    if IS_LINUX:
        raw = os.fsencode(name)
        if len(raw) == COMM_BYTES:
            # psutil compares decoded text, so a name cut mid-character keeps its cut form.
            name = os.fsdecode(full_name(proc.pid, raw))
    return clean_name(name)


def owner(proc: psutil.Process) -> str:
    """The user a process runs as, or 'another user' when even that cannot be read."""
    try:
        return clean_name(proc.username())
    except (psutil.Error, OSError, KeyError):
        return "another user"


def name_of_pid(pid: int) -> str:
    """The name of a running process, for file names and labels; MonitorError when there is no such PID."""
    try:
        name = process_name(psutil.Process(pid))
    except psutil.NoSuchProcess:
        raise MonitorError(f"No process with PID {pid}; check the PID (ps, Task Manager)") from None
    return f"pid{pid}" if name == "?" else name
