"""Drive the monitor's real per-sample path as fast as it goes, and report its CPU cost per window.

    python bench/soak.py --pid PID --samples 100000 --checkpoints 1000,11000,90000,100000

The session, CSV streams, log file and console are the ones `main.py` builds; the clock runs with a
0.1 ms interval so that it fires back to back, skipping the ticks it cannot honour. Prints one JSON
object: CPU seconds at each checkpoint and the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor import targets
from monitor.clock import TickClock
from monitor.columns import DETAIL_COLUMNS, REPORT_COLUMNS
from monitor.console import Console
from monitor.recorder import CsvStream
from monitor.run import run_log
from monitor.session import Session


def soak(pid: int, samples: int, checkpoints: list[int], folder: Path) -> dict[str, object]:
    """Run `samples` ticks against `pid` and return CPU seconds at each checkpoint and the peak RSS."""
    report_path, detail_path, log_path = (folder / name for name in ("soak.csv", "soak_processes.csv", "soak.log"))
    for path in (report_path, detail_path):
        path.touch()
    cpu_at: dict[int, float] = {}
    with run_log(log_path) as log, open(os.devnull, "w") as sink:
        report = CsvStream(report_path, REPORT_COLUMNS)
        detail = CsvStream(detail_path, DETAIL_COLUMNS)
        session = Session(targets.TargetSet(targets.by_pid(pid)), report, detail, log, Console(sink))
        session.start()
        wanted = set(checkpoints)

        def tick(index: int) -> bool:
            going = session._tick(index)
            if session.frame.rows in wanted:
                cpu_at[session.frame.rows] = time.process_time()
            return going and session.frame.rows < samples

        TickClock(0.0001, 10 * samples, tick).run()
        report.close()
        detail.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"cpu_s_at": {str(k): v for k, v in sorted(cpu_at.items())}, "peak_rss_mib": peak_kib / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--checkpoints", default="1000,11000,90000,100000")
    args = parser.parse_args()
    checkpoints = [int(part) for part in args.checkpoints.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(soak(args.pid, args.samples, checkpoints, Path(folder))))


if __name__ == "__main__":
    main()
