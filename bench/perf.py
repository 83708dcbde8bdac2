"""Measure the monitor against its performance targets, side by side with a bare psutil loop and psrecord.

    pip install psrecord    # for the comparison only; not a dependency of the monitor
    python bench/perf.py                    # every target, about 3 minutes
    python bench/perf.py --per-sample-only  # CPU per sample and timing at -s 0.01 only, about 2 minutes

CPU per sample at -s 0.01 is compared in rounds (default 5): in each, the bare psutil loop
(bench/floor.py, the monitor's psutil calls on the monitor's tick grid) and the monitor with its
console on and piped watch one workload side by side, and their CPU is read over the same seconds
(bench/per_sample.py); the median of the per-round ratios is judged. Prints the rounds' table and one
line per target with PASS/FAIL, writes both to bench/results/perf.md (--results), and exits 1 when a
target is missed. `--before DIR` adds another checkout to every round. Linux only (it reads
/proc and child CPU times through wait4). `--long` adds the 10-minute exactness check at -s 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.per_sample import (  # noqa: E402
    FIRST_ROWS,
    WINDOW_S,
    grid_deviation_s,
    per_sample_round,
    per_sample_table,
    timing_run,
)
from bench.results import save  # noqa: E402
from monitor.sampling.finders import NameFinder  # noqa: E402

PYTHON = sys.executable
WORKLOAD = ROOT / "tests" / "workloads" / "workload.py"
SHORT_S, LONG_S = 2.0, 8.0
ROUNDS = 5
TARGET_RATIO = 1.2
TIMING_RUNS = 3


@dataclass
class Check:
    """One target and how it went."""

    name: str
    measured: str
    ok: bool


def print_checks(checks: list[Check], started: float) -> int:
    """One PASS/FAIL line per target and a closing count; the exit status (1 when a target is missed)."""
    width = max(len(check.name) for check in checks)
    for check in checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name:<{width}}  {check.measured}")
    print(f"\n{sum(c.ok for c in checks)} of {len(checks)} targets met in {time.monotonic() - started:.0f} s")
    return 0 if all(check.ok for check in checks) else 1


def run_measured(command: list[str], output: Path) -> float:
    """Run a command to completion and return the CPU seconds (user + system) it used."""
    with output.open("w") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{output.read_text()}")
    return usage.ru_utime + usage.ru_stime


def start_workload(name: str, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [PYTHON, str(WORKLOAD), "--name", name, "--announce", *args], stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc


def stop_workload(proc: subprocess.Popen[bytes]) -> None:
    """Kill a workload and every child it forked (they share its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def marginal(per_run: dict[float, tuple[float, int]]) -> float:
    """CPU seconds per extra sample between the short and the long run."""
    (cpu_short, n_short), (cpu_long, n_long) = per_run[SHORT_S], per_run[LONG_S]
    return (cpu_long - cpu_short) / max(n_long - n_short, 1)


def monitor_command(name: str, duration: str, interval: str, folder: Path) -> list[str]:
    """The monitor as a user runs it, quiet and without a chart, writing into `folder`."""
    options = ["-p", name, "-d", duration, "-s", interval, "-q", "--no-plot", "-r", str(folder), "-l", str(folder)]
    return [PYTHON, str(ROOT / "main.py"), *options]


def report_in(folder: Path) -> Path:
    """The one report CSV a run wrote into `folder`."""
    return next(path for path in folder.glob("*.csv") if not path.name.endswith("_processes.csv"))


def monitor_runs(name: str, interval: str, work: Path) -> tuple[dict[float, tuple[float, int]], Path]:
    """Short and long monitor runs: CPU seconds and rows of each, and the long run's report."""
    runs = {}
    report = work
    for duration in (SHORT_S, LONG_S):
        folder = work / f"monitor-{name}-{interval}-{duration:g}"
        cpu = run_measured(monitor_command(name, f"{duration:g}", interval, folder), work / "monitor.out")
        report = report_in(folder)
        runs[duration] = (cpu, sum(1 for _ in report.open()) - 1)
    return runs, report


def floor_runs(pid: int, interval: str, work: Path) -> dict[float, tuple[float, int]]:
    """Short and long runs of the bare psutil loop (bench/floor.py): CPU seconds and samples of each."""
    runs = {}
    for duration in (SHORT_S, LONG_S):
        out = work / "floor.out"
        command = [PYTHON, str(ROOT / "bench" / "floor.py"), "--pid", str(pid), "--interval", interval]
        cpu = run_measured([*command, "--duration", f"{duration:g}"], out)
        runs[duration] = (cpu, int(out.read_text().split()[-1]))
    return runs


def psrecord_runs(pid: int, interval: str, work: Path) -> dict[float, tuple[float, int]] | None:
    psrecord = shutil.which("psrecord") or str(Path(PYTHON).parent / "psrecord")
    if not Path(psrecord).exists():
        return None
    runs = {}
    for duration in (SHORT_S, LONG_S):
        log = work / f"psrecord-{duration:g}.txt"
        command = [psrecord, str(pid), "--interval", interval, "--duration", f"{duration:g}", "--log", str(log)]
        cpu = run_measured(command, work / "psrecord.out")
        runs[duration] = (cpu, sum(1 for line in log.open() if not line.startswith("#")))
    return runs


def check_single(checks: list[Check], work: Path, rounds: int, before: Path | None) -> tuple[float, list[str]]:
    """The per-sample targets; the floor's median CPU per sample and the rounds' table."""
    name = f"perf-{uuid.uuid4().hex[:6]}"
    workload = start_workload(name, "--seconds", "3600")
    trees = {"monitor": ROOT} if before is None else {"monitor": ROOT, "before": before.resolve()}
    # A shared machine's speed drifts by tens of percent between minutes, so each round measures the
    # programs side by side, in the same seconds, and the median of the rounds' ratios is judged.
    try:
        taken = [per_sample_round(trees, name, workload.pid, work) for _ in range(rounds)]
        # Started side by side, the monitors' start-ups compete for the CPU and can delay each other's
        # first ticks: the samples taken and their timing are judged on runs of the monitor alone.
        alone = [timing_run(name, work) for _ in range(TIMING_RUNS)]
    finally:
        stop_workload(workload)
    floor_us = statistics.median(r.floor_s for r in taken) * 1e6
    ours = [r.runs["monitor"] for r in taken]
    ours_us = statistics.median(run.cpu_per_sample_s for run in ours) * 1e6
    to_floor = statistics.median(r.ratio("monitor") for r in taken)
    spread = " ".join(f"{r.ratio('monitor'):.2f}" for r in taken)
    checks.append(
        Check(
            f"CPU per sample at -s 0.01, console on and piped <= {TARGET_RATIO}x bare psutil loop",
            f"monitor {ours_us:.0f} us, floor {floor_us:.0f} us (medians), median ratio of {rounds} rounds "
            f"{to_floor:.2f} ({spread})",
            to_floor <= TARGET_RATIO,
        )
    )
    planned = int(LONG_S / 0.01)
    rows = [run.rows for run in alone]
    checks.append(
        Check(
            f"-s 0.01 -d {LONG_S:g}: {planned} of {planned} samples (median of {TIMING_RUNS} runs alone)",
            f"rows per run {' '.join(map(str, rows))}, ticks missed {' '.join(str(run.missed) for run in alone)}",
            statistics.median(rows) >= planned,
        )
    )
    lateness_ms = statistics.median(run.lateness_ms for run in alone)
    deviation_ms = statistics.median(run.deviation_ms for run in alone)
    checks.append(
        Check(
            f"-s 0.01: no sample more than 20 ms off its grid point (median of {TIMING_RUNS} runs alone)",
            f"largest lateness {lateness_ms:.1f} ms (monotonic clock), timestamps {deviation_ms:.1f} ms off the grid",
            lateness_ms <= 20 and deviation_ms <= 20,
        )
    )
    return floor_us, per_sample_table(taken, list(trees))


def check_psrecord(checks: list[Check], work: Path) -> None:
    """The monitor (quiet) against psrecord, both by the CPU of a long run minus a short one."""
    name = f"psrec-{uuid.uuid4().hex[:6]}"
    workload = start_workload(name, "--seconds", "600")
    try:
        theirs = psrecord_runs(workload.pid, "0.01", work)
        if theirs is None:
            checks.append(
                Check("CPU per sample below psrecord's", "psrecord not installed (pip install psrecord)", False)
            )
            return
        ours, _ = monitor_runs(name, "0.01", work)
    finally:
        stop_workload(workload)
    ours_us, theirs_us = marginal(ours) * 1e6, marginal(theirs) * 1e6
    checks.append(
        Check(
            "CPU per sample below psrecord's (quiet; a long run minus a short one)",
            f"monitor {ours_us:.0f} us, psrecord {theirs_us:.0f} us (RSS only), ratio {ours_us / theirs_us:.2f}; "
            f"psrecord took {theirs[LONG_S][1]} of {int(LONG_S / 0.01)} samples",
            ours_us < theirs_us,
        )
    )


def check_flat_cost_and_memory(checks: list[Check], work: Path) -> None:
    name = f"soak-{uuid.uuid4().hex[:6]}"
    workload = start_workload(name, "--seconds", "900")
    try:
        out = work / "soak.out"
        command = [PYTHON, str(ROOT / "bench" / "soak.py"), "--pid", str(workload.pid), "--samples", "100000"]
        run_measured(command, out)
        result = json.loads(out.read_text().splitlines()[-1])
    finally:
        stop_workload(workload)
    cpu = {int(k): v for k, v in result["cpu_s_at"].items()}
    early = (cpu[11000] - cpu[1000]) / 10000 * 1e6
    late = (cpu[100000] - cpu[90000]) / 10000 * 1e6
    checks.append(
        Check(
            "flat cost: samples 90k-100k within 1.2x of 1k-11k",
            f"{early:.0f} us then {late:.0f} us per sample, ratio {late / early:.2f}",
            late <= 1.2 * early,
        )
    )
    checks.append(
        Check(
            "end of a 100,000-sample run (summary, JSON, chart) <= 2 s",
            f"{result['end_of_run_s']:.2f} s",
            result["end_of_run_s"] <= 2.0,
        )
    )
    checks.append(
        Check(
            "peak RSS over 100,000 samples < 150 MB",
            f"{result['sampling_peak_rss_mib']:.0f} MiB",
            result["sampling_peak_rss_mib"] * 1.048576 < 150,
        )
    )
    checks.append(
        Check(
            "peak RSS with the end of the run (scipy, matplotlib) < 1 GiB",
            f"{result['peak_rss_mib']:.0f} MiB",
            result["peak_rss_mib"] < 1024,
        )
    )


def check_many(checks: list[Check], work: Path, floor_us: float) -> None:
    name = f"many-{uuid.uuid4().hex[:6]}"
    workload = start_workload(name, "--children", "49", "--seconds", "600")
    try:
        ours, _ = monitor_runs(name, "0.1", work)
        found = len(NameFinder(name).find_new())
        finder = NameFinder(name)
        finder.find_new()
        started = time.perf_counter()
        for _ in range(50):
            finder.find_new()
        steady_us = (time.perf_counter() - started) / 50 * 1e6
        started = time.perf_counter()
        for _ in range(5):
            [p.info for p in psutil.process_iter(["name"])]
        scan_us = (time.perf_counter() - started) / 5 * 1e6
    finally:
        stop_workload(workload)
    ours_us = marginal(ours) * 1e6
    checks.append(
        Check(
            f"{found} instances: CPU per sample <= 1.3 x {found} x single floor",
            f"monitor {ours_us:.0f} us, {found} x floor {found * floor_us:.0f} us, "
            f"ratio {ours_us / (found * floor_us):.2f}",
            ours_us <= 1.3 * found * floor_us,
        )
    )
    processes = len(psutil.pids())
    checks.append(
        Check(
            "finding new instances reads only new PIDs",
            f"{steady_us:.0f} us per tick with none new vs {scan_us:.0f} us for a name scan of {processes} processes",
            steady_us < 0.2 * scan_us,
        )
    )


def check_start_up(checks: list[Check], work: Path) -> None:
    name = f"start-{uuid.uuid4().hex[:6]}"
    workload = start_workload(name, "--seconds", "60")
    try:
        folder = work / "start"
        launched = time.time()
        subprocess.run(monitor_command(name, "1", "0.1", folder), cwd=ROOT, capture_output=True, check=True)
    finally:
        stop_workload(workload)
    report = report_in(folder)
    first = datetime.fromisoformat(report.read_text().splitlines()[1].split(",")[0]).timestamp()
    ready_s = first - 0.1 - launched
    checks.append(
        Check("start-up: sampling starts within 1 s of the command", f"{ready_s * 1000:.0f} ms", ready_s <= 1.0)
    )


def check_long(checks: list[Check], work: Path) -> None:
    name = f"long-{uuid.uuid4().hex[:6]}"
    workload = start_workload(name, "--seconds", "700")
    try:
        folder = work / "long"
        subprocess.run(monitor_command(name, "600", "1", folder), cwd=ROOT, capture_output=True, check=True)
    finally:
        stop_workload(workload)
    report = report_in(folder)
    sampling = json.loads(report.with_suffix(".json").read_text())["sampling"]
    deviation_ms = grid_deviation_s(report, 1.0) * 1000
    checks.append(
        Check(
            "-s 1 -d 600: exactly 600 samples, none more than 20 ms off the grid",
            f"{sampling['actual_samples']} samples, lateness {sampling['max_lateness_s'] * 1000:.1f} ms, "
            f"timestamps {deviation_ms:.1f} ms off the grid",
            sampling["actual_samples"] == 600 and sampling["max_lateness_s"] <= 0.02 and deviation_ms <= 20,
        )
    )


def machine() -> str:
    """One line naming the machine and the versions measured."""
    uname = platform.uname()
    return (
        f"{uname.machine}, {os.cpu_count()} cores, {uname.system} {uname.release}; "
        f"Python {platform.python_version()}, psutil {psutil.__version__}; load average "
        f"{' '.join(f'{load:.1f}' for load in os.getloadavg())} at the start"
    )


def results_body(setting: str, table: list[str], checks: list[Check]) -> str:
    """The run's per-sample table and target lines, as Markdown."""
    width = max(len(check.name) for check in checks)
    lines = [
        f"{setting}.",
        "",
        "CPU per sample at `-s 0.01`, one workload process: the bare psutil loop `bench/floor.py` and the "
        "monitor with its console on and piped watch it side by side in each round, and the CPU time of each "
        f"(every thread's, from /proc/PID/task/TID/schedstat) is read at the same two moments, {WINDOW_S:g} s "
        f"apart, once the monitors have printed {FIRST_ROWS} rows (bench/per_sample.py):",
        "",
        *table,
        "",
        "```",
        *(f"{'PASS' if check.ok else 'FAIL'}  {check.name:<{width}}  {check.measured}" for check in checks),
        "```",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="also run the 10-minute check at -s 1")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"rounds, at least 3 (default {ROUNDS})")
    parser.add_argument(
        "--per-sample-only", action="store_true", help="only the per-sample targets at -s 0.01 (a few minutes)"
    )
    parser.add_argument(
        "--before", type=Path, help="another checkout (a folder holding main.py) measured in the same rounds"
    )
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        print("bench/perf.py runs on Linux only")
        return 1
    if args.rounds < 3:
        parser.error("--rounds must be at least 3: a median of fewer rounds says little on a shared machine")
    checks: list[Check] = []
    started = time.monotonic()
    setting = machine()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        floor_us, table = check_single(checks, work, args.rounds, args.before)
        if not args.per_sample_only:
            check_psrecord(checks, work)
            check_flat_cost_and_memory(checks, work)
            check_many(checks, work, floor_us)
            check_start_up(checks, work)
            if args.long:
                check_long(checks, work)
    print("\n".join(table) + "\n")
    status = print_checks(checks, started)
    print(f"results written to {save('perf', results_body(setting, table, checks))}")
    return status


if __name__ == "__main__":
    sys.exit(main())
