"""Finding the processes asked for: every instance of a name, every matching command line, or one PID."""

from __future__ import annotations

import os
import re
import time
from typing import Callable, Iterable

import psutil

from monitor.sampling.names import COMM_BYTES, IS_LINUX, KERNEL_NAMES, KernelNames, clean_name, full_name, name_matches

# How often the names of listed processes that did not match are read again: an exec or a rename
# (prctl) gives a running process a new name without creating a process, which nothing cheaper reveals.
RECHECK_S = 1.0


class NameFinder:
    """Finds processes with a given name, cheaply, including processes that take the name later.

    The PID listing is cheap; reading every process's name each tick is not. So the name of a new
    PID is read once, and the names of the listed PIDs that did not match are read again at most
    once every `recheck_s` seconds, to catch a process that gets the name by exec or by renaming
    itself. A PID that disappears from the listing is forgotten, so a later process reusing it is
    looked at anew.

    On Linux a name matches when it equals the full name (as psutil gives it) or the kernel's
    15-byte name (as ps, top and pgrep show it), compared as bytes so that names that are not valid
    UTF-8 match too; the escaped form that the reports show is accepted as well.
    """

    def __init__(
        self,
        name: str,
        exclude: Iterable[int] = (),
        recheck_s: float = RECHECK_S,
        monotonic: Callable[[], float] = time.monotonic,
        linux: bool | None = None,
        names: KernelNames = KERNEL_NAMES,
    ) -> None:
        self.name = name
        self._exclude = set(exclude)
        self._known: dict[int, bool] = {}
        self._recheck_s = recheck_s
        self._monotonic = monotonic
        self._last_recheck = monotonic()
        self._linux = IS_LINUX if linux is None else linux
        self._wanted_raw = os.fsencode(name)
        self._wanted_escaped = "\\" in name
        # Only the names of unmatched PIDs are read again (at each recheck): their descriptors stay open.
        self._names = names

    def __call__(self) -> list[psutil.Process]:
        """The root finder's interface: same as find_new()."""
        return self.find_new()

    def recheck_due(self) -> bool:
        """True when the names of non-matching PIDs are to be read again."""
        return self._monotonic() - self._last_recheck >= self._recheck_s

    def find_new(self) -> list[psutil.Process]:
        """Processes with the name that were not found before: new PIDs, and renamed ones when a recheck is due."""
        pids = psutil.pids()
        new_pids = [pid for pid in pids if pid not in self._known]
        if len(self._known) + len(new_pids) != len(pids):
            # Some known PIDs are gone: forget them, as their numbers may come back.
            current = set(pids)
            self._known = {pid: hit for pid, hit in self._known.items() if pid in current}
            self._names.keep_only(current)
        candidates = new_pids
        if self.recheck_due():
            self._last_recheck = self._monotonic()
            candidates = new_pids + [pid for pid, hit in self._known.items() if not hit]
        return self._look_at(candidates)

    def recheck(self) -> list[psutil.Process]:
        """Processes that took the name by exec or renaming, among the PIDs listed before.

        For when no process was created since the last look: no PID can be new, so the listing is
        skipped. A PID gone since has no name to read and matches nothing.
        """
        self._last_recheck = self._monotonic()
        return self._look_at([pid for pid, hit in self._known.items() if not hit])

    def _look_at(self, candidates: list[int]) -> list[psutil.Process]:
        found = []
        for pid in candidates:
            proc = self._matching_process(pid)
            self._known[pid] = proc is not None
            if proc is not None:
                self._names.forget(pid)  # a match is never read again: no descriptor to keep
                found.append(proc)
        return found

    def _matching_process(self, pid: int) -> psutil.Process | None:
        if pid in self._exclude:
            return None
        try:
            if self._linux:
                return psutil.Process(pid) if self._kernel_names_match(pid) else None
            proc = psutil.Process(pid)
            return proc if name_matches(proc.name(), self.name) else None
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            # Gone already, or a name we may not read: neither is ours to watch.
            return None

    def _kernel_names_match(self, pid: int) -> bool:
        comm = self._names.read(pid)
        if comm is None:
            return False
        if self._forms_match(comm):
            return True
        # Only a name longer than the kernel keeps (or an escaped one) can need the full name.
        if len(comm) == COMM_BYTES and (len(self._wanted_raw) > COMM_BYTES or self._wanted_escaped):
            return self._forms_match(full_name(pid, comm))
        return False

    def _forms_match(self, raw: bytes) -> bool:
        if raw == self._wanted_raw:
            return True
        return self._wanted_escaped and raw.decode("utf-8", "backslashreplace") == self.name


class CmdlineFinder(NameFinder):
    """Finds processes whose full command line matches a regular expression, as `pgrep -f` does.

    The monitor itself, its ancestors (the shell or wrapper that started it, whose command line
    holds the pattern too) and its own children are never matched. Command lines change with exec,
    so the ones that did not match are read again at most once every `recheck_s` seconds.
    """

    def __init__(self, pattern: str, exclude: Iterable[int] = (), recheck_s: float = RECHECK_S) -> None:
        super().__init__(pattern, exclude, recheck_s)
        self._pattern = re.compile(pattern)

    def _matching_process(self, pid: int) -> psutil.Process | None:
        if pid in self._exclude:
            return None
        try:
            proc = psutil.Process(pid)
            words = proc.cmdline()
            if not words or proc.ppid() == os.getpid():
                return None  # a kernel thread, or a child of the monitor
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return proc if self._pattern.search(clean_name(" ".join(words))) else None


class LabelledFinders:
    """Several root finders at once (one per -p name of the exporter), remembering which found each process."""

    def __init__(self, finders: dict[str, NameFinder]) -> None:
        self._finders = finders
        self.label_of: dict[int, str] = {}

    def __call__(self) -> list[psutil.Process]:
        """Every new process any finder found."""
        return self._labelled(lambda finder: finder())

    def recheck(self) -> list[psutil.Process]:
        """Every process any finder found renamed among the PIDs listed before (see NameFinder.recheck)."""
        return self._labelled(lambda finder: finder.recheck())

    def _labelled(self, look: Callable[[NameFinder], list[psutil.Process]]) -> list[psutil.Process]:
        found = []
        for label, finder in self._finders.items():
            for proc in look(finder):
                self.label_of[proc.pid] = label
                found.append(proc)
        return found

    def recheck_due(self) -> bool:
        """True when some finder is to read again the names that did not match."""
        return any(finder.recheck_due() for finder in self._finders.values())


def by_name(name: str) -> Callable[[], list[psutil.Process]]:
    """Root finder for every instance of a name (never the monitor itself)."""
    return NameFinder(name, exclude={os.getpid()})


def by_cmdline(pattern: str) -> Callable[[], list[psutil.Process]]:
    """Root finder for every process whose command line matches `pattern` (never the monitor or its ancestors)."""
    return CmdlineFinder(pattern, exclude={os.getpid(), *ancestors()})


def ancestors() -> list[int]:
    """The PIDs of the monitor's parent, its parent, and so on."""
    try:
        return [proc.pid for proc in psutil.Process().parents()]
    except psutil.Error:
        return [os.getppid()]


RootFinder = Callable[[], list[psutil.Process]]


def by_pid(pid: int) -> Callable[[], list[psutil.Process]]:
    """Root finder for exactly one PID, found once."""
    proc = psutil.Process(pid)
    pending = [proc]

    def find() -> list[psutil.Process]:
        found = list(pending)
        pending.clear()
        return found

    return find
