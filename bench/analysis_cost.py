"""The cost of the end-of-run analysis on a long report, as a ratio to reading the same file with pandas.

    python bench/analysis_cost.py [--samples 1000000]

Writes a report of N samples (a slow leak under noise, a GC sawtooth on top, a few descriptors),
then, one after the other on the same file:
  - `pandas.read_csv` alone, in a child process, timing only the call;
  - `main.py --analyze REPORT --json --plot`, the whole command, interpreter start included.
Prints both times, their ratio and the analysis' peak RSS, and exits 1 when a target is missed:
at most 15x the read_csv time, and under 1 GiB of peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import recorded  # noqa: E402

MAX_RATIO = 15.0
MAX_RSS_MIB = 1024.0
READ_ONLY = (
    "import sys, time, pandas; t = time.perf_counter(); pandas.read_csv(sys.argv[1]); print(time.perf_counter() - t)"
)


def write_report(path: Path, samples: int, seed: int = 0) -> None:
    """A report in the monitor's columns: one sample a second, a leak of 1 MiB/h under a GC sawtooth."""
    rng = np.random.default_rng(seed)
    elapsed = np.arange(samples, dtype=float)
    start = pd.Timestamp("2026-01-01T00:00:00+00:00")
    stamps = (start + pd.to_timedelta(elapsed, unit="s")).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")
    sawtooth = (elapsed % 600) * 40_000
    memory = 200 * 2**20 + elapsed * (2**20 / 3600) + sawtooth + rng.normal(0, 200_000, samples)
    frame = pd.DataFrame(
        {
            "timestamp": stamps,
            "cpu_percent": np.round(rng.gamma(2.0, 3.0, samples), 2),
            "private_memory": np.round(memory).astype(np.int64),
            "handles_fds": 40 + rng.integers(-2, 3, samples),
            "process_count": 1,
            "elapsed_s": elapsed,
        }
    )
    frame.to_csv(path, index=False)


def run_child(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        raise SystemExit(f"{command[:3]} failed with {proc.returncode}: {err.decode()}")
    return wall, usage.ru_maxrss / 1024, out.decode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "long.csv"
        write_report(report, args.samples)
        size_mib = report.stat().st_size / 2**20
        _, _, read_out = run_child([sys.executable, "-c", READ_ONLY, str(report)])
        read_s = float(read_out.strip())
        command = [sys.executable, str(ROOT / "main.py"), "--analyze", str(report), "--json", "--plot"]
        analyze_s, rss_mib, out = run_child(command)
        verdict = json.loads(out)["leak"]["private_memory"]["verdict"]
        chart = report.with_suffix(".png").exists()
    ratio = analyze_s / read_s
    checks = [
        (
            f"--analyze --json --plot <= {MAX_RATIO:g}x pandas.read_csv",
            f"{analyze_s:.2f} s vs {read_s:.2f} s, ratio {ratio:.1f}",
            ratio <= MAX_RATIO,
        ),
        (f"peak RSS of the analysis < {MAX_RSS_MIB:.0f} MiB", f"{rss_mib:.0f} MiB", rss_mib < MAX_RSS_MIB),
        (
            "the chart was written and the slow leak found",
            f"chart {'written' if chart else 'missing'}, verdict {verdict}",
            chart and verdict == "leak",
        ),
    ]
    print(f"{args.samples} samples, {size_mib:.0f} MiB of CSV")
    for name, figure, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name:<48} {figure}")
    return 0 if all(passed for _, _, passed in checks) else 1


if __name__ == "__main__":
    with recorded("analysis_cost"):
        status = main()
    sys.exit(status)
