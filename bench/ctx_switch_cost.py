"""What reading every thread's context switches costs per sample, against reading the main thread's only.

    python bench/ctx_switch_cost.py    # prints the table, and writes it to bench/results/ctx_switch_cost.md

For 1, 10 and 100 threads, a workload (tests/workloads/workload.py, its extra threads waiting) is read
in this process the way a tick reads it: every probe of the metric table in one `oneshot()`, with
the context-switch probe in three forms:
  - main thread only: psutil's `num_ctx_switches()`, which on Linux is the main thread's count;
  - every thread, every tick: the thread sum read on every sample;
  - every thread, as the monitor reads them: the thread sum with its CPU budget (the other threads
    read again once 100 times their last read's CPU time has passed), at -s 0.01.
Each form takes SAMPLES reads paced 10 ms apart (as -s 0.01), timed with this thread's CPU clock;
the forms take turns within each of ROUNDS rounds, in a rotating order, and each round's ratio to
the main-thread read is taken, so that the machine's drift between minutes cancels; the table gives
the medians. Linux only.
"""

from __future__ import annotations

import argparse
import math
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import recorded  # noqa: E402
from monitor.metrics import CTX_SWITCHES  # noqa: E402 - after the path is set
from monitor.sampling.probes import PROBES, Value  # noqa: E402
from monitor.sampling.thread_switches import CPU_SHARE, ThreadSwitches  # noqa: E402

WORKLOAD = ROOT / "tests" / "workloads" / "workload.py"
THREAD_COUNTS = (1, 10, 100)
ROUNDS = 5
SAMPLES = 200
PACE_S = 0.01
MAIN_ONLY = "main thread only"
EVERY_TICK = "every thread, every tick"
BUDGETED = "every thread, as the monitor reads them"
FORMS = (MAIN_ONLY, EVERY_TICK, BUDGETED)
Read = Callable[[psutil.Process], tuple[Value, ...]]


def main_thread_only(proc: psutil.Process) -> tuple[Value, ...]:
    """The context-switch probe as it was: psutil's count, the main thread's on Linux."""
    switches = proc.num_ctx_switches()
    return (switches.voluntary + switches.involuntary,)


def probe_form(form: str) -> Read:
    """The context-switch probe in one of the compared forms, with state of its own."""
    if form == MAIN_ONLY:
        return main_thread_only
    counter = ThreadSwitches(cpu_share=math.inf if form == EVERY_TICK else CPU_SHARE)
    return lambda proc: (counter.read(proc),)


def sample_reader(switches: Read) -> Callable[[psutil.Process], None]:
    """One tick's read of a process: every probe in one oneshot(), the context switches through `switches`."""
    reads = [switches if CTX_SWITCHES in probe.fills else probe.read for probe in PROBES]

    def read(proc: psutil.Process) -> None:
        with proc.oneshot():
            for probe in reads:
                probe(proc)

    return read


def cpu_per_sample(pid: int, form: str) -> float:
    """CPU seconds per sample of SAMPLES paced reads of the process in one form (after one unmeasured read)."""
    proc = psutil.Process(pid)
    read = sample_reader(probe_form(form))
    read(proc)
    spent = 0.0
    for _ in range(SAMPLES):
        time.sleep(PACE_S)
        started = time.thread_time()
        read(proc)
        spent += time.thread_time() - started
    return spent / SAMPLES


def start_workload(threads: int) -> subprocess.Popen[str]:
    """A workload of `threads` threads in all (the main one and threads - 1 that wait)."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKLOAD), "--announce", "--seconds", "3600", "--threads", str(threads - 1)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise SystemExit(f"the workload with {threads} threads did not start")
    return proc


def measure(threads: int) -> dict[str, list[float]]:
    """Each form's CPU per sample in every round, on one workload of `threads` threads."""
    workload = start_workload(threads)
    try:
        actual = psutil.Process(workload.pid).num_threads()
        if actual != threads:
            raise SystemExit(f"the workload has {actual} threads, not {threads}")
        costs: dict[str, list[float]] = {form: [] for form in FORMS}
        for round_index in range(ROUNDS):
            # A rotating order, so that a drift within a round favours no form.
            order = FORMS[round_index % len(FORMS) :] + FORMS[: round_index % len(FORMS)]
            for form in order:
                costs[form].append(cpu_per_sample(workload.pid, form))
        return costs
    finally:
        workload.send_signal(signal.SIGKILL)
        workload.wait()


def table(results: dict[int, dict[str, list[float]]]) -> str:
    """The results as a Markdown table: medians per sample, and the medians of the per-round ratios."""
    lines = [
        f"| threads | {MAIN_ONLY} | {EVERY_TICK} | ratio | {BUDGETED} (-s 0.01) | ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for threads, costs in results.items():
        main = costs[MAIN_ONLY]
        cells = [f"{statistics.median(main) * 1e6:.0f} us"]
        for form in (EVERY_TICK, BUDGETED):
            ratio = statistics.median(cost / base for cost, base in zip(costs[form], main))
            cells += [f"{statistics.median(costs[form]) * 1e6:.0f} us", f"{ratio:.2f}"]
        lines.append(f"| {threads} | {' | '.join(cells)} |")
    return "\n".join(lines)


def summary(results: dict[int, dict[str, list[float]]]) -> str:
    """The table with what it measured and on what."""
    versions = f"Python {platform.python_version()}, psutil {psutil.__version__}"
    return (
        f"CPU per read of one process, medians of {ROUNDS} interleaved rounds of {SAMPLES} reads paced as "
        f"-s {PACE_S:g} ({versions}):\n\n{table(results)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    if not psutil.LINUX:
        raise SystemExit("Linux only: elsewhere psutil's count is already the whole process's")
    results = {}
    for threads in THREAD_COUNTS:
        results[threads] = measure(threads)
        print(f"{threads} threads measured", file=sys.stderr)
    print(summary(results))
    return 0


if __name__ == "__main__":
    with recorded("ctx_switch_cost", markdown=True):
        status = main()
    sys.exit(status)
