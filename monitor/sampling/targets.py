"""The processes being watched now: the roots found so far and, where asked, their descendants."""

from __future__ import annotations

from typing import Callable

import psutil

from monitor.sampling.handouts import last_created_pid
from monitor.sampling.names import process_name


class TargetSet:
    """The processes being watched now, keyed by PID, refreshed once per tick."""

    def __init__(
        self,
        find_roots: Callable[[], list[psutil.Process]],
        include_children: bool = False,
        last_created: Callable[[], int | None] | None = None,
    ) -> None:
        self._find_roots = find_roots
        self._include_children = include_children
        self._last_created_pid = last_created or last_created_pid
        self.live: dict[int, psutil.Process] = {}
        self.roots: set[int] = set()
        self.seen: dict[int, str] = {}
        self.root_of: dict[int, int] = {}  # a child's PID -> the PID of the root it was found under
        # True when no process at all was created since the previous refresh: then no new instance
        # or child can have appeared, and no watched PID can have been reused.
        self.nothing_created = False
        self._last_created: int | None = None
        # Processes that may not be read: never taken back, though a child search finds them again.
        self._denied: set[psutil.Process] = set()

    def refresh(self) -> list[psutil.Process]:
        """Add newly found roots and their descendants and return them; the dead are removed by `drop`."""
        return self.refresh_as_of(self._last_created_pid())

    def refresh_as_of(self, last_created: int | None) -> list[psutil.Process]:
        """As `refresh`, with the last PID handed out read by the caller (one read of it serves a whole tick)."""
        added: list[psutil.Process] = []
        self.nothing_created = last_created is not None and last_created == self._last_created
        self._last_created = last_created
        new_roots: list[psutil.Process] = []
        if not self.nothing_created:
            new_roots = self._find_roots()
        elif self._rename_recheck_due():
            # Nothing was created, so no PID is new: only the names of the PIDs listed before are read.
            recheck = getattr(self._find_roots, "recheck", None)
            new_roots = recheck() if recheck is not None else self._find_roots()
        for proc in new_roots:
            self.roots.add(proc.pid)
            self._add(proc, added)
        # With nothing created, only a root that took the name by a rename can bring new children.
        if self._include_children and (new_roots or not self.nothing_created):
            for root_pid in list(self.roots):
                root = self.live.get(root_pid)
                if root is None:
                    continue
                for child in _descendants(root):
                    self.root_of.setdefault(child.pid, root_pid)
                    self._add(child, added)
        return added

    @property
    def include_children(self) -> bool:
        """True when the descendants of the roots are watched too."""
        return self._include_children

    def drop(self, proc: psutil.Process) -> None:
        """Forget a process that has exited."""
        self.live.pop(proc.pid, None)
        self.roots.discard(proc.pid)
        self.root_of.pop(proc.pid, None)

    def deny(self, proc: psutil.Process) -> None:
        """Stop watching a process that may not be read, and never take it back."""
        self.drop(proc)
        self._denied.add(proc)

    def _rename_recheck_due(self) -> bool:
        recheck_due = getattr(self._find_roots, "recheck_due", None)
        return bool(recheck_due is not None and recheck_due())

    def _add(self, proc: psutil.Process, added: list[psutil.Process]) -> None:
        if proc.pid in self.live or proc in self._denied or _exited(proc):
            return
        self.live[proc.pid] = proc
        self.seen[proc.pid] = process_name(proc)
        added.append(proc)


def _exited(proc: psutil.Process) -> bool:
    """True for a process that has exited (a zombie waiting for its parent included): nothing to watch."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False  # refused: found all the same, and reported as denied when it is read


def _descendants(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []
