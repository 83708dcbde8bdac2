"""Time from starting main.py to its first table row, for one or more checkouts, in interleaved rounds.

    python bench/first_sample.py TREE [TREE ...] [--rounds 7]

Each round starts `main.py --pid P -d 1 -s 0.5` of every tree in turn against the same idle process
and times the first sample's row on stdout; the medians are printed. Give two checkouts (say this
one and a `git worktree` of another commit) to compare them in one sitting.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import recorded


def first_row_s(tree: str, pid: int) -> float:
    """Seconds from the start of one monitor run to its first table row."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        command = [sys.executable, f"{tree}/main.py", "--pid", str(pid), "-d", "1", "-s", "0.5", "--no-plot"]
        proc = subprocess.Popen([*command, "-r", folder, "-l", folder], stdout=subprocess.PIPE, text=True, cwd=tree)
        assert proc.stdout is not None
        elapsed = float("nan")
        for line in proc.stdout:
            if line[:2].isdigit():  # a row starts with its time, the header with "time"
                elapsed = time.perf_counter() - started
                break
        proc.communicate()
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    idle = subprocess.Popen(["sleep", "3600"])
    try:
        times: dict[str, list[float]] = {tree: [] for tree in args.trees}
        for _ in range(args.rounds):
            for tree in args.trees:
                times[tree].append(first_row_s(tree, idle.pid))
    finally:
        idle.kill()
        idle.wait()
    for tree, values in times.items():
        print(f"{tree}: first sample after {statistics.median(values) * 1000:.0f} ms (median of {len(values)})")


if __name__ == "__main__":
    with recorded("first_sample"):
        main()
