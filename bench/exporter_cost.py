"""CPU of the exporter mode (--serve -s 1) beside Debian's prometheus-process-exporter and a bare psutil loop.

    apt-get install -y prometheus-process-exporter    # the comparison; only its binary is run, never the service
    python bench/exporter_cost.py                       # 200 and 1,000 instances, 3 rounds of 20 s: about 7 minutes
    python bench/exporter_cost.py --instances 200 --rounds 5 --seconds 10
    python bench/exporter_cost.py --profile 1000        # where the exporter's time goes (cProfile), no comparison

Needs Linux, the monitor's requirements and `prometheus-process-exporter` on PATH (or --process-exporter).

N sleeping processes of one name (bench/many_processes.py) are watched, one contender at a time, in
rounds: `main.py --serve -s 1 -p NAME` scraped once a second; process-exporter (`-procnames NAME`,
default options), which reads on each scrape, scraped once a second; and a bare psutil loop (this
file run with --bare-loop) that reads, once a second, exactly what /metrics serves of each process:
status (a zombie is not counted), CPU times, memory_full_info (USS, RSS, swap), descriptors, threads,
I/O counters and context switches, one oneshot() per process. Each contender runs alone for
--seconds after it has settled (ours: serving every process and a few samples taken); its CPU
seconds (user + system, every thread) over that stretch, per wall second, is its cost. The order of
the three turns by one each round, so a drift of the shared machine falls on each in turn. The
ratios are taken within each round and their medians judged: ours at most 1.1x the loop and under
0.5x process-exporter's.

Writes the table to bench/results/exporter_cost.md and prints one PASS/FAIL line per target;
exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bare_reads import served_calls  # noqa: E402
from bench.many_processes import fleet  # noqa: E402
from bench.perf import Check, print_checks  # noqa: E402
from bench.results import save  # noqa: E402

PYTHON = sys.executable
INTERVAL_S = 1.0
LOOP_RATIO = 1.1  # ours over the bare loop
THEIRS_RATIO = 0.5  # ours over process-exporter
SETTLE_SAMPLES = 3  # ours: samples taken before the measured stretch starts
OURS, LOOP, THEIRS, BEFORE = "ours", "bare loop", "process-exporter", "before"


def read_served(proc: psutil.Process) -> None:
    """Every psutil call whose numbers /metrics serves, for one process (the bare loop's read)."""
    with proc.oneshot():
        served_calls(proc)


def bare_loop(pids: list[int]) -> None:
    """Read every served metric of `pids` once a second, on a drift-free grid, until SIGTERM."""
    procs = [psutil.Process(pid) for pid in pids]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started = time.monotonic()
    tick = 0
    while True:
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                read_served(proc)
        if tick == 0:
            print("ready", flush=True)
        tick += 1
        time.sleep(max(0.0, started + tick * INTERVAL_S - time.monotonic()))


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(url: str) -> str:
    """One GET of /metrics."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def metric_value(text: str, prefix: str) -> float | None:
    """The value of the first exposition line starting with `prefix` (name and labels)."""
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return None


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread) a process used so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


@contextlib.contextmanager
def running(command: list[str], log: Path, **kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    """Run a contender for the duration of the block, then end it with SIGTERM (SIGKILL after 5 s)."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stderr=sink, cwd=ROOT, **kwargs)  # type: ignore[call-overload]
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until(proc: subprocess.Popen[bytes], done: Callable[[], bool], what: str, timeout_s: float = 120.0) -> None:
    """Poll `done` every 0.2 s until it holds; SystemExit if the contender exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args!r} exited with status {proc.returncode} before {what}")
        with contextlib.suppress(OSError, ValueError):
            if done():
                return
        time.sleep(0.2)
    raise SystemExit(f"{what}: not within {timeout_s:g} s")


def measure(pid: int, seconds: float, url: str | None) -> float:
    """CPU seconds per wall second of `pid` over `seconds`, scraping `url` once a second meanwhile."""
    before, started = cpu_s(pid), time.monotonic()
    scrapes = 0
    while (elapsed := time.monotonic() - started) < seconds:
        time.sleep(max(0.0, scrapes * INTERVAL_S - elapsed))
        if url is not None:
            scrape(url)
        scrapes += 1
    return (cpu_s(pid) - before) / (time.monotonic() - started)


def run_ours(name: str, count: int, seconds: float, work: Path, tree: Path = ROOT) -> float:
    """The exporter (of this checkout, or of `tree`) watching the fleet, scraped once a second."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    command = [PYTHON, str(tree / "main.py"), "--serve", f"127.0.0.1:{port}", "-p", name, "-s", "1"]
    command += ["-l", str(work / "logs")]
    with running(command, work / "ours.err", stdout=subprocess.DEVNULL) as proc:
        wait_until(proc, lambda: metric_value(scrape(url), f'procmon_processes{{name="{name}"}}') == count, "serving")
        key = "procmon_sample_duration_seconds_count"
        wait_until(proc, lambda: (metric_value(scrape(url), key) or 0.0) >= SETTLE_SAMPLES, "first samples")
        return measure(proc.pid, seconds, url)


def run_theirs(binary: str, name: str, count: int, seconds: float, work: Path) -> float:
    """process-exporter watching the fleet, scraped once a second (it reads /proc on each scrape)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    command = [binary, "-procnames", name, "-web.listen-address", f"127.0.0.1:{port}"]
    with running(command, work / "theirs.err", stdout=subprocess.DEVNULL) as proc:
        prefix = f'namedprocess_namegroup_num_procs{{groupname="{name}"}}'
        wait_until(proc, lambda: metric_value(scrape(url), prefix) == count, "serving")
        return measure(proc.pid, seconds, url)


def run_loop(pids: list[int], seconds: float, work: Path) -> float:
    """The bare psutil loop over the fleet, once a second."""
    command = [PYTHON, str(Path(__file__).resolve()), "--bare-loop", ",".join(map(str, pids))]
    with running(command, work / "loop.err", stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise SystemExit(f"the bare loop did not start (see {work / 'loop.err'})")
        return measure(proc.pid, seconds, None)


@dataclass
class FleetResult:
    """CPU per second of each contender in each round, over one fleet size."""

    count: int
    rounds: list[dict[str, float]]

    def median(self, who: str) -> float:
        return statistics.median(r[who] for r in self.rounds)

    def ratios(self, top: str, bottom: str) -> list[float]:
        return [r[top] / r[bottom] if r[bottom] > 0 else float("inf") for r in self.rounds]


def measure_fleet(
    count: int, rounds: int, seconds: float, binary: str, work: Path, before: Path | None = None
) -> FleetResult:
    """Interleaved rounds of the contenders (with `before`, another checkout's exporter too) over one fleet."""
    name = f"fx-{uuid.uuid4().hex[:8]}"
    runs: dict[str, Callable[[list[int]], float]] = {
        OURS: lambda pids: run_ours(name, count, seconds, work),
        LOOP: lambda pids: run_loop(pids, seconds, work),
        THEIRS: lambda pids: run_theirs(binary, name, count, seconds, work),
    }
    if before is not None:
        runs[BEFORE] = lambda pids: run_ours(name, count, seconds, work, before)
    order = list(runs)
    result = FleetResult(count, [])
    with fleet(name, count) as pids:
        for index in range(rounds):
            turn = order[index % len(order) :] + order[: index % len(order)]
            costs = {who: runs[who](pids) for who in turn}
            result.rounds.append(costs)
            shown = ", ".join(f"{who} {costs[who] * 1000:.1f} ms/s" for who in order)
            print(f"{count} processes, round {index + 1}: {shown}", flush=True)
    return result


def table(results: list[FleetResult], rounds: int, seconds: float) -> str:
    """The markdown table of medians and per-round ratios."""
    lines = [
        f"| processes | ours ms/s | bare loop ms/s | {THEIRS} ms/s | ours / loop | ours / {THEIRS} "
        f"| loop / {THEIRS} | ours / loop by round |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    if any(BEFORE in result.rounds[0] for result in results):
        lines[0] += " before ms/s | before / loop |"
        lines[1] += " ---: | ---: |"
    for result in results:
        over_loop = result.ratios(OURS, LOOP)
        over_theirs = result.ratios(OURS, THEIRS)
        loop_theirs = result.ratios(LOOP, THEIRS)
        by_round = " ".join(f"{ratio:.2f}" for ratio in over_loop)
        lines.append(
            f"| {result.count:,} | {result.median(OURS) * 1000:.1f} | {result.median(LOOP) * 1000:.1f} "
            f"| {result.median(THEIRS) * 1000:.1f} | {statistics.median(over_loop):.2f} "
            f"| {statistics.median(over_theirs):.2f} | {statistics.median(loop_theirs):.2f} | {by_round} |"
        )
        if BEFORE in result.rounds[0]:
            before_loop = statistics.median(result.ratios(BEFORE, LOOP))
            lines[-1] += f" {result.median(BEFORE) * 1000:.1f} | {before_loop:.2f} |"
    lines.append("")
    lines.append(
        f"CPU (user + system) per wall second over {seconds:g} s, medians of {rounds} interleaved rounds; "
        "ratios taken within each round, then their median."
    )
    return "\n".join(lines)


def profile(count: int, seconds: float, work: Path) -> None:
    """Run ours under cProfile over a fleet for `seconds`, scraped once a second; print where a tick's time goes."""
    name = f"pf-{uuid.uuid4().hex[:8]}"
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    out = work / "ours.prof"
    command = [PYTHON, "-m", "cProfile", "-o", str(out), str(ROOT / "main.py"), "--serve", f"127.0.0.1:{port}"]
    command += ["-p", name, "-s", "1", "-l", str(work / "logs")]
    with fleet(name, count), running(command, work / "ours.err", stdout=subprocess.DEVNULL) as proc:
        wait_until(proc, lambda: metric_value(scrape(url), f'procmon_processes{{name="{name}"}}') == count, "serving")
        measure(proc.pid, seconds, url)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    stats = pstats.Stats(str(out))
    raw = stats.stats  # type: ignore[attr-defined]
    ticks = next((calls[0] for key, calls in raw.items() if key[2] == "_tick"), 1)

    def cumulative(file_part: str, function: str) -> float:
        return sum(v[3] for key, v in raw.items() if file_part in key[0] and key[2] == function)

    tick = cumulative("session.py", "_tick")
    parts = {
        "the whole tick": tick,
        "  read_process (the psutil reads and the reading)": cumulative("probes.py", "read_process"),
        "  targets.refresh (finding new processes)": cumulative("targets.py", "refresh"),
        "  TreeCpu.advance (CPU of each tree)": cumulative("tree_cpu.py", "advance"),
        "  RunFacts.add": cumulative("facts.py", "add"),
        "  ExporterSink.add": cumulative("exporter.py", "add"),
    }
    print(f"{count} processes, {ticks} ticks under cProfile (the HTTP thread is not profiled):")
    for label, spent in parts.items():
        print(f"{label:<52} {spent / ticks * 1000:7.2f} ms per tick  {spent / tick * 100 if tick else 0:5.1f}%")
    stats.sort_stats("tottime").print_stats(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="200,1000", help="fleet sizes, comma-separated (default 200,1000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per fleet (default 3)")
    # The kernel counts a process's CPU in 10 ms steps: over 20 s that is 0.5 ms per second at most.
    parser.add_argument("--seconds", type=float, default=20.0, help="measured wall time per contender and round")
    parser.add_argument("--process-exporter", default="prometheus-process-exporter", help="its binary")
    parser.add_argument("--profile", type=int, metavar="N", help="profile ours over N processes instead")
    parser.add_argument("--before", type=Path, help="another checkout (a folder holding main.py) in the same rounds")
    parser.add_argument("--bare-loop", metavar="PIDS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_loop:
        bare_loop([int(pid) for pid in args.bare_loop.split(",")])
        return 0
    if not sys.platform.startswith("linux"):
        print("bench/exporter_cost.py runs on Linux only")
        return 1
    with tempfile.TemporaryDirectory() as folder:
        if args.profile:
            profile(args.profile, max(args.seconds, 30.0), Path(folder))
            return 0
        binary = shutil.which(args.process_exporter)
        if binary is None:
            print(f"{args.process_exporter} not found: apt-get install -y prometheus-process-exporter")
            return 1
        started = time.monotonic()
        counts = [int(part) for part in args.instances.split(",")]
        results = [
            measure_fleet(count, args.rounds, args.seconds, binary, Path(folder), args.before) for count in counts
        ]
    body = table(results, args.rounds, args.seconds)
    print(f"\n{body}\n\nwritten to {save('exporter_cost', body)}\n")
    checks = []
    for result in results:
        over_loop = statistics.median(result.ratios(OURS, LOOP))
        over_theirs = statistics.median(result.ratios(OURS, THEIRS))
        checks.append(
            Check(
                f"{result.count} processes: ours <= {LOOP_RATIO}x the bare loop",
                f"median ratio {over_loop:.2f}",
                over_loop <= LOOP_RATIO,
            )
        )
        checks.append(
            Check(
                f"{result.count} processes: ours < {THEIRS_RATIO}x {THEIRS}",
                f"median ratio {over_theirs:.2f}",
                over_theirs < THEIRS_RATIO,
            )
        )
    return print_checks(checks, started)


if __name__ == "__main__":
    sys.exit(main())
