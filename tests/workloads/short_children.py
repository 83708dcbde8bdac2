"""A process that forks short busy children one after another once told to, then idles.

    python tests/workloads/short_children.py --announce GO_FILE DONE_FILE [--children N] [--busy-s S]

It prints 'ready', waits until GO_FILE exists, runs N children that each spin for S seconds (reaping
each one), writes to DONE_FILE the CPU seconds its children used (getrusage), and idles until killed.
"""

from __future__ import annotations

import argparse
import os
import resource
import time


def spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--announce", action="store_true")
    parser.add_argument("go_file")
    parser.add_argument("done_file")
    parser.add_argument("--children", type=int, default=12)
    parser.add_argument("--busy-s", type=float, default=0.2)
    args = parser.parse_args()
    if args.announce:
        print("ready", flush=True)
    while not os.path.exists(args.go_file):
        time.sleep(0.02)
    for _ in range(args.children):
        pid = os.fork()
        if pid == 0:
            spin(args.busy_s)
            os._exit(0)
        os.waitpid(pid, 0)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(args.done_file + ".partial", "w") as file:
        file.write(f"{usage.ru_utime + usage.ru_stime}\n")
    os.replace(args.done_file + ".partial", args.done_file)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
