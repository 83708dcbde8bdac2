"""Context switches of every thread of a process, as one counter that never goes back.

On Linux psutil's `num_ctx_switches()` reads /proc/PID/status, which counts the main thread only;
`psutil.Process(TID)` reads one thread's own /proc/TID/status. Elsewhere (Windows, macOS, BSD)
psutil's count is already the whole process's, and is used as it is.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import Callable, Mapping

import psutil

LINUX = psutil.LINUX
# The other threads of one process are read again only once this share of a core has been left
# between reads: a process of 100 threads costs about 100 file reads, ten times a whole sample's
# other reads, so at short intervals they are read every few ticks instead of every tick.
CPU_SHARE = 0.01


def switches_added(before: Mapping[int, int], now: Mapping[int, int]) -> int:
    """Switches made since `before` by the threads counted `now`, by thread id.

    A thread not in `before` adds its whole count (it was born since); so does one whose count went
    back (its id now names a new thread). A thread missing from `now` has exited and adds nothing.
    """
    added = 0
    for tid, count in now.items():
        earlier = before.get(tid)
        added += count - earlier if earlier is not None and count >= earlier else count
    return added


@dataclass
class _Counted:
    """What is known of one process's threads since its first reading."""

    total: int = 0  # switches counted so far: the counter handed out
    counts: dict[int, int] = field(default_factory=dict)  # each thread's count at its last read, by id
    handles: dict[int, psutil.Process] = field(default_factory=dict)  # the threads other than the main one
    due_at: float = float("-inf")  # monotonic time from which the other threads may be read again


class ThreadSwitches:
    """Counts every thread's context switches of each process it is given, process by process.

    A thread's switches count from the process's first reading, or from the thread's birth, until
    its last read: what a thread did between its last read and its exit is not seen, since the
    kernel keeps an exited thread's count nowhere that /proc shows. `monotonic` and `cpu_time` (this
    thread's CPU seconds) are its only contact with time, so a test can run it on a fake clock.
    """

    def __init__(
        self,
        cpu_share: float = CPU_SHARE,
        monotonic: Callable[[], float] = time.monotonic,
        cpu_time: Callable[[], float] = time.thread_time,
    ) -> None:
        self._cpu_share = cpu_share
        self._monotonic = monotonic
        self._cpu_time = cpu_time
        # Kept as long as the caller keeps the process's psutil object: a process dropped is forgotten.
        self._counted: weakref.WeakKeyDictionary[psutil.Process, _Counted] = weakref.WeakKeyDictionary()

    def read(self, proc: psutil.Process, threads: int | None = None) -> int:
        """The process's context switches counted so far, voluntary and involuntary, of every thread.

        `threads` is the process's thread count when the caller has just read it (in the same oneshot()).
        """
        if not LINUX:
            return _sum(proc.num_ctx_switches())
        counted = self._counted.get(proc)
        if counted is None:
            counted = self._counted[proc] = _Counted()
        # The main thread's count is in /proc/PID/status, read once per tick inside oneshot() anyway.
        pid = proc.pid
        main = _sum(proc.num_ctx_switches())
        others = (proc.num_threads() if threads is None else threads) - 1
        counts = counted.counts
        if others <= 0:
            # One thread, the usual case: only its count moves; no dict is built for it.
            earlier = counts.get(pid)
            counted.total += main - earlier if earlier is not None and main >= earlier else main
            if len(counts) != 1:
                counts.clear()
            if counted.handles:
                counted.handles.clear()
            counts[pid] = main
            return counted.total
        now = dict(counts)
        now[pid] = main
        if self._monotonic() >= counted.due_at:
            started = self._cpu_time()
            now = {pid: main, **_read_others(proc, counted.handles, others)}
            cost = self._cpu_time() - started
            counted.due_at = self._monotonic() + cost / self._cpu_share
        counted.total += switches_added(counts, now)
        counted.counts = now
        return counted.total


def _read_others(proc: psutil.Process, handles: dict[int, psutil.Process], others: int) -> dict[int, int]:
    """The count of each thread but the main one; the thread list is read again only when it changed."""
    # Same number of threads and every known one still there: nothing came or went. (A thread that
    # exited, with its id taken by another process's thread and a new thread of ours born, all within
    # one interval, would need the kernel to hand out every other id in between: not guarded against.)
    if len(handles) == others:
        counts = _read_threads(handles)
        if len(counts) == others:
            return counts
    # A thread came or went: list them (one /proc/PID/task/TID/stat read each), keeping known handles.
    listed = [thread.id for thread in proc.threads() if thread.id != proc.pid]
    fresh = {}
    for tid in listed:
        handle = handles.get(tid)
        if handle is None:
            try:
                handle = psutil.Process(tid)
            except psutil.NoSuchProcess:  # exited since the listing
                continue
        fresh[tid] = handle
    handles.clear()
    handles.update(fresh)
    return _read_threads(handles)


def _read_threads(handles: dict[int, psutil.Process]) -> dict[int, int]:
    """The count of each thread that still exists; one that exited is left out."""
    counts = {}
    for tid, handle in handles.items():
        try:
            counts[tid] = _sum(handle.num_ctx_switches())
        except psutil.NoSuchProcess:
            continue
    return counts


def _sum(switches: tuple[int, int]) -> int:
    """Voluntary plus involuntary switches."""
    return int(switches[0] + switches[1])


# The monitor's one instance: the session reads each process through the same psutil object every tick.
THREAD_SWITCHES = ThreadSwitches()
