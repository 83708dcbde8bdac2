"""Measure two checkouts of the monitor side by side: per-sample CPU of a monitoring run, and the exporter's CPU.

    python bench/compare_checkouts.py --before 24c0ab5                 # against the working tree
    python bench/compare_checkouts.py --before v1 --after v2 --rounds 5 --instances 200

Each revision is checked out into a temporary git worktree and run with this Python. Rounds
alternate between the two (before, after, before, ...), and every figure is the median of its
rounds, so that what else the machine does weighs on both alike.

- Per sample: `main.py -p NAME -d 2` and `-d 8` at `-s 0.01`, console on and piped to a file, on one
  workload process; the CPU (user + system, from wait4) of the long run minus the short one, over
  the extra rows, so that start-up is left out.
- Exporter: `main.py --serve PORT -p NAME -s 1` on N sleeping processes of one name
  (bench/many_processes.py), scraped once a second; the CPU of a 12 s run minus a 4 s one, per second.

Prints a Markdown table and writes it to bench/results/checkouts.md. Linux only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.many_processes import fleet  # noqa: E402

PYTHON = sys.executable
WORKLOAD = ROOT / "tests" / "workloads" / "workload.py"
RESULTS = ROOT / "bench" / "results" / "checkouts.md"
SHORT_S, LONG_S = 2, 8
SERVE_SHORT_S, SERVE_LONG_S = 4, 12


@contextlib.contextmanager
def checkout(revision: str | None) -> Iterator[Path]:
    """A worktree of `revision` for the duration of the block; the working tree itself for None."""
    if revision is None:
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix="checkout-") as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), revision], cwd=ROOT, check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def cpu_of(command: list[str], cwd: Path, output: Path, during: Callable[[], None] | None = None) -> float:
    """Run a command to its end (with `during` called while it runs) and return its CPU seconds."""
    with output.open("w") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=cwd)
        if during is not None:
            during()
        _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        raise SystemExit(f"{' '.join(command)} failed ({code}):\n{output.read_text()[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def rows_in(folder: Path) -> int:
    report = next(path for path in folder.glob("*.csv") if not path.name.endswith("_processes.csv"))
    return sum(1 for _ in report.open()) - 1


def per_sample_us(tree: Path, name: str, work: Path) -> float:
    """CPU microseconds per sample at -s 0.01, console on and piped."""
    measured = {}
    for duration in (SHORT_S, LONG_S):
        folder = work / f"run-{uuid.uuid4().hex[:8]}"
        options = ["-p", name, "-d", str(duration), "-s", "0.01", "--no-plot", "-r", str(folder), "-l", str(folder)]
        cpu = cpu_of([PYTHON, str(tree / "main.py"), *options], tree, work / "console.out")
        measured[duration] = (cpu, rows_in(folder))
    (cpu_short, rows_short), (cpu_long, rows_long) = measured[SHORT_S], measured[LONG_S]
    return (cpu_long - cpu_short) / max(rows_long - rows_short, 1) * 1e6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scraping(port: int, seconds: float) -> Callable[[], None]:
    """Scrape /metrics once a second for `seconds`, once the exporter answers."""

    def scrape() -> None:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + seconds + 30
        start = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    response.read()
                start = start or time.monotonic()
            except OSError:
                pass
            if start is not None and time.monotonic() - start >= seconds - 1:
                return
            time.sleep(1.0 if start is not None else 0.1)

    return scrape


def exporter_ms_per_s(tree: Path, name: str, work: Path) -> float:
    """CPU milliseconds per second of the exporter at -s 1, scraped once a second."""
    measured = {}
    for duration in (SERVE_SHORT_S, SERVE_LONG_S):
        port = free_port()
        options = ["--serve", str(port), "-p", name, "-s", "1", "-d", str(duration), "-l", str(work / "logs")]
        command = [PYTHON, str(tree / "main.py"), *options]
        measured[duration] = cpu_of(command, tree, work / "serve.out", scraping(port, duration))
    return (measured[SERVE_LONG_S] - measured[SERVE_SHORT_S]) / (SERVE_LONG_S - SERVE_SHORT_S) * 1000


def interleaved(trees: dict[str, Path], rounds: int, measure: Callable[[Path], float]) -> dict[str, float]:
    """The median of `rounds` measurements of each tree, taken in alternation."""
    values: dict[str, list[float]] = {label: [] for label in trees}
    for _ in range(rounds):
        for label, tree in trees.items():
            values[label].append(measure(tree))
    return {label: statistics.median(found) for label, found in values.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the earlier revision (a commit, tag or branch)")
    parser.add_argument("--after", help="the later revision (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--instances", type=int, default=200, help="processes the exporter watches (default 200)")
    args = parser.parse_args()
    after_label = args.after or "working tree"
    rows = []
    with checkout(args.before) as before, checkout(args.after) as after:
        folder = tempfile.mkdtemp(prefix="checkouts-")
        work = Path(folder)
        trees = {args.before: before, after_label: after}
        name = f"cw{uuid.uuid4().hex[:8]}"
        workload = subprocess.Popen(
            [PYTHON, str(WORKLOAD), "--name", name, "--announce"], stdout=subprocess.PIPE, start_new_session=True
        )
        try:
            assert workload.stdout is not None
            workload.stdout.readline()
            per_sample = interleaved(trees, args.rounds, lambda tree: per_sample_us(tree, name, work))
        finally:
            workload.kill()
            workload.wait()
        rows.append(("CPU per sample, -s 0.01, console piped (µs)", per_sample))
        fleet_name = f"cf{uuid.uuid4().hex[:8]}"
        with fleet(fleet_name, args.instances):
            serving = interleaved(trees, args.rounds, lambda tree: exporter_ms_per_s(tree, fleet_name, work))
        rows.append((f"exporter CPU per second, {args.instances} instances, -s 1, scraped each second (ms)", serving))
        shutil.rmtree(folder, ignore_errors=True)
    lines = [
        f"| measure | {args.before} | {after_label} | after / before |",
        "| --- | --- | --- | --- |",
    ]
    for title, medians in rows:
        old, new = medians[args.before], medians[after_label]
        lines.append(f"| {title} | {old:.0f} | {new:.0f} | {new / old:.2f}x |")
    command = " ".join(["python", "bench/compare_checkouts.py", *sys.argv[1:]])
    text = "\n".join([f"`{command}`, medians of {args.rounds} interleaved rounds:", "", *lines, ""])
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
