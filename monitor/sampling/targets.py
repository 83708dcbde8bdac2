"""Which processes to watch: every instance of a name, one PID, or a launched command, with children."""

from __future__ import annotations

import os
import subprocess
from typing import Callable, Iterable

import psutil

IS_WINDOWS = psutil.WINDOWS


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


class NameFinder:
    """Finds processes with a given name, reading each new PID's name only once.

    The PID listing is cheap; reading every process's name each tick is not. A PID that
    disappears from the listing is forgotten, so a later process reusing it is looked at anew.
    """

    def __init__(self, name: str, exclude: Iterable[int] = ()) -> None:
        self.name = name
        self._exclude = set(exclude)
        self._known: dict[int, bool] = {}

    def find_new(self) -> list[psutil.Process]:
        """Processes with the name whose PIDs were not in the previous listing."""
        pids = psutil.pids()
        new_pids = [pid for pid in pids if pid not in self._known]
        if len(self._known) + len(new_pids) != len(pids):
            # Some known PIDs are gone: forget them, as their numbers may come back.
            current = set(pids)
            self._known = {pid: hit for pid, hit in self._known.items() if pid in current}
        found = []
        for pid in new_pids:
            proc = self._matching_process(pid)
            self._known[pid] = proc is not None
            if proc is not None:
                found.append(proc)
        return found

    def _matching_process(self, pid: int) -> psutil.Process | None:
        if pid in self._exclude:
            return None
        try:
            proc = psutil.Process(pid)
            return proc if name_matches(proc.name(), self.name) else None
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            # Gone already, or a name we may not read: neither is ours to watch.
            return None


class TargetSet:
    """The processes being watched now, keyed by PID, refreshed once per tick."""

    def __init__(
        self,
        find_roots: Callable[[], list[psutil.Process]],
        include_children: bool = False,
    ) -> None:
        self._find_roots = find_roots
        self._include_children = include_children
        self.live: dict[int, psutil.Process] = {}
        self.roots: set[int] = set()
        self.seen: dict[int, str] = {}
        # True when no process at all was created since the previous refresh: then no new instance
        # or child can have appeared, and no watched PID can have been reused.
        self.nothing_created = False
        self._last_created: int | None = None

    def refresh(self) -> list[psutil.Process]:
        """Add newly found roots and their descendants and return them; the dead are removed by `drop`."""
        added: list[psutil.Process] = []
        last_created = last_created_pid()
        self.nothing_created = last_created is not None and last_created == self._last_created
        self._last_created = last_created
        if self.nothing_created:
            return added
        for proc in self._find_roots():
            self.roots.add(proc.pid)
            self._add(proc, added)
        if self._include_children:
            for root_pid in list(self.roots):
                root = self.live.get(root_pid)
                if root is None:
                    continue
                for child in _descendants(root):
                    self._add(child, added)
        return added

    def drop(self, proc: psutil.Process) -> None:
        """Forget a process that has exited."""
        self.live.pop(proc.pid, None)
        self.roots.discard(proc.pid)

    def _add(self, proc: psutil.Process, added: list[psutil.Process]) -> None:
        if proc.pid in self.live:
            return
        self.live[proc.pid] = proc
        self.seen[proc.pid] = process_name(proc)
        added.append(proc)


_loadavg_fd: int | None = None


def last_created_pid() -> int | None:
    """The PID most recently handed out on this machine, or None where the OS does not say (not Linux).

    Linux reports it as the last field of /proc/loadavg: one small read instead of listing /proc.
    The file stays open for the life of the process, so each tick costs a single pread.
    """
    global _loadavg_fd
    try:
        if _loadavg_fd is None:
            _loadavg_fd = os.open("/proc/loadavg", os.O_RDONLY)
        return int(os.pread(_loadavg_fd, 128, 0).split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def process_name(proc: psutil.Process) -> str:
    """The process's name, or '?' if it can no longer be read."""
    try:
        return proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "?"


def by_name(name: str) -> Callable[[], list[psutil.Process]]:
    """Root finder for every instance of a name (never the monitor itself)."""
    return NameFinder(name, exclude={os.getpid()}).find_new


def by_pid(pid: int) -> Callable[[], list[psutil.Process]]:
    """Root finder for exactly one PID, found once."""
    proc = psutil.Process(pid)
    pending = [proc]

    def find() -> list[psutil.Process]:
        found = list(pending)
        pending.clear()
        return found

    return find


def launch(command: tuple[str, ...]) -> subprocess.Popen[bytes]:
    """Start a command without a shell."""
    return subprocess.Popen(list(command))
