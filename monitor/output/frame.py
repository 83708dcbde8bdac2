"""The in-memory side of the stream: rows for pandas in chunks, and the README rule per process."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from monitor.analysis.running import HeuristicResult, RunningHeuristic
from monitor.metrics import HEURISTIC_METRIC, METRICS, REPORT_COLUMNS
from monitor.output.csv_report import report_row
from monitor.stream import Sample, Sink

_HEURISTIC_INDEX = METRICS.index(HEURISTIC_METRIC)


class FrameBuffer:
    """Collects rows as tuples and hands them to pandas a chunk at a time."""

    CHUNK_ROWS = 4096

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._pending: list[tuple[Any, ...]] = []
        self._chunks: list[pd.DataFrame] = []
        self.rows = 0

    def append(self, row: tuple[Any, ...]) -> None:
        """Add one row; a DataFrame is built only once per chunk."""
        self._pending.append(row)
        self.rows += 1
        if len(self._pending) >= self.CHUNK_ROWS:
            self._seal()

    def frame(self) -> pd.DataFrame:
        """Every row so far as one DataFrame."""
        self._seal()
        if not self._chunks:
            return pd.DataFrame(columns=self.columns)
        if len(self._chunks) > 1:
            self._chunks = [pd.concat(self._chunks, ignore_index=True)]
        return self._chunks[0]

    def _seal(self) -> None:
        if self._pending:
            self._chunks.append(pd.DataFrame.from_records(self._pending, columns=self.columns))
            self._pending = []


class FrameSink(Sink):
    """Keeps every report row for the end-of-run analysis, and the README rule for each process.

    The per-process rule is kept running, so the verdict for each instance present through the
    whole run costs O(1) per sample and nothing at the end.
    """

    def __init__(self) -> None:
        self.buffer = FrameBuffer(REPORT_COLUMNS)
        self._per_process: dict[int, tuple[str, RunningHeuristic]] = {}
        # metric column -> PIDs that did not give it (refused, or not reported by the OS), with names
        self.missing: dict[str, dict[int, str]] = {}

    def add(self, sample: Sample) -> None:
        """Keep the row and fold each process's value into its rule."""
        self.buffer.append(report_row(sample))
        for reading in sample.readings:
            entry = self._per_process.get(reading.pid)
            if entry is None:
                entry = self._per_process[reading.pid] = (reading.name, RunningHeuristic())
            entry[1].add(reading.values[_HEURISTIC_INDEX])
            if None in reading.values:
                for column, value in zip(METRICS, reading.values):
                    if value is None:
                        self.missing.setdefault(column, {})[reading.pid] = reading.name

    def frame(self) -> pd.DataFrame:
        """Every row so far as one DataFrame."""
        return self.buffer.frame()

    def whole_run_verdicts(self) -> dict[int, tuple[str, HeuristicResult]]:
        """The README rule for each PID present in every sample, by PID."""
        samples = self.buffer.rows
        verdicts = {}
        for pid, (name, running) in sorted(self._per_process.items()):
            result = running.result()
            if result.samples == samples:
                verdicts[pid] = (name, result)
        return verdicts
