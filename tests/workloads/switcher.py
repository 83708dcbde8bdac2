"""A process whose worker threads sleep 1 ms in a loop: about 800 context switches a second each.

    python tests/workloads/switcher.py --name demo-switch --threads 3

The main thread only waits, so its own count (/proc/PID/status) stays near 0 while the process's
threads switch thousands of times a second. Prints 'ready' once every worker runs; then reads
commands on stdin, one a line: `stop` ends every worker and answers 'stopped' once the kernel no
longer lists them; `start N` starts N more and answers 'started'. It exits at the end of its input.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import sys
import threading
import time

PR_SET_NAME = 15
SLEEP_S = 0.001


def set_process_name(name: str) -> None:
    """Take `name` (at most 15 bytes) as the kernel's name of this process (Linux)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME) failed")


class Workers:
    """Threads that sleep 1 ms in a loop until stopped."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, count: int) -> None:
        """Start `count` more workers and return once each has run."""
        running = threading.Barrier(count + 1)
        for _ in range(count):
            thread = threading.Thread(target=self._loop, args=(running,), daemon=True)
            thread.start()
            self._threads.append(thread)
        running.wait()

    def stop(self) -> None:
        """End every worker; return once the kernel lists the main thread only."""
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._stop = threading.Event()
        # join() returns before the thread has left the kernel's list: wait for that too.
        while len(os.listdir("/proc/self/task")) > 1:
            time.sleep(0.001)

    def _loop(self, running: threading.Barrier) -> None:
        stop = self._stop
        running.wait()
        while not stop.is_set():
            time.sleep(SLEEP_S)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True, help="process name to take (at most 15 bytes)")
    parser.add_argument("--threads", type=int, default=3, help="worker threads to start")
    parser.add_argument("--announce", action="store_true", help="print 'ready' once every worker runs")
    args = parser.parse_args()
    set_process_name(args.name)
    workers = Workers()
    workers.start(args.threads)
    if args.announce:
        print("ready", flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "stop":
            workers.stop()
            print("stopped", flush=True)
        elif command == "start":
            workers.start(int(argument))
            print("started", flush=True)


if __name__ == "__main__":
    main()
