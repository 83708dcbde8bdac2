"""A child process with a known shape, for tests and the Quick start.

    python tests/workloads/workload.py --name demo-leak --leak-mib-per-s 20 --seconds 30

Shapes: steady (default), a fixed amount of memory held (--hold-mib), a memory leak (--leak-mib-per-s),
a descriptor leak (--fds-per-s),
same-named children (--children N), extra threads (--threads N), storage writes (--write-mib-per-s
with --write-dir), and an early exit (--seconds).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import mmap
import os
import random
import sys
import tempfile
import threading
import time

PR_SET_NAME = 15
STEP_S = 0.05
PAGE = 4096
PAGE_MARKS = b"\x01" * (1024 * 1024 // PAGE)
MIB = 1024 * 1024


def set_process_name(name: str) -> None:
    """Rename this process as `ps` and psutil see it (Linux; at most 15 bytes)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", help="process name to take (Linux)")
    parser.add_argument("--seconds", type=float, default=60.0, help="exit after this long")
    parser.add_argument(
        "--hold-mib", type=float, default=0.0, help="allocate and touch this many MiB at the start, then hold them"
    )
    parser.add_argument("--leak-mib-per-s", type=float, default=0.0, help="grow private memory at this rate")
    parser.add_argument(
        "--noise-mib", type=float, default=0.0, help="also hold a buffer of 0 to this many MiB, resized each step"
    )
    parser.add_argument("--fds-per-s", type=float, default=0.0, help="open this many files a second")
    parser.add_argument("--children", type=int, default=0, help="fork this many children with the same shape")
    parser.add_argument("--child-name", help="name for the children (default: --name)")
    parser.add_argument("--busy", action="store_true", help="burn CPU instead of sleeping")
    parser.add_argument("--threads", type=int, default=0, help="start this many extra threads that sleep until the end")
    parser.add_argument("--write-mib-per-s", type=float, default=0.0, help="write MiB/s to a file in --write-dir")
    parser.add_argument("--write-dir", help="folder of the written file (removed at the end); needed for writes")
    parser.add_argument("--write-after", type=float, default=0.0, help="start writing this many seconds after 'ready'")
    parser.add_argument("--write-mib", type=float, default=float("inf"), help="stop writing after this many MiB")
    parser.add_argument(
        "--read-back", action="store_true", help="read each written MiB back from storage (not the page cache)"
    )
    parser.add_argument("--label", help="ignored: a word for the command line, so a test can find it (pgrep -f)")
    parser.add_argument("--announce", action="store_true", help="print 'ready' once every instance runs")
    args = parser.parse_args(argv)
    if args.write_mib_per_s > 0 and not args.write_dir:
        parser.error("--write-mib-per-s needs --write-dir")
    return args


class Writer:
    """Appends whole MiBs to a file and pushes each to storage, optionally reading it back from there."""

    def __init__(self, folder: str, read_back: bool) -> None:
        handle, self.path = tempfile.mkstemp(prefix="workload-", suffix=".bin", dir=folder)
        self._fd = handle
        self._read_back = read_back
        self._block = os.urandom(MIB)
        self.written_mib = 0

    def write_mib(self) -> None:
        """Write one MiB and fsync it, so that the bytes reach storage."""
        offset = self.written_mib * MIB
        os.pwrite(self._fd, self._block, offset)
        os.fsync(self._fd)
        self.written_mib += 1
        if self._read_back and hasattr(os, "posix_fadvise"):
            # The pages are clean after fsync: dropping them makes the read come from storage.
            os.posix_fadvise(self._fd, offset, MIB, os.POSIX_FADV_DONTNEED)
            os.pread(self._fd, MIB, offset)

    def close(self) -> None:
        """Close and delete the file."""
        os.close(self._fd)
        os.unlink(self.path)


def run(args: argparse.Namespace) -> None:
    if args.name:
        set_process_name(args.name)
    # Children report through a pipe once renamed, so 'ready' means every instance exists.
    read_end, write_end = os.pipe()
    is_parent = True
    for _ in range(args.children):
        if os.fork() == 0:
            if args.child_name:
                set_process_name(args.child_name)
            is_parent = False
            args.children = 0
            break
    # Threads are started after the forks (a fork copies only the calling thread), in every instance.
    end = threading.Event()
    for _ in range(args.threads):
        threading.Thread(target=end.wait, daemon=True).start()
    # Held until the loop ends, by every instance, and in place before 'ready'.
    held = touched_buffer(int(args.hold_mib * MIB))
    if not is_parent:
        os.write(write_end, b"+")
    if is_parent and args.announce:
        for _ in range(args.children):
            os.read(read_end, 1)
        print("ready", flush=True)
    writer = Writer(args.write_dir, args.read_back) if args.write_mib_per_s > 0 else None
    try:
        loop(args, writer)
    finally:
        end.set()
        if writer is not None:
            writer.close()
        del held


def touched_buffer(size: int) -> bytearray:
    """A buffer of `size` bytes with every page written, so that all of it is private and resident."""
    buffer = bytearray(size)
    buffer[::PAGE] = b"\x01" * len(range(0, size, PAGE))
    return buffer


def loop(args: argparse.Namespace, writer: Writer | None) -> None:
    hoard: list[bytearray] = []
    files = []
    start = time.monotonic()
    leaked = opened = 0.0
    noise = random.Random(7)
    held: mmap.mmap | None = None
    while (elapsed := time.monotonic() - start) < args.seconds:
        if args.noise_mib > 0:
            # An anonymous mapping of its own, unmapped when replaced: private memory goes down as well as up.
            if held is not None:
                held.close()
            pages = int(noise.uniform(0, args.noise_mib) * MIB) // PAGE + 1
            held = mmap.mmap(-1, pages * PAGE)
            for page in range(pages):
                held[page * PAGE] = 1
        while leaked < args.leak_mib_per_s * elapsed:
            # A 1 MiB buffer with every page touched, so the memory is private and resident. No
            # temporary 1 MiB object is freed on the way: glibc would then raise its mmap threshold
            # and serve the next buffers from the heap, where a leak of big buffers has its own
            # anonymous mappings.
            buffer = bytearray(MIB)
            buffer[::PAGE] = PAGE_MARKS
            hoard.append(buffer)
            leaked += 1
        while opened < args.fds_per_s * elapsed:
            files.append(tempfile.TemporaryFile())  # noqa: SIM115 - held open on purpose
            opened += 1
        if writer is not None:
            due = min(args.write_mib_per_s * max(elapsed - args.write_after, 0.0), args.write_mib)
            while writer.written_mib < due:
                writer.write_mib()
        if args.busy:
            deadline = time.monotonic() + STEP_S
            while time.monotonic() < deadline:
                pass
        else:
            time.sleep(STEP_S)


if __name__ == "__main__":
    run(parse_args())
