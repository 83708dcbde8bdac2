"""What psutil alone costs per pass over N processes of one name: the README's three metrics, and every
metric the exporter serves.

    python bench/psutil_floor.py [--instances 200,1000]

Starts N sleeping processes (bench/many_processes.py), reads them all ten times in a bare loop, one
oneshot() per process, and prints the CPU time of one pass. No monitor code runs: this is the floor
under any psutil-based monitor reading the same metrics.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_reads import served_calls
from bench.many_processes import fleet
from bench.results import recorded

PASSES = 10


def readme_three(proc: psutil.Process) -> None:
    """CPU %, USS and descriptors."""
    with proc.oneshot():
        proc.cpu_percent()
        proc.memory_full_info()
        proc.num_fds()


def everything_served(proc: psutil.Process) -> None:
    """Every metric and counter the exporter serves."""
    with proc.oneshot():
        served_calls(proc)


def pass_ms(processes: list[psutil.Process], read: Callable[[psutil.Process], None]) -> float:
    """CPU milliseconds of one pass over every process (the mean of PASSES passes, after one to warm up)."""
    for proc in processes:
        read(proc)
    started = time.process_time()
    for _ in range(PASSES):
        for proc in processes:
            read(proc)
    return (time.process_time() - started) / PASSES * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="200,1000", help="fleet sizes, comma-separated")
    args = parser.parse_args()
    for count in (int(part) for part in args.instances.split(",")):
        with fleet(f"floor{count}", count) as pids:
            processes = [psutil.Process(pid) for pid in pids]
            for label, read in (("README's three metrics", readme_three), ("every served metric", everything_served)):
                print(f"{count:>5} processes, {label:<22} {pass_ms(processes, read):7.1f} ms per pass")
    return 0


if __name__ == "__main__":
    with recorded("psutil_floor"):
        status = main()
    sys.exit(status)
