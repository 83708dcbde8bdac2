"""What the kernel says about processes created: the last PID handed out and the count since boot.

They tell, without listing /proc, whether any process was created since a look, and which PIDs may
belong to new processes.
"""

from __future__ import annotations

import math
import os
import time
from typing import Callable


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
        self.last_created: int | None = None  # the last PID handed out, at the last look
        self._stretch: tuple[int, int] | None = None  # the PIDs in (first, second]; None: any PID

    def look(self) -> None:
        """Note the PID handed out last and the processes created so far."""
        last_created, forks = self._read_last_created(), self._read_forks()
        self.last_created = last_created
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
