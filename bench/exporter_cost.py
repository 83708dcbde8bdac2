"""Measure the exporter mode (--serve) beside Debian's prometheus-process-exporter, and its memory over a simulated day.

    apt-get install -y prometheus-process-exporter    # the comparison; only its binary is run, never the service
    python bench/exporter_cost.py                       # about 4 minutes on 2 cores
    python bench/exporter_cost.py --instances 200 --seconds 20 --ticks 200000    # a quicker look

Needs Linux, the monitor's requirements and `prometheus-process-exporter` on PATH (or --process-exporter).

1. CPU per sample: N sleeping processes of one name (bench/many_processes.py), watched for the same wall
   time by `main.py --serve -s 1` and by process-exporter (`-procnames NAME`, default options), both
   scraped once a second over HTTP. Each one's CPU seconds (user + system, from psutil) are read before
   and after, once ours has taken its first verdicts (which import scipy.stats, a one-off second); ours
   per sample (the sample and its scrape) is divided by theirs per scrape. A bare psutil loop reading
   every served metric of the same N, once a second, is the floor under any psutil-based exporter:
   ours is also divided by it (what the monitor adds). A 30-second run fills little of the one-hour
   verdict window, so another line adds what a tick with a full window costs (step 2).
2. A simulated day: ExporterSink fed synthetic samples of 5 processes whose memory and descriptors grow
   slowly, one second apart, a 3,600-sample window, a scrape (`ExporterCollector.collect()`) every 15
   ticks. First the cost of a tick at -s 1 with the window full, against a tenth of the interval; then
   RSS at a tenth, half and all of the ticks. Analysing a full window costs a few ms, so a million
   ticks at the pace of -s 1 would take days: the long run tells the sink a sampling
   interval of 1 ms instead (verdicts refreshed every few hundred ticks, same window and buffers), and
   runs fewer ticks if its measured throughput would not finish within --budget seconds.

Prints one PASS/FAIL line per target and exits 1 when a target is missed. Figures are from one run on
a shared machine: expect some noise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.many_processes import fleet  # noqa: E402
from bench.perf import Check, print_checks  # noqa: E402
from bench.psutil_floor import everything_served  # noqa: E402
from monitor.analysis.trend import MIN_SAMPLES, load_statistics  # noqa: E402
from monitor.metrics import COUNTER_NAMES, CPU, HANDLES, MEMORY, METRICS, RESIDENT, THREADS  # noqa: E402
from monitor.output.exporter import ExporterCollector, ExporterSink  # noqa: E402
from monitor.stream import ProcessReading, Sample  # noqa: E402

PYTHON = sys.executable
TARGET_RATIO = 0.5
# What the monitor itself adds: a bare psutil loop reading the same metrics costs about 0.5x
# process-exporter already, so TARGET_RATIO is out of reach through psutil (docs/performance.md).
FLOOR_RATIO = 1.3
WINDOW = 3600
INTERVAL_S = 1.0
SCRAPE_EVERY = 15
DAY_PROCESSES = 5
# The sampling interval the long run tells the sink, so that verdicts are refreshed every few hundred ticks.
FAST_CADENCE_S = 0.001
FULL_WINDOW_TICKS = 200


@dataclass
class Exporter:
    """One running exporter: its process and where its metrics are served."""

    proc: subprocess.Popen[bytes]
    url: str

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the exporter used so far."""
        times = psutil.Process(self.proc.pid).cpu_times()
        return times.user + times.system


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def metric_value(text: str, prefix: str) -> float | None:
    """The value of the first exposition line starting with `prefix` (name and labels)."""
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_for(exporter: Exporter, prefix: str, expected: float, timeout_s: float = 60.0) -> None:
    """Wait until the exporter serves `expected` as the value of `prefix`."""
    deadline = time.monotonic() + timeout_s
    seen: float | None = None
    while time.monotonic() < deadline:
        if exporter.proc.poll() is not None:
            raise SystemExit(f"{exporter.proc.args!r} exited with status {exporter.proc.returncode}")
        with contextlib.suppress(OSError):
            seen = metric_value(scrape(exporter.url), prefix)
            if seen == expected:
                return
        time.sleep(0.2)
    raise SystemExit(f"{exporter.url} did not serve {prefix} {expected:g} within {timeout_s:g} s (last {seen})")


@contextlib.contextmanager
def running(command: list[str], url: str, output: Path) -> Iterator[Exporter]:
    """Run an exporter for the duration of the block, then end it with SIGTERM (SIGKILL after 5 s)."""
    with output.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield Exporter(proc, url)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def psutil_floor_s(pids: list[int], rounds: int) -> float:
    """CPU seconds of one bare psutil pass reading every served metric of every PID, one pass a second.

    Paced like the exporters (a pass, then a pause): a pass right after another runs on warm caches
    and costs less than one a second later, which is what a sampling loop pays.
    """
    procs = [psutil.Process(pid) for pid in pids]
    for proc in procs:
        everything_served(proc)
    spent = 0.0
    for _ in range(rounds):
        time.sleep(INTERVAL_S)
        started = time.process_time()
        for proc in procs:
            everything_served(proc)
        spent += time.process_time() - started
    return spent / rounds


@dataclass
class FleetCost:
    """CPU per sample of both exporters over one fleet."""

    count: int
    ours_s: float
    samples: int
    theirs_s: float
    scrapes: int
    floor_s: float


def measure_fleet(count: int, seconds: float, process_exporter: str, work: Path) -> FleetCost:
    """Both exporters over `count` processes of one name for `seconds`, each scraped once a second."""
    name = f"fx-{uuid.uuid4().hex[:8]}"
    ours_port, theirs_port = free_port(), free_port()
    ours_command = [PYTHON, str(ROOT / "main.py"), "--serve", f"127.0.0.1:{ours_port}", "-p", name, "-s", "1"]
    ours_command += ["-l", str(work / f"logs-{count}")]
    theirs_command = [process_exporter, "-procnames", name, "-web.listen-address", f"127.0.0.1:{theirs_port}"]
    with fleet(name, count) as pids:
        floor_s = psutil_floor_s(pids, 5)
        with contextlib.ExitStack() as stack:
            ours = stack.enter_context(
                running(ours_command, f"http://127.0.0.1:{ours_port}/metrics", work / "ours.out")
            )
            theirs_url = f"http://127.0.0.1:{theirs_port}/metrics"
            theirs = stack.enter_context(running(theirs_command, theirs_url, work / "theirs.out"))
            wait_for(ours, f'procmon_processes{{name="{name}"}}', count)
            wait_for(theirs, f'namedprocess_namegroup_num_procs{{groupname="{name}"}}', count)
            # Settle before counting: the first verdicts (at MIN_SAMPLES) import scipy.stats, a one-off second.
            samples_key = "procmon_sample_duration_seconds_count"
            while (metric_value(scrape(ours.url), samples_key) or 0.0) < MIN_SAMPLES + 2:
                time.sleep(INTERVAL_S)
                scrape(theirs.url)
            samples_before = metric_value(scrape(ours.url), samples_key) or 0.0
            ours_before, theirs_before = ours.cpu_s(), theirs.cpu_s()
            started = time.monotonic()
            scrapes = 0
            while (elapsed := time.monotonic() - started) < seconds:
                time.sleep(max(0.0, scrapes * INTERVAL_S - elapsed))
                scrape(theirs.url)
                scrapes += 1
                # The last of ours is the one that counts the samples, read just before its CPU.
                if scrapes < seconds / INTERVAL_S:
                    scrape(ours.url)
            samples_after = metric_value(scrape(ours.url), samples_key) or 0.0
            ours_after, theirs_after = ours.cpu_s(), theirs.cpu_s()
    return FleetCost(
        count,
        ours_after - ours_before,
        int(samples_after - samples_before),
        theirs_after - theirs_before,
        scrapes,
        floor_s,
    )


def day_sample(tick: int) -> Sample:
    """Tick `tick` of the simulated day: 5 processes whose memory grows 1 KiB per tick and descriptors slowly."""
    readings = []
    for k in range(DAY_PROCESSES):
        values: list[float | None] = [None] * len(METRICS)
        values[METRICS.index(CPU)] = 1.0 + (tick + k) % 3
        values[METRICS.index(MEMORY)] = 50e6 + 1024.0 * tick + 4096.0 * ((tick * 7 + k) % 5)
        values[METRICS.index(HANDLES)] = 20.0 + k + tick // 7200
        values[METRICS.index(RESIDENT)] = 80e6 + 1024.0 * tick
        values[METRICS.index(THREADS)] = 4.0
        counters = tuple(float(tick * (k + 1) * (i + 1)) for i in range(len(COUNTER_NAMES)))
        readings.append(ProcessReading(1000 + k, "app", tuple(values), counters, float(tick)))
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=tick)
    return Sample(tick, now, tick * INTERVAL_S, tuple(readings), (), 0.002)


def feed(sink: ExporterSink, collector: ExporterCollector, first: int, last: int) -> None:
    """Ticks `first` to `last` through the sink, scraped every SCRAPE_EVERY ticks."""
    for tick in range(first, last + 1):
        sink.add(day_sample(tick))
        if tick % SCRAPE_EVERY == 0:
            for _ in collector.collect():
                pass


def new_sink(interval_s: float) -> tuple[ExporterSink, ExporterCollector]:
    sink = ExporterSink(lambda pid, name: name, WINDOW, interval_s, labels=("app",))
    return sink, ExporterCollector(sink)


def full_window_tick_s() -> float:
    """CPU seconds of one tick through the sink at -s 1 with the window full (analysis included)."""
    load_statistics()  # as the exporter does before its first tick: the import is not a tick's cost
    # The window is filled at the fast cadence, then the same sink's verdicts are refreshed as -s 1 would.
    sink, collector = new_sink(INTERVAL_S)
    sink.add(day_sample(1))
    for (_, column), windowed in sink._windows.items():
        index = METRICS.index(column)
        for tick in range(2, WINDOW + 1):
            sample = day_sample(tick)
            windowed.window.add(sample.elapsed_s, sum(reading.values[index] or 0.0 for reading in sample.readings))
    started = time.process_time()
    feed(sink, collector, WINDOW + 1, WINDOW + FULL_WINDOW_TICKS)
    return (time.process_time() - started) / FULL_WINDOW_TICKS


def rss_bytes() -> int:
    return int(psutil.Process().memory_info().rss)


def simulate_day(ticks: int, budget_s: float) -> tuple[int, dict[int, int], float]:
    """Run up to `ticks` ticks at the fast cadence; (ticks run, RSS at a tenth, half and all, seconds per tick)."""
    sink, collector = new_sink(FAST_CADENCE_S)
    probe = min(20_000, ticks)
    started = time.perf_counter()
    feed(sink, collector, 1, probe)
    per_tick_s = (time.perf_counter() - started) / probe
    if per_tick_s * ticks > budget_s:
        ticks = max(probe * 5, int(budget_s / per_tick_s) // 10_000 * 10_000)
    marks = sorted({ticks // 10, ticks // 2, ticks})
    rss_at: dict[int, int] = {}
    done = probe
    for mark in marks:
        if mark > done:
            feed(sink, collector, done + 1, mark)
            done = mark
        rss_at[mark] = rss_bytes()
    return ticks, rss_at, (time.perf_counter() - started) / ticks


def _ratio(ours: float, reference: float) -> float:
    return ours / reference if reference > 0 else float("inf")


def check_fleet(checks: list[Check], cost: FleetCost, full_window_s: float) -> None:
    ours_ms = cost.ours_s / max(cost.samples, 1) * 1000
    theirs_ms = cost.theirs_s / max(cost.scrapes, 1) * 1000
    ratio = _ratio(ours_ms, theirs_ms)
    checks.append(
        Check(
            f"{cost.count} instances: CPU per sample + scrape <= {TARGET_RATIO}x process-exporter's per scrape",
            f"ours {ours_ms:.1f} ms ({cost.samples} samples), process-exporter {theirs_ms:.1f} ms "
            f"({cost.scrapes} scrapes), ratio {ratio:.2f}; bare psutil loop {cost.floor_s * 1000:.1f} ms "
            f"({_ratio(cost.floor_s * 1000, theirs_ms):.2f}x theirs)",
            ratio <= TARGET_RATIO,
        )
    )
    floor_ms = cost.floor_s * 1000
    over_floor = _ratio(ours_ms, floor_ms)
    checks.append(
        Check(
            f"{cost.count} instances: CPU per sample + scrape <= {FLOOR_RATIO}x a bare psutil loop at the same pace",
            f"ours {ours_ms:.1f} ms, bare psutil loop {floor_ms:.1f} ms, ratio {over_floor:.2f}",
            over_floor <= FLOOR_RATIO,
        )
    )
    steady_ms = ours_ms + full_window_s * 1000
    steady = _ratio(steady_ms, theirs_ms)
    checks.append(
        Check(
            f"{cost.count} instances, one-hour window full: the same <= {TARGET_RATIO}x",
            f"ours {ours_ms:.1f} + {full_window_s * 1000:.1f} ms analysis = {steady_ms:.1f} ms, ratio {steady:.2f}",
            steady <= TARGET_RATIO,
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="200,1000", help="fleet sizes, comma-separated (default 200,1000)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured wall time per fleet (default 30)")
    parser.add_argument("--ticks", type=int, default=1_000_000, help="ticks of the simulated day (default 1M)")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds the simulated day may take (300)")
    parser.add_argument("--process-exporter", default="prometheus-process-exporter", help="its binary")
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        print("bench/exporter_cost.py runs on Linux only")
        return 1
    process_exporter = shutil.which(args.process_exporter)
    if process_exporter is None:
        print(f"{args.process_exporter} not found: apt-get install -y prometheus-process-exporter")
        return 1
    checks: list[Check] = []
    started = time.monotonic()
    full_window_s = full_window_tick_s()
    costs = []
    with tempfile.TemporaryDirectory() as folder:
        for count in (int(part) for part in args.instances.split(",")):
            costs.append(measure_fleet(count, args.seconds, process_exporter, Path(folder)))
    for cost in costs:
        check_fleet(checks, cost, full_window_s)
    tenth_ms = INTERVAL_S / 10 * 1000
    checks.append(
        Check(
            f"-s 1, {WINDOW}-sample window full: sink + verdicts per tick <= a tenth of the interval",
            f"{full_window_s * 1000:.1f} ms per tick (CPU, mean of {FULL_WINDOW_TICKS}), budget {tenth_ms:.0f} ms",
            full_window_s * 1000 <= tenth_ms,
        )
    )
    ticks, rss_at, per_tick_s = simulate_day(args.ticks, args.budget)
    marks = sorted(rss_at)
    first, last = rss_at[marks[0]], rss_at[marks[-1]]
    lowered = "" if ticks == args.ticks else f" (lowered from {args.ticks:,} to fit {args.budget:g} s)"
    shown = ", ".join(f"{rss_at[mark] / 2**20:.1f} MiB at {mark:,}" for mark in marks)
    checks.append(
        Check(
            f"RSS flat over {ticks:,} ticks{lowered}: last <= 1.1x the one at {marks[0]:,}",
            f"{shown}; ratio {last / first:.3f}; {per_tick_s * 1e6:.0f} us per tick, verdicts every few hundred",
            last <= 1.1 * first,
        )
    )
    return print_checks(checks, started)


if __name__ == "__main__":
    sys.exit(main())
