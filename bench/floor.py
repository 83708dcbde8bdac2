"""The floor: a bare psutil loop making the psutil calls the monitor makes, on the monitor's tick grid.

    python bench/floor.py --pid PID --interval 0.01 --duration 10

Per tick, in one `oneshot()`: `status`, `cpu_percent`, `cpu_times`, `memory_full_info`, `num_fds`,
`num_threads`, `io_counters` and `num_ctx_switches`: the calls a bare psutil loop makes for the
metrics the monitor reports (the monitor computes CPU % from the CPU times it reads and its parent
from the stat line oneshot() has cached, so it makes no call for either). A process with more than one
thread also has each other thread's `num_ctx_switches` read, as often as the monitor reads them (once
100 times the CPU time of their last read has passed). Tick k is due at start + k * interval and one
more than half an interval late is skipped, as the monitor's clock does. Prints the number of samples
taken; with --announce, 'ready' before the first tick and, after the count, the monotonic time of every
sample, one a line (kept in a list until the end, so that nothing is written while sampling).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_reads import reported_calls

# As monitor/sampling/thread_switches.py: the other threads take at most this share of a core.
THREAD_CPU_SHARE = 0.01


def read_threads(proc: psutil.Process, handles: dict[int, psutil.Process]) -> None:
    """Each thread's context switches but the main one's; the thread list is read again when it changed."""
    others = proc.num_threads() - 1
    if len(handles) != others:
        handles.clear()
        for thread in proc.threads():
            if thread.id != proc.pid:
                handles[thread.id] = psutil.Process(thread.id)
    for handle in handles.values():
        handle.num_ctx_switches()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--announce", action="store_true", help="say 'ready', and print every sample's time at the end")
    args = parser.parse_args()
    p = psutil.Process(args.pid)
    p.cpu_percent()
    handles: dict[int, psutil.Process] = {}
    threads_due = -math.inf
    samples = 0
    taken_at: list[float] = []
    planned = round(args.duration / args.interval)
    if args.announce:
        print("ready", flush=True)
    start = time.monotonic()
    k = 1
    while k <= planned:
        delay = start + k * args.interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif -delay > args.interval / 2:
            # The monitor skips a tick more than half an interval late rather than firing it late.
            k = math.ceil((time.monotonic() - start) / args.interval - 0.5)
            continue
        with p.oneshot():
            reported_calls(p)
            if p.num_threads() > 1 and time.monotonic() >= threads_due:
                started = time.thread_time()
                read_threads(p, handles)
                threads_due = time.monotonic() + (time.thread_time() - started) / THREAD_CPU_SHARE
        samples += 1
        taken_at.append(time.monotonic())
        k += 1
    print(samples)
    if args.announce:
        print("\n".join(map(repr, taken_at)))


if __name__ == "__main__":
    main()
