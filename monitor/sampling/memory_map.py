"""A process's private memory by kind of mapping (heap, anonymous, stack, file, shared), read from /proc/PID/smaps.

    >>> read_memory_map(os.getpid()).summary()["heap"]
    KindTotals(private_bytes=2146304, swapped_bytes=0, mappings=1, largest_bytes=2146304)

Linux only (elsewhere `read_memory_map` returns None). One read walks every mapping and page table of the
process: 0.5 ms for a fresh Python, about 25 ms for 2 GiB in 2,000 mappings, 140 ms for 20,000 mappings
(bench/memory_map_cost.py). It is meant for the first and the last sample of a run, never the per-sample path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import Enum
from typing import Iterable

import psutil

SMAPS_SUPPORTED = os.path.exists("/proc/self/smaps")

# Prefixes of shared memory objects: POSIX shm, memfd (the kernel shows "/memfd:name (deleted)"), SysV shm.
_SHARED_PREFIXES = ("/dev/shm/", "/memfd:", "memfd:", "/SYSV", "SYSV", "[anon_shmem:")
# A mapping's header ("start-end perms offset dev inode name"), or one of the lines summed: the private
# lines make up USS as psutil counts it; values are in kB.
_LINES = re.compile(
    r"\n(?:([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+ *([^\n]*)"
    r"|(Private_Clean|Private_Dirty|Private_Hugetlb|Swap|KernelPageSize): +(\d+))"
)
_KIB = 1024


class MappingKind(Enum):
    """What a mapping holds, as far as its name, permissions and neighbours tell."""

    HEAP = "heap"
    ANONYMOUS = "anonymous"
    STACK = "stack"
    FILE = "file"
    SHARED = "shared"


@dataclass(frozen=True)
class KindTotals:
    """Private and swapped bytes of the mappings of one kind, their number and the largest one's private bytes."""

    private_bytes: int
    swapped_bytes: int
    mappings: int
    largest_bytes: int


_NO_MAPPINGS = KindTotals(0, 0, 0, 0)


@dataclass(frozen=True)
class MemoryMap:
    """One process's memory map summed by kind; every kind is present (zeros when it has no mapping).

    `private_bytes` is resident private memory (Private_Clean + Private_Dirty + Private_Hugetlb), the
    same sum as psutil's USS; `swapped_bytes` (the Swap lines) is counted apart, not in it.
    """

    heap: KindTotals = _NO_MAPPINGS
    anonymous: KindTotals = _NO_MAPPINGS
    stack: KindTotals = _NO_MAPPINGS
    file: KindTotals = _NO_MAPPINGS
    shared: KindTotals = _NO_MAPPINGS

    def totals(self, kind: MappingKind) -> KindTotals:
        """The totals of one kind."""
        totals: KindTotals = getattr(self, kind.value)
        return totals

    def summary(self) -> dict[str, KindTotals]:
        """Kind name -> totals for every kind, in MappingKind order: the plain form the analysis takes."""
        return {kind.value: self.totals(kind) for kind in MappingKind}

    @property
    def private_bytes(self) -> int:
        """Private bytes over all kinds (equal to the USS of the same moment)."""
        return sum(totals.private_bytes for totals in self.summary().values())

    @property
    def swapped_bytes(self) -> int:
        """Swapped bytes over all kinds."""
        return sum(totals.swapped_bytes for totals in self.summary().values())


def read_memory_map(pid: int) -> MemoryMap | None:
    """The memory map of `pid` by kind, or None when it is gone (a zombie too), access is denied, or there is none.

    There is none for a kernel thread and on systems without /proc/PID/smaps (anything but Linux).
    """
    try:
        with open(f"/proc/{pid}/smaps", "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    if not data:
        return None
    # Only the ASCII names of the kernel matter here; latin-1 decodes any byte of a file name.
    return parse_smaps(data.decode("latin-1"))


def parse_smaps(text: str) -> MemoryMap:
    """Sum the text of a /proc/PID/smaps file by kind of mapping.

    Kinds: `heap` is `[heap]`; `shared` is any mapping with shared (`s`) permissions and any mapping of
    a shared memory object (/dev/shm, memfd, SysV, `[anon_shmem:...]`), even mapped privately; `stack`
    is `[stack]` plus glibc's thread stacks; `anonymous` is every other unnamed or `[anon:...]` mapping;
    `file` is everything else with a name: files, deleted files, devices, and the kernel's `[vdso]`-like
    mappings, which hold no private bytes.

    Thread stacks are told apart by glibc's layout: an unnamed `rw-p` mapping that starts exactly where
    an empty unnamed `---p` guard mapping of one page ends; the pair counts as one stack mapping. Stacks
    with another guard (a custom guard size, musl, a runtime managing its own stacks) count as anonymous;
    a program that puts one-page guards before its own buffers would have them counted as stacks.
    """
    totals: dict[MappingKind, list[int]] = {kind: [0, 0, 0, 0] for kind in MappingKind}
    guard_end = -1  # where the last one-page ---p unnamed mapping ended
    kind = MappingKind.FILE
    private = swapped = start = end = 0
    perms = name = ""
    started = False
    # One scan for the few lines that matter is about twice as fast as splitting every line.
    for match in _LINES.finditer("\n" + text):
        low, high, header_perms, header_name, field, value = match.groups()
        if low is not None:
            perms, name = header_perms, header_name.strip()
            start, end = int(low, 16), int(high, 16)
            # `private` and `swapped` still hold the previous mapping's bytes here.
            thread_stack = start == guard_end and not private and not swapped and perms == "rw-p" and not name
            if started:
                _add(totals[kind], private, swapped)
            started = True
            if thread_stack:
                # The empty guard is part of the stack: one mapping, not an anonymous one more.
                totals[MappingKind.ANONYMOUS][2] -= 1
                kind = MappingKind.STACK
            else:
                kind = _classify(perms, name)
            guard_end = -1
            private = swapped = 0
        elif field == "Swap":
            swapped += int(value) * _KIB
        elif field == "KernelPageSize":
            if perms == "---p" and not name and end - start == int(value) * _KIB:
                guard_end = end
        else:
            private += int(value) * _KIB
    if started:
        _add(totals[kind], private, swapped)
    return MemoryMap(**{kind.value: KindTotals(*values) for kind, values in totals.items()})


def _classify(perms: str, name: str) -> MappingKind:
    """The kind of one mapping from its permissions and its name."""
    if name == "[heap]":
        return MappingKind.HEAP
    if name.startswith("[stack"):  # "[stack:TID]" on kernels before 4.5
        return MappingKind.STACK
    if perms[3:4] == "s" or name.startswith(_SHARED_PREFIXES):
        return MappingKind.SHARED
    if not name or name.startswith("[anon:"):
        return MappingKind.ANONYMOUS
    return MappingKind.FILE


def _add(values: list[int], private: int, swapped: int) -> None:
    values[0] += private
    values[1] += swapped
    values[2] += 1
    values[3] = max(values[3], private)


def read_memory_maps(processes: Iterable[psutil.Process]) -> dict[int, MemoryMap]:
    """The maps of these processes by PID, leaving out the gone, the unreadable and PIDs now naming another."""
    maps: dict[int, MemoryMap] = {}
    for proc in processes:
        try:
            # A PID now naming another process would compare two different programs' maps.
            if not proc.is_running():
                continue
        except psutil.Error:
            continue
        memory_map = read_memory_map(proc.pid)
        if memory_map is not None:
            maps[proc.pid] = memory_map
    return maps
