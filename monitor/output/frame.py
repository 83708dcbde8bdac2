"""The in-memory side of the stream: rows for pandas in chunks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from monitor.metrics import REPORT_COLUMNS
from monitor.stream import Sample, Sink

if TYPE_CHECKING:
    from monitor.output.facts import RunFacts


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
    """Keeps every report row for the end-of-run analysis, as pandas rows a chunk at a time."""

    def __init__(self, facts: RunFacts) -> None:
        self.buffer = FrameBuffer(REPORT_COLUMNS)
        self._facts = facts

    def add(self, sample: Sample) -> None:
        """Keep the sample's report row."""
        self.buffer.append(self._facts.row)

    def frame(self) -> pd.DataFrame:
        """Every row so far as one DataFrame."""
        return self.buffer.frame()
