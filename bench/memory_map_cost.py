"""The cost of one memory-map read by kind, against psutil's memory_maps and the per-sample USS read.

    python bench/memory_map_cost.py [--repeats 20] [--big-mib 2048] [--mappings 2000]

Starts three workloads (tests/workloads/mapper.py) and times, on each, in this process:
  - `read_memory_map(pid)`: read /proc/PID/smaps and sum it by kind (what a run does at its first and
    last sample, per process);
  - psutil `memory_maps(grouped=False)`: the same file through psutil, for comparison;
  - psutil `memory_full_info()`: the per-sample USS read (smaps_rollup), for scale.
The shapes: a fresh Python process; BIG_MIB touched in MAPPINGS separate anonymous mappings; BIG_MIB
touched in one mapping. Prints the median and the fastest of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import recorded  # noqa: E402
from monitor.sampling.memory_map import read_memory_map  # noqa: E402 - after the path is set

MAPPER = ROOT / "tests" / "workloads" / "mapper.py"


def start_mapper(*args: str) -> subprocess.Popen[str]:
    """Start the mapper workload and wait until its memory is mapped and written."""
    proc = subprocess.Popen(
        [sys.executable, str(MAPPER), "--announce", "--seconds", "600", *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise SystemExit(f"the mapper workload did not start: {args}")
    return proc


def time_ms(call: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and fastest wall time of `call`, in milliseconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def measure(label: str, proc: subprocess.Popen[str], repeats: int) -> None:
    """Print one shape's line: its size, then the cost of each read."""
    process = psutil.Process(proc.pid)
    memory_map = read_memory_map(proc.pid)
    assert memory_map is not None
    mappings = sum(totals.mappings for totals in memory_map.summary().values())
    print(f"{label:<34} {mappings:>8} {memory_map.private_bytes / 2**20:>8.0f} MiB", end="")
    for call in (
        lambda: read_memory_map(proc.pid),
        lambda: process.memory_maps(grouped=False),
        process.memory_full_info,
    ):
        median, fastest = time_ms(call, repeats)
        print(f" {median:>10.1f} ({fastest:>5.1f})", end="")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20, help="reads per measurement")
    parser.add_argument("--big-mib", type=int, default=2048, help="memory of the big workloads, MiB")
    parser.add_argument("--mappings", type=int, default=2000, help="mappings of the many-mappings workload")
    args = parser.parse_args(argv)
    print(f"$ python bench/memory_map_cost.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"{platform.platform()}, Python {platform.python_version()}, psutil {psutil.__version__}, {os.cpu_count()} CPUs"
    )
    print(f"median (fastest) of {args.repeats} reads, in ms")
    columns = ("read_memory_map", "memory_maps", "full_info")
    print(f"{'workload':<34} {'mappings':>8} {'private':>12}" + "".join(f"{column:>18}" for column in columns))
    shapes = [
        ("fresh python", ()),
        (
            f"{args.big_mib} MiB in {args.mappings} mappings",
            ("--mappings", str(args.mappings), "--mib-each", str(args.big_mib / args.mappings)),
        ),
        (f"{args.big_mib} MiB in 1 mapping", ("--mappings", "1", "--mib-each", str(args.big_mib))),
    ]
    for label, shape in shapes:
        proc = start_mapper(*shape)
        try:
            measure(label, proc, args.repeats)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
    return 0


if __name__ == "__main__":
    with recorded("memory_map_cost"):
        status = main()
    sys.exit(status)
