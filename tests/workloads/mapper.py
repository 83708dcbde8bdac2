"""A child process whose memory lives in separate anonymous mappings, for the memory-map tests and bench.

    python tests/workloads/mapper.py --mappings 2000 --mib-each 1 --threads 3 --announce
    python tests/workloads/mapper.py --leak-mib-per-s 40 --announce

Each mapping is a private anonymous mmap with every page written, so it is private and resident.
Neighbouring mappings differ in one flag (MADV_DONTDUMP on every other one) so the kernel does not
merge them: the memory map shows one mapping per allocation. `--leak-mib-per-s` keeps adding mappings
of `--mib-each`; `--threads` starts threads that only wait, each with its own stack. 'ready' is printed
once the first mappings are written and the threads run.
"""

from __future__ import annotations

import argparse
import mmap
import threading
import time

MIB = 1 << 20
STEP_S = 0.02


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mappings", type=int, default=0, help="map this many regions at the start")
    parser.add_argument("--mib-each", type=float, default=1.0, help="size of each region, MiB")
    parser.add_argument("--leak-mib-per-s", type=float, default=0.0, help="then keep mapping regions at this rate")
    parser.add_argument("--threads", type=int, default=0, help="start this many idle threads")
    parser.add_argument("--seconds", type=float, default=60.0, help="exit after this long")
    parser.add_argument("--announce", action="store_true", help="print 'ready' once the first regions are mapped")
    return parser.parse_args(argv)


def map_region(size: int, index: int) -> mmap.mmap:
    """A private anonymous region of `size` bytes, every page written, not mergeable with its neighbour."""
    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if index % 2:
        region.madvise(mmap.MADV_DONTDUMP)
    region.write(b"\x01" * size)
    return region


def run(args: argparse.Namespace) -> None:
    size = max(mmap.PAGESIZE, int(args.mib_each * MIB) // mmap.PAGESIZE * mmap.PAGESIZE)
    regions = [map_region(size, index) for index in range(args.mappings)]
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    if args.announce:
        print("ready", flush=True)
    start = time.monotonic()
    leaked = 0
    while (elapsed := time.monotonic() - start) < args.seconds:
        while leaked * args.mib_each < args.leak_mib_per_s * elapsed:
            regions.append(map_region(size, len(regions)))
            leaked += 1
        time.sleep(STEP_S)
    stop.set()


if __name__ == "__main__":
    run(parse_args())
