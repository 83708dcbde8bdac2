"""Rows to disk as they are taken (CSV, flushed per row) and to pandas in chunks."""

from __future__ import annotations

import contextlib
import csv
import math
import os
import time
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from monitor.columns import MEMORY, METRICS, NAME, PID, REPORT_COLUMNS, TIMESTAMP
from monitor.status import MonitorError

# fsync costs a disk round trip; once a second bounds what a power cut can take.
FSYNC_EVERY_S = 1.0


class CsvStream:
    """A CSV file whose header is on disk before the first row, and every row as soon as it is written.

    With `flush_every_s`, rows are held and written in one go at most that often instead of one by
    one: for files whose rows are a detail of what another, row-by-row stream already keeps.
    """

    def __init__(self, path: Path, columns: Sequence[str], flush_every_s: float = 0.0) -> None:
        self.path = path
        self._flush_every_s = flush_every_s
        self._pending: list[Sequence[Any]] = [columns]
        self._last_flush = self._last_sync = 0.0
        # The file already exists (claimed empty); "w" keeps the claim and writes the header.
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._push(time.monotonic())

    def write(self, row: Sequence[Any]) -> None:
        """Append one row."""
        self.write_many([row])

    def write_many(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows; they reach the OS now, or within `flush_every_s`."""
        self._pending.extend(rows)
        now = time.monotonic()
        if now - self._last_flush >= self._flush_every_s:
            self._push(now)

    def _push(self, now: float) -> None:
        self._writer.writerows(self._pending)
        self._pending.clear()
        self._file.flush()
        self._last_flush = now
        if now - self._last_sync >= FSYNC_EVERY_S:
            os.fsync(self._file.fileno())
            self._last_sync = now

    def close(self) -> None:
        """Write what is held, sync and close; safe to call twice and after a write error."""
        if self._file.closed:
            return
        try:
            self._push(math.inf)
        except OSError:
            pass  # The write error was already reported; what reached the disk stays.
        finally:
            with contextlib.suppress(OSError):
                self._file.close()


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


def read_detail(path: Path) -> pd.DataFrame:
    """The per-process detail CSV of a run, only the columns the per-PID verdicts need."""
    return pd.read_csv(path, usecols=[PID, NAME, MEMORY])


def read_report(path: Path) -> pd.DataFrame:
    """A saved report's rows, checked to start with this project's four columns; MonitorError if not."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise MonitorError(f"{path}: no such file") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise MonitorError(f"{path}: not a readable CSV file ({exc})") from None
    expected = list(REPORT_COLUMNS[:4])
    if list(frame.columns[:4]) != expected:
        raise MonitorError(f"{path}: not a report of this monitor (its first columns must be {', '.join(expected)})")
    try:
        for column in METRICS:
            frame[column] = pd.to_numeric(frame[column], errors="raise")
        pd.to_datetime(frame[TIMESTAMP], utc=True)
    except (ValueError, TypeError) as exc:
        raise MonitorError(f"{path}: a row is malformed ({exc})") from None
    if frame[list(METRICS)].isna().any().any():
        raise MonitorError(f"{path}: a row has an empty value")
    return frame
