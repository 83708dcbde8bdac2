"""Which processes to watch: every instance of a name, one PID, or a launched command, with children."""

from __future__ import annotations

import math
import os
import re
import time
from typing import Callable, Iterable

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
# How often the names of listed processes that did not match are read again: an exec or a rename
# (prctl) gives a running process a new name without creating a process, which nothing cheaper reveals.
RECHECK_S = 1.0


def clean_name(name: str) -> str:
    """A process name as printable, valid UTF-8: bytes that do not decode become backslash escapes.

    psutil decodes names with surrogateescape, so a name cut mid-character holds lone surrogates
    that no UTF-8 file or terminal accepts.
    """
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def kernel_name(pid: int) -> bytes | None:
    """The kernel's name of a process (Linux, at most 15 bytes), or None if it cannot be read."""
    data = _read_proc_file(pid, "comm")
    return None if data is None else data.rstrip(b"\n")


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
        candidates = new_pids
        if self.recheck_due():
            self._last_recheck = self._monotonic()
            candidates = new_pids + [pid for pid, hit in self._known.items() if not hit]
        found = []
        for pid in candidates:
            proc = self._matching_process(pid)
            self._known[pid] = proc is not None
            if proc is not None:
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
        comm = kernel_name(pid)
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
        found = []
        for label, finder in self._finders.items():
            for proc in finder():
                self.label_of[proc.pid] = label
                found.append(proc)
        return found

    def recheck_due(self) -> bool:
        """True when some finder is to read again the names that did not match."""
        return any(finder.recheck_due() for finder in self._finders.values())


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
        added: list[psutil.Process] = []
        last_created = self._last_created_pid()
        self.nothing_created = last_created is not None and last_created == self._last_created
        self._last_created = last_created
        new_roots: list[psutil.Process] = []
        if not self.nothing_created or self._rename_recheck_due():
            new_roots = self._find_roots()
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


class _KernelCount:
    """One count the kernel keeps in a /proc file, read whole through a descriptor kept open.

    Each read makes the kernel write the file anew, so it is read in one call (two reads could
    splice two moments); keeping it open makes each read a single pread.
    """

    def __init__(self, path: str, parse: Callable[[bytes], int]) -> None:
        self._path = path
        self._parse = parse
        self._fd: int | None = None

    def __call__(self) -> int | None:
        """The count, or None where the OS does not say (not Linux, or a sandbox whose /proc reports 0)."""
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDONLY)
            size = 65536
            data = os.pread(self._fd, size, 0)
            while len(data) == size:
                size *= 4
                data = os.pread(self._fd, size, 0)
            count = self._parse(data)
        except (OSError, ValueError, IndexError):
            return None
        return count if count > 0 else None


def _field_after(label: bytes) -> Callable[[bytes], int]:
    """A parser for the number on the line that starts with `label`."""

    def parse(data: bytes) -> int:
        start = data.index(b"\n" + label) + len(label) + 1
        return int(data[start : data.index(b"\n", start)])

    return parse


# The PID most recently handed out: the last field of /proc/loadavg, one small read instead of
# listing /proc.
last_created_pid = _KernelCount("/proc/loadavg", lambda data: int(data.split()[-1]))
# How many processes and threads Linux has created since boot.
forks_since_boot = _KernelCount("/proc/stat", _field_after(b"processes "))


class PidHandouts:
    """Which PIDs the OS may have handed to new processes between the last two looks.

    Linux hands PIDs out in turn and says which it handed out last (last_created_pid), and how many
    processes and threads it has created since boot (forks_since_boot). When the last PID moved
    forward by at least the number created, every new one lies after the first look's last PID, up
    to the second's: a watched PID outside that stretch cannot belong to a new process, so its
    identity need not be read again. When fewer PIDs were passed than processes created, the count
    wrapped round pid_max or root set /proc/sys/kernel/ns_last_pid back: then any PID may be new,
    as it may where the OS does not say, and before the second look.

    The kernel can also hand out a PID out of turn (clone3 with a chosen PID, a fork that fails
    after taking its PID, a /proc that counts for another PID namespace), so every PID counts as
    possibly new at least once every `recheck_all_s` seconds: an impostor the counts miss is
    caught within that time.
    """

    RECHECK_ALL_S = 10.0

    def __init__(
        self,
        last_created: Callable[[], int | None] | None = None,
        forks: Callable[[], int | None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        recheck_all_s: float = RECHECK_ALL_S,
    ) -> None:
        self._read_last_created = last_created or last_created_pid
        self._read_forks = forks or forks_since_boot
        self._monotonic = monotonic
        self._recheck_all_s = recheck_all_s
        self._last_recheck_all = -math.inf
        self._now: tuple[int, int] | None = None
        self._stretch: tuple[int, int] | None = None  # the PIDs in (first, second]; None: any PID

    def look(self) -> None:
        """Note the PID handed out last and the processes created so far."""
        last_created, forks = self._read_last_created(), self._read_forks()
        before = self._now
        self._now = None if last_created is None or forks is None else (last_created, forks)
        self._stretch = None
        now = self._monotonic()
        if before is None or self._now is None or now - self._last_recheck_all >= self._recheck_all_s:
            self._last_recheck_all = now
            return
        (last_before, forks_before), (last_now, forks_now) = before, self._now
        created = forks_now - forks_before
        if created == 0:
            self._stretch = (last_now, last_now)  # none
        elif last_now - last_before >= created:
            self._stretch = (last_before, last_now)
        else:
            self._last_recheck_all = now

    def may_be_new(self, pid: int) -> bool:
        """True if `pid` may have been handed to a new process between the last two looks."""
        if self._stretch is None:
            return True
        first, second = self._stretch
        return first < pid <= second


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


def name_of_pid(pid: int) -> str:
    """The name of a running process, for file names and labels; MonitorError when there is no such PID."""
    try:
        name = process_name(psutil.Process(pid))
    except psutil.NoSuchProcess:
        raise MonitorError(f"No process with PID {pid}; check the PID (ps, Task Manager)") from None
    return f"pid{pid}" if name == "?" else name


def by_pid(pid: int) -> Callable[[], list[psutil.Process]]:
    """Root finder for exactly one PID, found once."""
    proc = psutil.Process(pid)
    pending = [proc]

    def find() -> list[psutil.Process]:
        found = list(pending)
        pending.clear()
        return found

    return find
