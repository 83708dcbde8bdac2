"""CPU per sample of two or more checkouts of the monitor, measured in the same rounds as the bare psutil floor.

    git worktree add /tmp/before <commit>
    python bench/compare_trees.py /tmp/before .

For each round, and for each tree, the monitor runs twice against one workload at -s 0.01 (2 s and
8 s, so that start-up and the end of the run cancel out), once quiet (-q) and once with the console
table on and its output piped, as `| tee` would see it; the floor (bench/floor.py) runs in the same
round. Prints, per tree and mode, the median CPU per sample and the median of the per-round ratios
to the floor: the machine's speed drifts between minutes, the ratios within a round do not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.perf import (
    LONG_S,
    PYTHON,
    SHORT_S,
    floor_runs,
    marginal,
    report_in,
    run_measured,
    start_workload,
    stop_workload,
)
from bench.results import recorded

MODES = {"quiet": ["-q"], "console piped": []}


def monitor_runs(tree: Path, name: str, extra: list[str], work: Path) -> dict[float, tuple[float, int]]:
    """Short and long runs of one tree's main.py: CPU seconds and rows of each."""
    runs = {}
    for duration in (SHORT_S, LONG_S):
        folder = work / f"{uuid.uuid4().hex[:8]}"
        options = ["-p", name, "-d", f"{duration:g}", "-s", "0.01", "--no-plot", "-r", str(folder), "-l", str(folder)]
        cpu = run_measured([PYTHON, str(tree / "main.py"), *options, *extra], work / "out.txt")
        runs[duration] = (cpu, sum(1 for _ in report_in(folder).open()) - 1)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", type=Path, help="checkouts of the monitor (folders holding main.py)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    name = f"cmp-{uuid.uuid4().hex[:6]}"
    workload = start_workload(name, "--seconds", "3600")
    floors: list[float] = []
    costs: dict[tuple[Path, str], list[float]] = {(tree, mode): [] for tree in args.trees for mode in MODES}
    try:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            for _ in range(args.rounds):
                floors.append(marginal(floor_runs(workload.pid, "0.01", work)))
                for tree in args.trees:
                    for mode, extra in MODES.items():
                        costs[tree, mode].append(marginal(monitor_runs(tree.resolve(), name, extra, work)))
    finally:
        stop_workload(workload)
    print(f"floor: {statistics.median(floors) * 1e6:.0f} us per sample (median of {args.rounds} rounds)")
    for (tree, mode), runs in costs.items():
        ratio = statistics.median(run / floor for run, floor in zip(runs, floors))
        print(f"{tree!s:<30} {mode:<14} {statistics.median(runs) * 1e6:6.0f} us per sample, ratio to floor {ratio:.2f}")
    return 0


if __name__ == "__main__":
    with recorded("compare_trees"):
        status = main()
    sys.exit(status)
