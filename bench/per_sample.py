"""CPU per sample at -s 0.01 of the monitor (console on, piped) and of the bare psutil loop, in the same seconds.

bench/perf.py judges its per-sample target with these rounds. In each round the bare loop
(bench/floor.py) and every checkout's monitor watch one workload process at the same time, and the
CPU time of each (every thread's, to the nanosecond, from /proc/PID/task/TID/schedstat) is read at the
same two moments, once every monitor has printed FIRST_ROWS rows and WINDOW_S seconds later: start-up
and the end of the run stay outside, and all of them meet the same load on a shared machine. The
samples each took between the two moments are counted from the monitors' rows as they arrive on the
pipe and from the loop's own list of sample times.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

PYTHON = sys.executable
ROOT = Path(__file__).resolve().parent.parent
INTERVAL = "0.01"
DURATION_S = 8.0  # the monitors' runs: 800 samples
FIRST_ROWS = 100
WINDOW_S = 5.0
_TABLE_ROW = re.compile(rb"^\d\d:\d\d:\d\d\.\d{3} ")


def task_cpu_s(pid: int) -> float:
    """CPU seconds the process's threads have run so far (/proc/PID/task/TID/schedstat, in nanoseconds)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


class PipedMonitor:
    """One checkout's main.py at -s 0.01 with its console on and piped; the arrival time of every table row."""

    def __init__(self, main_py: Path, name: str, folder: Path) -> None:
        self.folder = folder
        options = [
            "-p",
            name,
            "-d",
            f"{DURATION_S:g}",
            "-s",
            INTERVAL,
            "--no-plot",
            "-r",
            str(folder),
            "-l",
            str(folder),
        ]
        self.command = [PYTHON, str(main_py), *options]
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=main_py.parent)
        self.rows_at: list[float] = []
        self.other_lines: list[bytes] = []
        self.warm = threading.Event()  # set once FIRST_ROWS rows are out
        assert self.proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,))
        self._reader.start()

    def _read(self, out: IO[bytes]) -> None:
        for line in out:
            if _TABLE_ROW.match(line):
                self.rows_at.append(time.monotonic())
                if len(self.rows_at) == FIRST_ROWS:
                    self.warm.set()
            else:
                self.other_lines.append(line)
        self.warm.set()  # ended: nobody waits for rows that will not come

    def finish(self) -> Path:
        """Wait for the run to end; its report, or SystemExit saying why there is none."""
        status = self.proc.wait()
        self._reader.join()
        if status not in (0, 3) or len(self.rows_at) < FIRST_ROWS:
            said = b"".join(self.other_lines).decode(errors="replace")
            raise SystemExit(f"{' '.join(self.command)} failed ({status}, {len(self.rows_at)} rows):\n{said}")
        return next(path for path in self.folder.glob("*.csv") if not path.name.endswith("_processes.csv"))


@dataclass
class MonitorRun:
    """One monitor's figures in one round."""

    cpu_per_sample_s: float
    rows: int
    lateness_ms: float
    deviation_ms: float
    missed: int


@dataclass
class Round:
    """One round: the bare loop's CPU per sample, and each checkout's run."""

    floor_s: float
    runs: dict[str, MonitorRun]

    def ratio(self, label: str) -> float:
        """A checkout's CPU per sample over the bare loop's, in this round."""
        return self.runs[label].cpu_per_sample_s / self.floor_s


def grid_deviation_s(report: Path, interval_s: float) -> float:
    """Largest distance of a row's timestamp from the best-fitting grid start + k * interval."""
    lines = report.read_text().splitlines()[1:]
    stamps = [datetime.fromisoformat(line.split(",")[0]).timestamp() for line in lines]
    offsets = sorted(stamp - k * interval_s for k, stamp in enumerate(stamps))
    centre = offsets[len(offsets) // 2]
    return max(abs(offset - centre) for offset in offsets)


def per_sample_round(trees: dict[str, Path], name: str, pid: int, work: Path) -> Round:
    """The bare loop and each checkout's monitor, side by side against process `pid`, measured over one window."""
    floor_command = [PYTHON, str(ROOT / "bench" / "floor.py"), "--pid", str(pid), "--interval", INTERVAL]
    floor = subprocess.Popen(
        [*floor_command, "--duration", f"{DURATION_S + 3:g}", "--announce"], stdout=subprocess.PIPE, text=True
    )
    assert floor.stdout is not None
    if floor.stdout.readline().strip() != "ready":
        raise SystemExit("bench/floor.py did not start")
    monitors = {
        label: PipedMonitor(tree / "main.py", name, work / uuid.uuid4().hex[:8]) for label, tree in trees.items()
    }
    for monitor in monitors.values():
        monitor.warm.wait()
    pids = {"floor": floor.pid, **{label: monitor.proc.pid for label, monitor in monitors.items()}}
    start, cpu_start = time.monotonic(), {label: task_cpu_s(pid) for label, pid in pids.items()}
    time.sleep(WINDOW_S)
    end, cpu_end = time.monotonic(), {label: task_cpu_s(pid) for label, pid in pids.items()}
    reports = {label: monitor.finish() for label, monitor in monitors.items()}
    out, _ = floor.communicate()
    floor_at = [float(line) for line in out.split()[1:]]
    floor_samples = sum(1 for moment in floor_at if start <= moment < end)
    runs = {}
    for label, monitor in monitors.items():
        samples = sum(1 for moment in monitor.rows_at if start <= moment < end)
        report = reports[label]
        sampling = json.loads(report.with_suffix(".json").read_text())["sampling"]
        runs[label] = MonitorRun(
            cpu_per_sample_s=(cpu_end[label] - cpu_start[label]) / max(samples, 1),
            rows=sum(1 for _ in report.open()) - 1,
            lateness_ms=sampling["max_lateness_s"] * 1000,
            deviation_ms=grid_deviation_s(report, float(INTERVAL)) * 1000,
            missed=sampling["ticks_missed"],
        )
    return Round((cpu_end["floor"] - cpu_start["floor"]) / max(floor_samples, 1), runs)


def timing_run(name: str, work: Path) -> MonitorRun:
    """One monitor run alone (console on, piped), for the samples it took and how close to the grid they were."""
    monitor = PipedMonitor(ROOT / "main.py", name, work / uuid.uuid4().hex[:8])
    report = monitor.finish()
    sampling = json.loads(report.with_suffix(".json").read_text())["sampling"]
    return MonitorRun(
        cpu_per_sample_s=0.0,
        rows=sum(1 for _ in report.open()) - 1,
        lateness_ms=sampling["max_lateness_s"] * 1000,
        deviation_ms=grid_deviation_s(report, float(INTERVAL)) * 1000,
        missed=sampling["ticks_missed"],
    )


def per_sample_table(rounds: list[Round], labels: list[str]) -> list[str]:
    """The rounds as a Markdown table, and their medians."""
    head = "| round | bare psutil loop |" + "".join(f" {label} | ratio |" for label in labels)
    lines = [head, "| ---: | ---: |" + " ---: | ---: |" * len(labels)]
    for number, r in enumerate(rounds, 1):
        cells = "".join(f" {r.runs[label].cpu_per_sample_s * 1e6:.0f} us | {r.ratio(label):.2f} |" for label in labels)
        lines.append(f"| {number} | {r.floor_s * 1e6:.0f} us |{cells}")
    floor_us = _median([r.floor_s for r in rounds]) * 1e6
    medians = "".join(
        f" {_median([r.runs[label].cpu_per_sample_s for r in rounds]) * 1e6:.0f} us | "
        f"{_median([r.ratio(label) for r in rounds]):.2f} |"
        for label in labels
    )
    lines.append(f"| median | {floor_us:.0f} us |{medians}")
    return lines


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
