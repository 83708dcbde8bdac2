"""What several sinks need of each sample, computed once per tick, ahead of them.

The report row, the running means, the README rule on the totals and on each process, and the
values a process did not give: the console, the log, the CSVs and the frame read them here instead
of each keeping a copy (which could disagree, as two copies of the rule once did on a gap).
"""

from __future__ import annotations

from typing import Any

from monitor.analysis.running import HeuristicResult, RunningHeuristic, RunningMeans
from monitor.metrics import HEURISTIC_METRIC, METRICS
from monitor.output.csv_report import report_row
from monitor.stream import Sample, Sink

_HEURISTIC_INDEX = METRICS.index(HEURISTIC_METRIC)


class RunFacts(Sink):
    """The facts of the latest sample and of the run so far; put it first among the sinks that read it."""

    def __init__(self, per_process_rule: bool = True) -> None:
        self.row: tuple[Any, ...] = ()  # the report row of the latest sample, as the CSV writes it
        self.samples = 0
        self.rule = RunningHeuristic().result()  # the README rule on the totals so far
        self.rule_first_holds = False  # the rule holds since this sample, for the first time
        # Metrics a process did not give (refused, or not reported by this OS) since this sample, first
        # time for that metric: (pid, name, columns).
        self.newly_missing: list[tuple[int, str, list[str]]] = []
        # metric column -> PIDs that did not give it, with names
        self.missing: dict[str, dict[int, str]] = {}
        self._means = RunningMeans(METRICS)
        self._rule = RunningHeuristic()
        self._per_process: dict[int, tuple[str, RunningHeuristic]] = {}
        self._rule_held = False
        # The rule on each process serves the end of a run's summary; the exporter, which has none, asks not to.
        self._per_process_rule = per_process_rule

    def add(self, sample: Sample) -> None:
        """Take the sample's facts."""
        self.samples += 1
        self.row = report_row(sample)
        totals = sample.totals
        self._means.add(totals)
        self.rule = self._rule.add(totals[_HEURISTIC_INDEX])
        if self._rule_held:
            self.rule_first_holds = False
        else:
            self.rule_first_holds = self._rule_held = self.rule.leak
        if self.newly_missing:
            self.newly_missing = []
        per_process = self._per_process if self._per_process_rule else None
        for reading in sample.readings:
            values = reading.values
            if per_process is not None:
                entry = per_process.get(reading.pid)
                if entry is None:
                    entry = per_process[reading.pid] = (reading.name, RunningHeuristic())
                entry[1].add(values[_HEURISTIC_INDEX])
            if None in values:
                self._note_missing(reading.pid, reading.name, values)

    def mean(self, index: int) -> float | None:
        """The running mean of the metric at `index` in the table: 0.0 before any value, None for one never given."""
        return self._means.mean(index)

    @property
    def means(self) -> dict[str, float | None]:
        """The running mean of every metric, by column."""
        return self._means.means()

    def whole_run_verdicts(self) -> dict[int, tuple[str, HeuristicResult]]:
        """The README rule for each PID present in every sample, by PID (none when asked not to keep it)."""
        verdicts = {}
        for pid, (name, running) in sorted(self._per_process.items()):
            result = running.result()
            if result.samples == self.samples:
                verdicts[pid] = (name, result)
        return verdicts

    def _note_missing(self, pid: int, name: str, values: tuple[float | None, ...]) -> None:
        new = []
        for column, value in zip(METRICS, values):
            if value is None:
                pids = self.missing.setdefault(column, {})
                if not pids:
                    new.append(column)
                pids[pid] = name
        if new:
            self.newly_missing.append((pid, name, new))
