"""The exporter's sink over a simulated day: the cost of a tick with the verdict window full, and flat memory.

    python bench/exporter_day.py                     # about 5 minutes
    python bench/exporter_day.py --ticks 200000      # a quicker look

ExporterSink is fed synthetic samples of 5 processes whose memory and descriptors grow slowly, one
second apart, a 3,600-sample window, a scrape (`ExporterCollector.collect()`) every 15 ticks. First
the cost of a tick at -s 1 with the window full, against a tenth of the interval; then RSS at a
tenth, half and all of the ticks. Analysing a full window costs a few ms, so a million ticks at the
pace of -s 1 would take days: the long run tells the sink a sampling interval of 1 ms instead
(verdicts refreshed every few hundred ticks, same window and buffers), and runs fewer ticks if its
measured throughput would not finish within --budget seconds.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.perf import Check, print_checks
from monitor.analysis.trend import load_statistics
from monitor.metrics import COUNTER_NAMES, CPU, HANDLES, MEMORY, METRICS, RESIDENT, THREADS
from monitor.output.exporter import ExporterCollector, ExporterSink
from monitor.stream import ProcessReading, Sample

WINDOW = 3600
INTERVAL_S = 1.0
SCRAPE_EVERY = 15
DAY_PROCESSES = 5
# The sampling interval the long run tells the sink, so that verdicts are refreshed every few hundred ticks.
FAST_CADENCE_S = 0.001
FULL_WINDOW_TICKS = 200


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
    """A sink labelling every process `app`, with the one-hour window, and its collector."""
    sink = ExporterSink(lambda pid, name: name, WINDOW * interval_s, interval_s, labels=("app",))
    return sink, ExporterCollector(sink)


def full_window_tick_s() -> float:
    """CPU seconds of one tick through the sink at -s 1 with the window full (analysis included)."""
    load_statistics()  # as the exporter does before its first tick: the import is not a tick's cost
    # The window is filled at the fast cadence, then the same sink's verdicts are refreshed as -s 1 would.
    sink, collector = new_sink(INTERVAL_S)
    sink.add(day_sample(1))
    for (_, column), windowed in sink.windows().items():
        index = METRICS.index(column)
        for tick in range(2, WINDOW + 1):
            sample = day_sample(tick)
            windowed.window.add(sample.elapsed_s, sum(reading.values[index] or 0.0 for reading in sample.readings))
    started = time.process_time()
    feed(sink, collector, WINDOW + 1, WINDOW + FULL_WINDOW_TICKS)
    return (time.process_time() - started) / FULL_WINDOW_TICKS


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
        rss_at[mark] = int(psutil.Process().memory_info().rss)
    return ticks, rss_at, (time.perf_counter() - started) / ticks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000, help="ticks of the simulated day (default 1M)")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds the simulated day may take (300)")
    args = parser.parse_args()
    started = time.monotonic()
    checks: list[Check] = []
    full_window_s = full_window_tick_s()
    tenth_ms = INTERVAL_S / 10 * 1000
    checks.append(
        Check(
            f"-s 1, {WINDOW}-sample window full: sink + verdicts per tick <= a tenth of the interval",
            f"{full_window_s * 1000:.2f} ms per tick (CPU, mean of {FULL_WINDOW_TICKS}), budget {tenth_ms:.0f} ms",
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
