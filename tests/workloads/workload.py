"""A child process with a known shape, for tests and the Quick start.

    python tests/workloads/workload.py --name demo-leak --leak-mib-per-s 20 --seconds 30

Shapes: steady (default), a memory leak (--leak-mib-per-s), a descriptor leak (--fds-per-s),
same-named children (--children N), and an early exit (--seconds).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import sys
import tempfile
import time

PR_SET_NAME = 15
STEP_S = 0.05


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
    parser.add_argument("--leak-mib-per-s", type=float, default=0.0, help="grow private memory at this rate")
    parser.add_argument("--fds-per-s", type=float, default=0.0, help="open this many files a second")
    parser.add_argument("--children", type=int, default=0, help="fork this many children with the same shape")
    parser.add_argument("--child-name", help="name for the children (default: --name)")
    parser.add_argument("--busy", action="store_true", help="burn CPU instead of sleeping")
    parser.add_argument("--announce", action="store_true", help="print 'ready' once every instance runs")
    return parser.parse_args(argv)


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
            os.write(write_end, b"+")
            is_parent = False
            args.children = 0
            break
    if is_parent and args.announce:
        for _ in range(args.children):
            os.read(read_end, 1)
        print("ready", flush=True)
    hoard: list[bytearray] = []
    files = []
    start = time.monotonic()
    leaked = opened = 0.0
    while (elapsed := time.monotonic() - start) < args.seconds:
        while leaked < args.leak_mib_per_s * elapsed:
            # Touch every page so the memory is really private and resident.
            hoard.append(bytearray(os.urandom(1024) * 1024))
            leaked += 1
        while opened < args.fds_per_s * elapsed:
            files.append(tempfile.TemporaryFile())  # noqa: SIM115 - held open on purpose
            opened += 1
        if args.busy:
            deadline = time.monotonic() + STEP_S
            while time.monotonic() < deadline:
                pass
        else:
            time.sleep(STEP_S)


if __name__ == "__main__":
    run(parse_args())
