"""The floor: a bare psutil loop reading what the monitor reads, with nothing else around it.

    python bench/floor.py --pid PID --interval 0.01 --duration 10

Prints the number of samples taken.
"""

from __future__ import annotations

import argparse
import time

import psutil


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    p = psutil.Process(args.pid)
    p.cpu_percent()
    samples = 0
    deadline = time.monotonic() + args.duration
    while time.monotonic() < deadline:
        time.sleep(args.interval)
        # Every psutil call the monitor makes per process and tick: the metric table's probes.
        with p.oneshot():
            p.status()
            p.cpu_percent()
            p.cpu_times()
            p.memory_full_info()
            p.num_fds()
            p.num_threads()
            p.io_counters()
            p.num_ctx_switches()
        samples += 1
    print(samples)


if __name__ == "__main__":
    main()
