"""Where a tick's CPU goes: the monitor's session and sinks at -s 0.01, one phase at a time, beside a bare psutil read.

    python bench/tick_profile.py                 # against a workload process it starts
    python bench/tick_profile.py --ticks 1000

Drives the session and the sinks `main.py` builds (facts, frame, report and detail CSVs, log, console
piped) on the monitor's own clock at -s 0.01, and reads this thread's CPU time around each phase of
every tick: the clock, the target refresh, the reads, the look at the PIDs handed out, the tree CPU
and the sample, and each sink. Then the bare psutil read of bench/floor.py, paced the same way, in
the same process. Each phase's figure is its mean over the ticks, less the cost of reading the CPU
clock; the caches are as cold as the sleep between ticks leaves them, as in a real run. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_reads import reported_calls
from bench.perf import start_workload, stop_workload
from monitor.output.console import Console, ConsoleSink
from monitor.output.csv_report import DetailSink, ReportSink
from monitor.output.facts import RunFacts
from monitor.output.frame import FrameSink
from monitor.output.log import LogSink, run_log
from monitor.sampling import finders, session, targets
from monitor.stream import ProcessEvent, Sample, Sink

INTERVAL_S = 0.01
SINK_NAMES = ("RunFacts", "FrameSink", "ReportSink", "DetailSink", "LogSink", "ConsoleSink")


class Phases:
    """CPU seconds of this thread per named phase, summed over the ticks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.clock_reads = 0

    def timed(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        """`call`, with the CPU it takes added to phase `name`."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds[name] += time.thread_time() - started
                self.clock_reads += 2

        return wrapper


class TimedSink(Sink):
    """A sink whose add() is timed as its own phase."""

    def __init__(self, sink: Sink, phases: Phases) -> None:
        self._sink = sink
        self._add = phases.timed(type(sink).__name__, sink.add)

    def add(self, sample: Sample) -> None:
        """Hand the sample on, timed."""
        self._add(sample)

    def note(self, event: ProcessEvent) -> None:
        """Hand the event on."""
        self._sink.note(event)

    def close(self) -> None:
        """Close the sink."""
        self._sink.close()


class Ticks:
    """Counts ticks and ends the run after the last; sleeps as the monitor does."""

    def __init__(self, ticks: int) -> None:
        self.ticks = ticks
        self.taken = 0
        self.signum = None

    @property
    def requested(self) -> bool:
        """True once every tick was taken."""
        return self.taken >= self.ticks

    def sleep(self, seconds: float) -> None:
        """Wait for the next tick."""
        time.sleep(seconds)


def clock_read_cost_s() -> float:
    """The CPU one time.thread_time() call takes."""
    started = time.thread_time()
    for _ in range(10000):
        time.thread_time()
    return (time.thread_time() - started) / 10000


def profile_monitor(pid: int, ticks: int, folder: Path) -> tuple[dict[str, float], float]:
    """CPU seconds per tick of each phase of the monitor's tick, and of the whole run per tick."""
    phases = Phases()
    report, detail = folder / "profile.csv", folder / "profile_processes.csv"
    for path in (report, detail):
        path.touch()
    read_end, write_end = os.pipe()
    # The console's reader: a thread that drains the pipe, as `| tee` would.
    drain = threading.Thread(target=lambda: [None for _ in iter(lambda: os.read(read_end, 65536), b"")])
    drain.start()
    counter = Ticks(ticks)
    with run_log(folder / "profile.log") as log, open(write_end, "w") as piped:
        facts = RunFacts()
        console = Console(piped, live=False)
        plain: list[Sink] = [facts, FrameSink(facts), ReportSink(report, facts), DetailSink(detail, facts)]
        plain += [LogSink(log, facts, every_sample=False), ConsoleSink(console, facts, INTERVAL_S, ticks / 100, ticks)]
        sinks = [TimedSink(sink, phases) for sink in plain]
        run = session.Session(targets.TargetSet(finders.by_pid(pid)))
        run.start()
        run.targets.refresh_as_of = phases.timed("targets.refresh", run.targets.refresh_as_of)  # type: ignore[method-assign]
        run._handouts.look = phases.timed("handouts.look", run._handouts.look)  # type: ignore[method-assign]
        run._cpu.advance = phases.timed("tree CPU", run._cpu.advance)  # type: ignore[method-assign]
        original_read = session.read_process
        session.read_process = phases.timed("reads (read_process)", original_read)

        class Counted(Sink):
            def add(self, sample: Sample) -> None:
                counter.taken += 1

        tick = phases.timed("whole tick", run._tick)
        run._tick = tick  # type: ignore[method-assign]
        started = time.thread_time()
        try:
            run.run(INTERVAL_S, 10 * ticks, [*sinks, Counted()], counter)
        finally:
            session.read_process = original_read
            whole_s = time.thread_time() - started
            for sink in sinks:
                sink.close()
    drain.join()
    os.close(read_end)
    per_tick = {name: seconds / counter.taken for name, seconds in phases.seconds.items()}
    # Each timed phase pays for two clock reads, the whole tick for those of every phase within it.
    cost = clock_read_cost_s()
    reads_per_tick = phases.clock_reads / counter.taken
    inner = reads_per_tick - 2
    for name in per_tick:
        per_tick[name] -= 2 * cost
    per_tick["whole tick"] -= inner * cost
    return per_tick, whole_s / counter.taken - reads_per_tick * cost


def profile_floor(pid: int, ticks: int) -> tuple[float, float]:
    """CPU seconds per tick of bench/floor.py's reads, paced at -s 0.01 in this process, and of its whole loop."""
    proc = psutil.Process(pid)
    proc.cpu_percent()
    total = 0.0
    start = time.monotonic()
    loop_started = time.thread_time()
    for k in range(1, ticks + 1):
        time.sleep(max(start + k * INTERVAL_S - time.monotonic(), 0.0))
        started = time.thread_time()
        with proc.oneshot():
            reported_calls(proc)
        total += time.thread_time() - started
    cost = clock_read_cost_s()
    return total / ticks - 2 * cost, (time.thread_time() - loop_started) / ticks - 2 * cost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=700)
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        print("bench/tick_profile.py runs on Linux only")
        return 1
    name = f"prof-{os.getpid()}"[:15]
    workload: subprocess.Popen[bytes] = start_workload(name, "--seconds", "3600")
    try:
        with tempfile.TemporaryDirectory() as folder:
            floors = [profile_floor(workload.pid, args.ticks)]
            phases, whole_s = profile_monitor(workload.pid, args.ticks, Path(folder))
            floors.append(profile_floor(workload.pid, args.ticks))
    finally:
        stop_workload(workload)
    tick_s = phases.pop("whole tick")
    reads_s = phases.pop("reads (read_process)")
    sinks = {name: phases.pop(name) for name in SINK_NAMES if name in phases}
    rows = [("reads (read_process)", reads_s), *phases.items()]
    rest_s = tick_s - reads_s - sum(phases.values()) - sum(sinks.values())
    rows.append(("rest of the tick (bookkeeping, the sample)", rest_s))
    rows += [(f"sink {name}.add", seconds) for name, seconds in sinks.items()]
    rows.append(("the clock and its sleep, outside the tick", whole_s - tick_s))
    print(f"| phase (mean of {args.ticks} ticks at -s 0.01) | CPU per tick |")
    print("| --- | ---: |")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1e6:.1f} us |")
    print(f"| **the monitor, whole run per tick** | **{whole_s * 1e6:.1f} us** |")
    read_s = sum(read for read, _ in floors) / len(floors)
    loop_s = sum(loop for _, loop in floors) / len(floors)
    print(f"| bare psutil read (bench/floor.py's calls), paced the same | {read_s * 1e6:.1f} us |")
    print(f"| **bare psutil loop, whole run per tick (the read, the grid, the sleep)** | **{loop_s * 1e6:.1f} us** |")
    print(f"| the monitor beyond the bare loop | {(whole_s - loop_s) * 1e6:.1f} us ({whole_s / loop_s:.2f}x) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
