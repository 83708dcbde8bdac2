"""Where one tick of the exporter goes, part by part, beside a bare psutil pass over the same processes.

    python bench/exporter_breakdown.py                  # 200 and 1,000 processes, 10 ticks each: about a minute
    python bench/exporter_breakdown.py --instances 1000 --ticks 20

N sleeping processes of one name (bench/many_processes.py) are sampled in this process by the same
parts `main.py --serve` wires together (the name finder, the session, the run facts, the exporter's
sink), one tick every 0.7 s, each tick after a bare pass over the same processes reading what
/metrics serves (bench/exporter_cost.py's read). The CPU time of each part is taken with
time.process_time() around it: no profiler inflates the Python parts. The HTTP server and the clock
are not in a tick: bench/exporter_cost.py measures the whole process.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import psutil
from prometheus_client.exposition import generate_latest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.exporter_cost import read_served  # noqa: E402
from bench.many_processes import fleet  # noqa: E402
from monitor.output.exporter import ExporterSink, registry_for  # noqa: E402
from monitor.output.facts import RunFacts  # noqa: E402
from monitor.output.log import LogSink  # noqa: E402
from monitor.sampling import finders, session, targets, tree_cpu  # noqa: E402

PACE_S = 0.7
PARTS = (
    ("reading the processes (psutil's calls and the reading around them)", session, "read_process"),
    ("finding new processes and renames", targets.TargetSet, "refresh_as_of"),
    ("each reading's CPU account", session.Session, "_accounts"),
    ("the CPU of each tree", tree_cpu.TreeCpu, "advance"),
    ("the run facts (running means, the README rule)", RunFacts, "add"),
    ("the exporter's sums, counters and verdicts", ExporterSink, "add"),
)


def timed(owner: Any, attribute: str, spent: dict[str, float], label: str) -> None:
    """Wrap owner.attribute so that the CPU time of every call is added to spent[label]."""
    original: Callable[..., Any] = getattr(owner, attribute)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - started

    setattr(owner, attribute, wrapper)


def breakdown(count: int, ticks: int) -> dict[str, float]:
    """Median CPU milliseconds per tick of each part, of the whole tick, of a bare pass and of a scrape."""
    name = f"bd-{uuid.uuid4().hex[:8]}"
    rows: dict[str, list[float]] = {}
    with fleet(name, count) as pids:
        labelled = finders.LabelledFinders({name: finders.NameFinder(name, exclude={os.getpid()})})
        watched = targets.TargetSet(labelled)
        exporter = ExporterSink(lambda pid, _name: name, 3600, 1.0, labels=(name,))
        run = session.Session(watched, keep_running=True)
        exporter.start(run.start())
        facts = RunFacts(per_process_rule=False)  # as main.py --serve builds them
        log = logging.getLogger("exporter_breakdown")
        log.addHandler(logging.NullHandler())
        run._sinks = [facts, exporter, LogSink(log, facts, every_sample=False)]  # as Session.run sets them
        registry = registry_for(exporter)
        bare = [psutil.Process(pid) for pid in pids]
        spent: dict[str, float] = {}
        for label, owner, attribute in PARTS:
            timed(owner, attribute, spent, label)
        for index in range(1, ticks + 1):
            time.sleep(PACE_S)
            started = time.process_time()
            for proc in bare:
                read_served(proc)
            rows.setdefault("bare psutil pass", []).append(time.process_time() - started)
            time.sleep(PACE_S)
            spent.clear()
            started = time.process_time()
            run._tick(index)
            rows.setdefault("the whole tick", []).append(time.process_time() - started)
            for label, _, _ in PARTS:
                rows.setdefault(label, []).append(spent.get(label, 0.0))
            started = time.process_time()
            generate_latest(registry)
            rows.setdefault("a scrape's exposition (generate_latest)", []).append(time.process_time() - started)
    return {label: statistics.median(values) * 1000 for label, values in rows.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="200,1000", help="fleet sizes, comma-separated (default 200,1000)")
    parser.add_argument("--ticks", type=int, default=10, help="ticks per fleet (default 10)")
    args = parser.parse_args()
    if not sys.platform.startswith("linux"):
        print("bench/exporter_breakdown.py runs on Linux only")
        return 1
    counts = [int(part) for part in args.instances.split(",")]
    results = {count: breakdown(count, args.ticks) for count in counts}
    labels = list(next(iter(results.values())))
    width = max(len(label) for label in labels)
    print(f"{'CPU ms, median of ' + str(args.ticks) + ' ticks':<{width}}  " + "  ".join(f"{c:>8,}" for c in counts))
    for label in labels:
        print(f"{label:<{width}}  " + "  ".join(f"{results[count][label]:8.2f}" for count in counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
