"""False alarms of --compare: repeated runs of the same real workloads, compared pair by pair.

    python bench/compare_false_alarms.py [--runs 14] [--duration 8] [--interval 0.2] [--keep DIR]

Records --runs runs of each workload through main.py (-d DURATION -s INTERVAL -- COMMAND), taking the
workloads in turn so that a change in the machine's load falls on all of them alike, then compares
each run with the next run of the same workload (`main.py --compare EARLIER LATER --json`). Nothing
changed between two runs, so every `higher` is a false alarm. Prints, per workload and metric, how
many pairs were called higher, lower, same and inconclusive, and judges the share of pairs in which
CPU, private memory or handles (the metrics of --fail-on-regression) was called higher: PASS at 5% or
less. Exits 1 on FAIL. For information it also compares every run with every other run of its workload
(in this process, both ways round: a pair called lower is the swapped pair called higher), which
shows how often one unusual run meets any other; and, to show what it does find, it adds a rise of 10%
of the baseline's level to the later run's private memory in each pair and counts the pairs called higher.

Workloads: steady (Python holding 60 MiB), noisy (Python resizing a buffer of 0 to 20 MiB every 50 ms),
gc (node allocating arrays and dropping them: a garbage-collected sawtooth), perl (a loop building
and dropping strings). One run at a time: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = ROOT / "tests" / "workloads" / "workload.py"
GATED = ("cpu_percent", "private_memory", "handles_fds")
TARGET_SHARE = 0.05
VERDICTS = ("higher", "lower", "same", "inconclusive", "missing")
RISE_SHARE = 0.10

NODE_SAWTOOTH = (
    "let kept = [];"
    "setInterval(() => { kept.push(new Array(50000).fill(Math.random()));"
    " if (kept.length > 40) kept = []; }, 20);"
    "setTimeout(() => process.exit(0), 600000);"
)
PERL_LOOP = (
    "my @kept; my $end = time + 600;"
    "while (time < $end) { push @kept, 'x' x 200000; @kept = () if @kept > 50;"
    " select(undef, undef, undef, 0.02); }"
)


def workloads() -> dict[str, list[str]]:
    """Name -> command of each workload that this machine can run."""
    python = [sys.executable, str(WORKLOAD), "--seconds", "600"]
    found = {
        "steady": [*python, "--hold-mib", "60"],
        "noisy": [*python, "--noise-mib", "20"],
    }
    if shutil.which("node"):
        found["gc"] = ["node", "-e", NODE_SAWTOOTH]
    if shutil.which("perl"):
        found["perl"] = ["perl", "-e", PERL_LOOP]
    return found


def record(command: list[str], duration: str, interval: str, folder: Path) -> Path:
    """Run main.py on the command and return the report it wrote."""
    monitor = [sys.executable, str(ROOT / "main.py"), "-d", duration, "-s", interval, "-q", "--no-plot"]
    monitor += ["-r", str(folder / "reports"), "-l", str(folder / "logs"), "--", *command]
    done = subprocess.run(monitor, capture_output=True, text=True, cwd=ROOT, check=False)
    reports = [
        line.removeprefix("Wrote ").strip()
        for line in done.stdout.splitlines()
        if line.startswith("Wrote ") and line.endswith(".csv") and not line.endswith("_processes.csv")
    ]
    if done.returncode != 0 or not reports:
        raise SystemExit(f"recording failed (status {done.returncode}): {done.stderr.strip() or done.stdout[-500:]}")
    return Path(reports[0])


def compare(baseline: Path, candidate: Path, tolerance: str) -> dict[str, str]:
    """Metric -> verdict of main.py --compare BASELINE CANDIDATE --json."""
    command = [sys.executable, str(ROOT / "main.py"), "--compare", str(baseline), str(candidate), "--json"]
    done = subprocess.run([*command, "--tolerance", tolerance], capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"--compare failed (status {done.returncode}): {done.stderr.strip()}")
    document = json.loads(done.stdout)
    return {metric: facts["verdict"] for metric, facts in document["metrics"].items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=14, help="runs per workload (pairs: runs - 1 per workload)")
    parser.add_argument("--duration", default="8", help="-d of each run")
    parser.add_argument("--interval", default="0.2", help="-s of each run")
    parser.add_argument("--tolerance", default="5", help="--tolerance of the comparisons")
    parser.add_argument("--keep", type=Path, help="keep the reports in this folder (default: a temporary one)")
    args = parser.parse_args()
    started = time.monotonic()
    commands = workloads()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="compare-bench-"))
    reports: dict[str, list[Path]] = {name: [] for name in commands}
    for k in range(args.runs):
        for name, command in commands.items():
            reports[name].append(record(command, args.duration, args.interval, folder / name))
        print(f"round {k + 1} of {args.runs} recorded ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    tallies: dict[str, dict[str, Counter[str]]] = {}
    gated_alarms = any_alarms = pairs = 0
    for name, runs in reports.items():
        tallies[name] = {}
        for baseline, candidate in zip(runs, runs[1:]):
            verdicts = compare(baseline, candidate, args.tolerance)
            for metric, verdict in verdicts.items():
                tallies[name].setdefault(metric, Counter())[verdict] += 1
            pairs += 1
            gated_alarms += any(verdicts.get(metric) == "higher" for metric in GATED)
            any_alarms += any(verdict == "higher" for verdict in verdicts.values())
    print_table(tallies)
    ordered_alarms, ordered_pairs = every_pair(reports)
    share = gated_alarms / pairs if pairs else 1.0
    verdict = "PASS" if share <= TARGET_SHARE else "FAIL"
    print()
    print(
        f"{verdict}  pairs with CPU, private memory or handles called higher <= {TARGET_SHARE:.0%}   "
        f"{gated_alarms} of {pairs} pairs ({share:.1%})"
    )
    print(f"      pairs with any metric called higher (for information)       {any_alarms} of {pairs} pairs")
    print(
        f"      every run against every other of its workload, both ways round:   {ordered_alarms} of "
        f"{ordered_pairs} ordered pairs with CPU, private memory or handles higher "
        f"({ordered_alarms / max(ordered_pairs, 1):.1%})"
    )
    found = detected_rise(reports)
    told = ", ".join(f"{name} {hits} of {total}" for name, (hits, total) in found.items())
    print(f"      a {RISE_SHARE:.0%} rise added to the later run's private memory, called higher: {told} pairs")
    recorded = f"{args.runs} runs of each of {len(commands)} workloads ({', '.join(commands)})"
    settings = f"-d {args.duration} -s {args.interval}, --tolerance {args.tolerance}"
    print(f"\n{recorded} at {settings}, in {_elapsed(started)}")
    print("command: python bench/compare_false_alarms.py " + " ".join(sys.argv[1:]))
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if verdict == "PASS" else 1


def detected_rise(reports: dict[str, list[Path]]) -> dict[str, tuple[int, int]]:
    """Per workload: consecutive pairs called higher once the later run's private memory is raised by
    RISE_SHARE of the earlier run's median, and how many pairs there are."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from monitor.analysis.compare import Change, RunSeries, compare_runs
    from monitor.cli.compare import load_run, run_series

    found = {}
    for name, runs in reports.items():
        series = [run_series(load_run(path)) for path in runs]
        hits = 0
        for baseline, candidate in zip(series, series[1:]):
            rise = RISE_SHARE * float(np.nanmedian(baseline.values["private_memory"]))
            raised = dict(candidate.values)
            raised["private_memory"] = np.asarray(raised["private_memory"]) + rise
            changes = compare_runs(baseline, RunSeries(candidate.elapsed_s, raised)).changes
            hits += changes["private_memory"].verdict is Change.HIGHER
        found[name] = (hits, len(series) - 1)
    return found


def every_pair(reports: dict[str, list[Path]]) -> tuple[int, int]:
    """Ordered pairs of runs of one workload with a gated metric called higher, and how many pairs there are."""
    sys.path.insert(0, str(ROOT))
    from monitor.analysis.compare import Change, compare_runs
    from monitor.cli.compare import load_run, run_series

    alarms = pairs = 0
    for runs in reports.values():
        series = [run_series(load_run(path)) for path in runs]
        for baseline, candidate in combinations(series, 2):
            changes = compare_runs(baseline, candidate).changes
            verdicts = [changes[metric].verdict for metric in GATED]
            alarms += (Change.HIGHER in verdicts) + (Change.LOWER in verdicts)
            pairs += 2
    return alarms, pairs


def print_table(tallies: dict[str, dict[str, Counter[str]]]) -> None:
    """Per workload and metric: pairs called higher, lower, same, inconclusive (and missing when any)."""
    # Every verdict but `missing` always has its column, so that a column of zeros says so.
    shown = [v for v in VERDICTS if v != "missing" or any(c[v] for ms in tallies.values() for c in ms.values())]
    print(f"{'workload':<9} {'metric':<19}" + "".join(f"{v:>14}" for v in shown))
    for name, metrics in tallies.items():
        for metric, counts in metrics.items():
            print(f"{name:<9} {metric:<19}" + "".join(f"{counts[v]:>14}" for v in shown))


def _elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.0f} s"


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.results import recorded

    with recorded("compare_false_alarms"):
        status = main()
    sys.exit(status)
