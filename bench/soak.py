"""Drive the monitor's real per-sample path as fast as it goes, and report its CPU cost per window.

    python bench/soak.py --pid PID --samples 100000 --checkpoints 1000,11000,90000,100000

The session and sinks (frame, CSV streams, log file, console) are the ones `main.py` builds; the clock
runs with a 0.1 ms interval so that it fires back to back, skipping the ticks it cannot honour. Then
the end of the run: analysis, summary, JSON and chart. Prints one JSON object: CPU seconds at each
checkpoint, the seconds the end of the run took, and the peak RSS of this process when sampling ended
and after the end of the run.
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

from monitor.analysis.summary import analyze
from monitor.cli.pipeline import open_run
from monitor.output.chart import write_chart
from monitor.output.console import Console, ConsoleSink
from monitor.output.files import DETAIL_SUFFIX, LOG_SUFFIX, REPORT_SUFFIX
from monitor.output.frame import FrameSink
from monitor.output.summary_json import summary_document, write_json
from monitor.output.summary_text import Summary, format_summary
from monitor.sampling import finders, targets
from monitor.sampling.limits import headroom
from monitor.sampling.session import Session
from monitor.stream import Sample, Sink


class Checkpoints(Sink):
    """Notes the CPU time of this process at given sample counts, and asks the run to end after the last."""

    def __init__(self, at: set[int], samples: int) -> None:
        self._at = at
        self._samples = samples
        self._taken = 0
        self.cpu_at: dict[int, float] = {}
        self.signum = None

    def add(self, sample: Sample) -> None:
        """Count the sample; note the CPU time at a checkpoint."""
        self._taken += 1
        if self._taken in self._at:
            self.cpu_at[self._taken] = time.process_time()

    @property
    def requested(self) -> bool:
        """True once every sample was taken."""
        return self._taken >= self._samples

    def sleep(self, seconds: float) -> None:
        """Wait as the monitor does between ticks."""
        time.sleep(seconds)


def soak(pid: int, samples: int, checkpoints: list[int], folder: Path) -> dict[str, object]:
    """Run `samples` ticks against `pid`, then the end of the run; CPU seconds per checkpoint, end time, peak RSS."""
    checkpoints_sink = Checkpoints(set(checkpoints), samples)
    session = Session(targets.TargetSet(finders.by_pid(pid)))
    places = {REPORT_SUFFIX: folder, DETAIL_SUFFIX: folder, LOG_SUFFIX: folder}
    with open_run(session, "soak", places) as pipeline, open(os.devnull, "w") as devnull:
        frame = pipeline.add(FrameSink(pipeline.facts))
        pipeline.write_reports()
        pipeline.log_samples(every_sample=True)
        pipeline.add(ConsoleSink(Console(devnull), pipeline.facts, 0.0001, samples * 0.0001, samples))
        pipeline.add(checkpoints_sink)
        pipeline.start()
        # A 0.1 ms interval fires back to back; ticks it cannot honour are skipped, so many more are planned
        # than needed: the checkpoints end the run at its last sample.
        pipeline.run(0.0001, 1000 * samples, checkpoints_sink)
        pipeline.close()
        cpu_at = checkpoints_sink.cpu_at
        sampling_peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # The end of a run as main.py does it: analysis, summary, JSON and chart.
        ended = time.perf_counter()
        table = frame.frame()
        analysis = analyze(table, headroom([]))
        for line in format_summary(Summary("soak", analysis)):
            pipeline.log.info(line)
        write_json(folder / "soak.json", summary_document(pipeline.paths[REPORT_SUFFIX], analysis))
        write_chart(table, analysis, "soak", folder / "soak.png")
        end_s = time.perf_counter() - ended
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "cpu_s_at": {str(k): v for k, v in sorted(cpu_at.items())},
        "end_of_run_s": end_s,
        "sampling_peak_rss_mib": sampling_peak_kib / 1024,
        "peak_rss_mib": peak_kib / 1024,
    }


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
