"""What the added metrics cost per sample, against another checkout, and whether their values agree with /proc.

    git worktree add /tmp/before COMMIT    # any checkout to compare with, e.g. one before a metric was added
    python bench/metrics_cost.py /tmp/before .

Cost: in each of 5 rounds, both trees' monitors run quiet against the same workload (4 extra threads)
at -s 0.01 for 9 s; each monitor's CPU time is read when its report holds 50 rows and again at 650
rows, so start-up (interpreter, imports) and the end of the run stay outside the measure. The ratio of
CPU per sample is taken within each round, and the median ratio is judged.
Accuracy: one read of a workload with the monitor's `read_process`, between two reads of
/proc/PID/status that agree (VmRSS, VmSwap, Threads); and a monitor run (`--pid PID -d 8 -s 0.5`) during
which the workload writes 24 MiB to a file on disk and reads each MiB back from storage, the rows'
rates times their intervals against the change of /proc/PID/io over the whole run.

Prints one PASS/FAIL line per target and exits 1 when a target is missed. Linux only.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.perf import PYTHON, Check, print_checks, report_in, run_measured, start_workload, stop_workload  # noqa: E402
from bench.results import recorded  # noqa: E402
from monitor.metrics import READ_RATE, RESIDENT, SWAPPED, THREADS, WRITE_RATE  # noqa: E402
from monitor.sampling.probes import read_process  # noqa: E402

ROUNDS = 5
# The CPU used between these two report rows is compared: start-up and the end of the run stay outside.
FIRST_ROW, LAST_ROW = 50, 650
COST_TARGET = 1.15
PAGE = 4096
MIB = 1024 * 1024
IO_INTERVAL_S = 0.5
WRITE_MIB = 24
MEMORY_FILESYSTEMS = {"tmpfs", "ramfs", "devtmpfs"}


def proc_fields(pid: int, name: str) -> dict[str, int]:
    """The `key: value` lines of /proc/PID/<name> as integers (kB values in bytes)."""
    fields = {}
    for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
        key, _, value = line.partition(":")
        words = value.split()
        if words and words[0].isdigit():
            fields[key] = int(words[0]) * (1024 if words[1:] == ["kB"] else 1)
    return fields


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding `path`, from /proc/mounts."""
    best, kind = "", ""
    resolved = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        _, point, fstype, *_ = line.split()
        if (resolved == point or resolved.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, kind = point, fstype
    return kind


def sampling_cost(tree: Path, name: str, work: Path) -> float:
    """CPU seconds per sample of one tree's monitor, between its 50th and 650th report rows."""
    folder = work / uuid.uuid4().hex[:8]
    options = ["-p", name, "-d", "9", "-s", "0.01", "-q", "--no-plot", "-r", str(folder), "-l", str(folder)]
    proc = subprocess.Popen([PYTHON, str(tree / "main.py"), *options], stdout=subprocess.DEVNULL, cwd=ROOT)
    monitor = psutil.Process(proc.pid)
    try:
        points = [_cpu_at_row(monitor, folder, row) for row in (FIRST_ROW, LAST_ROW)]
    finally:
        if proc.wait() not in (0, 3):
            raise SystemExit(f"{tree / 'main.py'} {' '.join(options)} failed ({proc.returncode})")
    (cpu_first, rows_first), (cpu_last, rows_last) = points
    return (cpu_last - cpu_first) / (rows_last - rows_first)


def _cpu_at_row(monitor: psutil.Process, folder: Path, row: int) -> tuple[float, int]:
    """The monitor's CPU seconds (user + system) once its report holds `row` rows, and the rows then."""
    while True:
        reports = [path for path in folder.glob("*.csv") if not path.name.endswith("_processes.csv")]
        rows = reports[0].read_bytes().count(b"\n") - 1 if reports else 0
        if rows >= row:
            times = monitor.cpu_times()
            return times.user + times.system, rows
        if not monitor.is_running():
            raise SystemExit(f"the monitor ended with {rows} rows, before row {row}")
        time.sleep(0.005)


def check_cost(checks: list[Check], before: Path, after: Path) -> None:
    name = f"mcost-{uuid.uuid4().hex[:6]}"
    workload = start_workload(name, "--threads", "4", "--seconds", "3600")
    costs: dict[Path, list[float]] = {before: [], after: []}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for round_index in range(ROUNDS):
                # Alternate who goes first, so that a drift within a round favours neither.
                order = (before, after) if round_index % 2 == 0 else (after, before)
                for tree in order:
                    costs[tree].append(sampling_cost(tree, name, Path(folder)))
    finally:
        stop_workload(workload)
    ratios = [new / old for new, old in zip(costs[after], costs[before])]
    ratio = statistics.median(ratios)
    now_us, before_us = statistics.median(costs[after]) * 1e6, statistics.median(costs[before]) * 1e6
    checks.append(
        Check(
            f"CPU per sample with the added metrics <= {COST_TARGET}x the checkout before them",
            f"now {now_us:.0f} us, before {before_us:.0f} us (medians), "
            f"median ratio of {ROUNDS} rounds {ratio:.2f} ({' '.join(f'{r:.2f}' for r in ratios)})",
            ratio <= COST_TARGET,
        )
    )


def check_snapshot(checks: list[Check]) -> None:
    name = f"msnap-{uuid.uuid4().hex[:6]}"
    workload = start_workload(name, "--threads", "4", "--leak-mib-per-s", "2", "--seconds", "60")
    try:
        time.sleep(1.0)
        process = psutil.Process(workload.pid)
        for _ in range(50):
            status = proc_fields(workload.pid, "status")
            reading = read_process(process, name)
            if reading is not None and proc_fields(workload.pid, "status") == status:
                break
            time.sleep(0.01)
        else:
            raise SystemExit("the workload's /proc/PID/status never held still around a read")
    finally:
        stop_workload(workload)
    for column, key in ((RESIDENT, "VmRSS"), (SWAPPED, "VmSwap")):
        ours = reading.value(column)
        theirs = status.get(key)
        ok = ours is not None and theirs is not None and abs(ours - theirs) <= PAGE
        checks.append(Check(f"{column} equals {key} to the page", f"monitor {ours} bytes, /proc {theirs} bytes", ok))
    threads = reading.value(THREADS)
    checks.append(
        Check(
            "threads equal Threads exactly",
            f"monitor {threads}, /proc {status['Threads']}",
            threads == status["Threads"],
        )
    )


def check_io(checks: list[Check], work: Path) -> None:
    name = f"mio-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(dir=ROOT / "bench", prefix=".io-") as disk:
        kind = filesystem_type(Path(disk))
        if kind in MEMORY_FILESYSTEMS:
            checks.append(Check("storage I/O over a run within 1% of /proc/PID/io", f"{disk} is on {kind}", False))
            return
        # The writes fall well inside the run: from 2 s after 'ready' (the monitor has read the process by
        # then) to 5 s; the run lasts 8 s from its first read.
        workload = start_workload(
            name, "--threads", "4", "--write-mib-per-s", "8", "--write-mib", str(WRITE_MIB), "--write-after", "2",
            "--read-back", "--write-dir", disk, "--seconds", "60",
        )  # fmt: skip
        folder = work / "io"
        try:
            start = proc_fields(workload.pid, "io")
            options = ["--pid", str(workload.pid), "-d", "8", "-s", f"{IO_INTERVAL_S}", "-q", "--no-plot"]
            options += ["-r", str(folder), "-l", str(folder)]
            run_measured([PYTHON, str(ROOT / "main.py"), *options], work / "io.out")
            end = proc_fields(workload.pid, "io")
        finally:
            stop_workload(workload)
    with report_in(folder).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    elapsed = [float(row["elapsed_s"]) for row in rows]
    # The first row's rate covers the interval from the first read to the first sample.
    intervals = [IO_INTERVAL_S] + [later - earlier for earlier, later in zip(elapsed, elapsed[1:])]
    for column, counter in ((WRITE_RATE, "write_bytes"), (READ_RATE, "read_bytes")):
        ours = sum(float(row[column]) * interval for row, interval in zip(rows, intervals))
        theirs = end[counter] - start[counter]
        off = abs(ours - theirs) / theirs if theirs else abs(ours)
        checks.append(
            Check(
                f"{column} x interval over a run within 1% of /proc/PID/io {counter}",
                f"monitor {ours / MIB:.3f} MiB, /proc {theirs / MIB:.3f} MiB, off by {off:.2%} ({len(rows)} rows)",
                theirs > 0 and off <= 0.01,
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the checkout before the added metrics (a folder holding main.py)")
    parser.add_argument("after", type=Path, help="the checkout with them (default: this one)", nargs="?", default=ROOT)
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        print("bench/metrics_cost.py runs on Linux only")
        return 1
    checks: list[Check] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        check_cost(checks, args.before.resolve(), args.after.resolve())
        check_snapshot(checks)
        check_io(checks, work)
    return print_checks(checks, started)


if __name__ == "__main__":
    with recorded("metrics_cost"):
        status = main()
    sys.exit(status)
