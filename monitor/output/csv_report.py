"""The report and detail CSVs: rows to disk as they are taken (monitor/output/saved_report.py reads them back)."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from monitor.metrics import (
    DETAIL_COLUMNS,
    METRIC_TABLE,
    README_METRIC_COUNT,
    REPORT_COLUMNS,
)
from monitor.stream import ProcessReading, Sample, Sink

if TYPE_CHECKING:
    from monitor.output.facts import RunFacts

# fsync costs a disk round trip; once a second bounds what a power cut can take.
FSYNC_EVERY_S = 1.0


class CsvStream:
    """A CSV file whose header is on disk before the first row, and every row as soon as it is written.

    With `flush_every_s`, rows are held and written in one go at most that often instead of one by
    one: for files whose rows are a detail of what another, row-by-row stream already keeps.

    Rows reach the file whole or not at all: when a write fails (a full disk), the file is cut back
    to the end of the last complete write, so a reader never sees a torn last row.
    """

    def __init__(self, path: Path, columns: Sequence[str], flush_every_s: float = 0.0) -> None:
        self.path = path
        self._flush_every_s = flush_every_s
        self._pending: list[Sequence[Any]] = [columns]
        self._last_flush = self._last_sync = 0.0
        self._text = io.StringIO()
        self._writer = csv.writer(self._text, lineterminator="\n")
        # The file already exists (claimed empty); opening it for writing keeps the claim.
        self._fd = os.open(path, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_BINARY", 0))
        self._complete_bytes = 0  # the file's length after the last write that went through whole
        self._broken = False
        try:
            self._push(time.monotonic())
        except OSError:
            self.close()
            raise

    def write(self, row: Sequence[Any]) -> None:
        """Append one row; it reaches the OS now, or within `flush_every_s`."""
        self._pending.append(row)
        now = time.monotonic()
        if now - self._last_flush >= self._flush_every_s:
            self._push(now)

    def write_many(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows; they reach the OS now, or within `flush_every_s`."""
        self._pending.extend(rows)
        now = time.monotonic()
        if now - self._last_flush >= self._flush_every_s:
            self._push(now)

    def _push(self, now: float) -> None:
        if self._broken:
            raise OSError(errno.EIO, f"an earlier write to {self.path} failed")
        self._writer.writerows(self._pending)
        self._pending.clear()
        data = self._text.getvalue().encode("utf-8")
        self._text.seek(0)
        self._text.truncate()
        try:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            self._complete_bytes += written
            self._last_flush = now
            if now - self._last_sync >= FSYNC_EVERY_S:
                os.fsync(self._fd)
                self._last_sync = now
        except OSError:
            self._cut_back()
            raise

    def _cut_back(self) -> None:
        """Drop a partly written row: the file ends at its last complete row again."""
        self._broken = True
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._complete_bytes)
            os.lseek(self._fd, self._complete_bytes, os.SEEK_SET)

    def close(self) -> None:
        """Write what is held, sync and close; safe to call twice and after a write error."""
        if self._fd < 0:
            return
        try:
            if not self._broken:
                self._push(math.inf)
        except OSError:
            pass  # The write error was already reported, or is reported by the report stream.
        finally:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


# Digits each metric keeps in the CSV, in the table's order: CPU % to 2 decimals, bytes and counts whole.
_DECIMALS = tuple(metric.decimals for metric in METRIC_TABLE)


def iso_time(sample: Sample) -> str:
    """The sample's wall time as ISO 8601 with milliseconds and UTC offset."""
    return sample.wall_time.isoformat(timespec="milliseconds")


def rounded(values: Sequence[float | None]) -> list[float | None]:
    """Metric values in the table's order, rounded as the CSV keeps them; None (refused) stays None, an empty cell."""
    return [
        None if value is None else round(value, decimals) if decimals else int(value)
        for value, decimals in zip(values, _DECIMALS)
    ]


def report_row(sample: Sample) -> tuple[Any, ...]:
    """One report row: the README's columns, process_count, elapsed_s, then the added metrics."""
    values = rounded(sample.totals)
    return (
        iso_time(sample),
        *values[:README_METRIC_COUNT],
        len(sample.readings),
        round(sample.elapsed_s, 6),
        *values[README_METRIC_COUNT:],
        round(sample.cpu_seconds, 3),
    )


class ReportSink(Sink):
    """The report CSV: one row per sample, on disk as soon as it is taken."""

    def __init__(self, path: Path, facts: RunFacts) -> None:
        self._stream = CsvStream(path, REPORT_COLUMNS)
        self._facts = facts

    def add(self, sample: Sample) -> None:
        """Write the sample's row."""
        self._stream.write(self._facts.row)

    def close(self) -> None:
        """Close the file."""
        self._stream.close()


class DetailSink(Sink):
    """The per-process CSV: one row per process per sample.

    Its rows repeat the report's per process: pushed to disk once a second is enough, so they are
    also rounded and formatted then, a second's worth in one go, instead of at every tick.
    """

    FLUSH_EVERY_S = 1.0

    def __init__(self, path: Path, facts: RunFacts) -> None:
        self._stream = CsvStream(path, DETAIL_COLUMNS)
        self._facts = facts
        self._held: list[tuple[str, tuple[ProcessReading, ...]]] = []  # (the sample's time, its readings)
        self._last_flush = time.monotonic()

    def add(self, sample: Sample) -> None:
        """Hold the sample's readings; write the rows held once a second."""
        self._held.append((self._facts.row[0], sample.readings))
        now = time.monotonic()
        if now - self._last_flush >= self.FLUSH_EVERY_S:
            self._last_flush = now
            self._flush()

    def close(self) -> None:
        """Write what is held and close the file; safe after a write error (the run reported it)."""
        with contextlib.suppress(OSError):
            self._flush()
        self._stream.close()

    def _flush(self) -> None:
        held, self._held = self._held, []
        self._stream.write_many([(iso, r.pid, r.name, *rounded(r.values)) for iso, readings in held for r in readings])
