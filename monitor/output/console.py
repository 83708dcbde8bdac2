"""The console: a live table of samples with a progress line under it, notes, and the summary.

On a terminal the progress line is redrawn in place under the table (carriage return and "erase
line"); when the output is piped or redirected there is no progress line and no escape sequence.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import TYPE_CHECKING, Mapping, TextIO

from monitor.metrics import METRIC_TABLE, METRICS, README_METRIC_COUNT, Metric, Unit
from monitor.output.log import EventGroups
from monitor.output.summary_text import missed_ticks_sentence
from monitor.output.units import format_cell
from monitor.stream import EventKind, ProcessEvent, Sample, Sink

if TYPE_CHECKING:
    from monitor.output.facts import RunFacts

_ERASE_LINE = "\r\x1b[2K"


class Console:
    """Prints a run's table, notes, progress and summary according to the output kind and --quiet."""

    def __init__(self, out: TextIO, quiet: bool = False, live: bool | None = None) -> None:
        self._out = out
        self.quiet = quiet
        self.live = _is_terminal(out) if live is None else live
        self._progress_shown = False
        self._closed = False

    def line(self, text: str) -> None:
        """A table row or a note; left out with --quiet."""
        if not self.quiet:
            self._write(self._clear_progress() + text + "\n")

    def progress(self, text: str) -> None:
        """Redraw the progress line in place (terminals only)."""
        if not self.quiet and self.live:
            self._write(_ERASE_LINE + text)
            self._progress_shown = True

    def summary(self, text: str) -> None:
        """A summary line: always printed."""
        self._write(self._clear_progress() + text + "\n")

    def _clear_progress(self) -> str:
        if not self._progress_shown:
            return ""
        self._progress_shown = False
        return _ERASE_LINE

    def _write(self, text: str) -> None:
        if self._closed:
            return
        try:
            self._out.write(text)
            self._out.flush()
        except OSError as exc:
            # The reader went away (`| head`), or the terminal was closed (EIO, with a SIGHUP that
            # stops the run): sampling, the summary and the files go on, silently. Any other failure
            # (output sent to a full disk) is said once on stderr, and the run goes on too.
            if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EIO:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    print(
                        f"cannot write to the output ({exc.strerror or exc}); the run goes on and writes its files",
                        file=sys.stderr,
                    )
            self._closed = True
            if self._out is sys.stdout:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


# The table must fit an 80-column terminal, the leak marker included. Values are shown with three
# significant digits at most (one decimal under 100, none from 100 up); column widths by unit,
# (value, average), fit the title and the widest usual value.
TERMINAL_COLUMNS = 80
_WIDTHS = {
    Unit.PERCENT: (5, 7),
    Unit.BYTES: (11, 10),
    Unit.COUNT: (7, 7),
    Unit.BYTES_PER_S: (12, 0),
    Unit.PER_S: (9, 0),
}
_TIME_WIDTH = 12  # 15:33:57.755
# The live table keeps to the README's metrics, so that it fits a terminal; --wide adds the others,
# current values only.
_TABLE_METRICS = METRIC_TABLE[:README_METRIC_COUNT]
_WIDE_METRICS = METRIC_TABLE[README_METRIC_COUNT:]
LEAK_MARKER = "  <- leak"


def _cells(metric: Metric, value: str, average: str | None) -> str:
    width, average_width = _WIDTHS[metric.unit]
    if average is None:
        return f" {value:>{width}}"
    return f" {value:>{width}} {average:>{average_width}}"


def format_header(wide: bool = False) -> str:
    """The table's column titles."""
    cells = "".join(_cells(metric, metric.console_title, "(avg)") for metric in _TABLE_METRICS)
    if wide:
        cells += "".join(_cells(metric, metric.console_title, None) for metric in _WIDE_METRICS)
    return f"{'time':<{_TIME_WIDTH}}{cells} {'procs':>5}"


def _current(value: float | None, metric: Metric) -> str:
    if metric.unit is Unit.COUNT and value is not None:
        return f"{value:.0f}"
    return format_cell(value, metric.unit)


def _row_template(wide: bool) -> str:
    """The row as one format string: the time, each metric's cells, the process count."""
    template = f"{{:<{_TIME_WIDTH}}}"
    for metric in _TABLE_METRICS:
        width, average_width = _WIDTHS[metric.unit]
        template += f" {{:>{width}}} {{:>{average_width}}}"
    if wide:
        template += "".join(f" {{:>{_WIDTHS[metric.unit][0]}}}" for metric in _WIDE_METRICS)
    return template + " {:>5}"


def format_row(
    clock_time: str,
    values: Mapping[str, float | None],
    averages: Mapping[str, float | None],
    process_count: int,
    wide: bool = False,
) -> str:
    """One sample as a table row: current value and running average of each metric (--wide: more metrics)."""
    cells: list[object] = [clock_time]
    for metric in _TABLE_METRICS:
        cells += [_current(values[metric.column], metric), f"({format_cell(averages[metric.column], metric.unit)})"]
    if wide:
        cells += [_current(values[metric.column], metric) for metric in _WIDE_METRICS]
    return _row_template(wide).format(*cells, process_count)


def format_progress(elapsed_s: float, total_s: float, samples: int, planned: int) -> str:
    """'[#####-----] 12.0/20 s, 6/10 samples, 8 s left' for the live progress line."""
    share = min(max(elapsed_s / total_s, 0.0), 1.0) if total_s > 0 else 1.0
    filled = round(share * 20)
    left = max(total_s - elapsed_s, 0.0)
    return (
        f"[{'#' * filled}{'-' * (20 - filled)}] {elapsed_s:.1f}/{total_s:g} s, "
        f"{samples}/{planned} samples, {left:.0f} s left"
    )


class ConsoleSink(Sink):
    """The live table: a row per sample with running averages, the README rule's first warning, progress.

    Exits of processes asked for, and instances that could not be read, are said once per tick: one
    line per name with a count and the first few PIDs.
    """

    def __init__(
        self, console: Console, facts: RunFacts, interval_s: float, duration_s: float, planned: int, wide: bool = False
    ) -> None:
        self._console = console
        self._facts = facts
        self._wide = wide
        self._interval_s = interval_s
        self._duration_s = duration_s
        self._planned = planned
        self._events = EventGroups()
        self._missed_said = False
        # The row is filled from the sample's totals and the running means by their index in the table:
        # one format call per row, no per-row mapping of columns.
        self._template = _row_template(wide)
        self._table = tuple((METRICS.index(metric.column), metric) for metric in _TABLE_METRICS)
        self._wide_cells = tuple((METRICS.index(metric.column), metric) for metric in _WIDE_METRICS) if wide else ()
        console.line(format_header(wide))

    def add(self, sample: Sample) -> None:
        """Print the sample's row, marked where the README rule first holds, and redraw the progress line."""
        if self._events:
            self._flush_events()
        facts = self._facts
        totals = sample.totals
        # The report row's ISO time holds the clock time already: 2026-12-01T15:33:57.755+01:00.
        cells: list[object] = [facts.row[0][11:23]]
        for index, metric in self._table:
            cells.append(_current(totals[index], metric))
            cells.append(f"({format_cell(facts.mean(index), metric.unit)})")
        for index, metric in self._wide_cells:
            cells.append(_current(totals[index], metric))
        cells.append(len(sample.readings))
        text = self._template.format(*cells)
        self._console.line(text + LEAK_MARKER if facts.rule_first_holds else text)
        missed = sample.index - facts.samples  # every tick not skipped gave a sample
        if not self._missed_said and missed * 100 > self._planned:
            # Said once, when the share passes 1% of the run: the summary gives the final count.
            self._missed_said = True
            self._console.line(missed_ticks_sentence(missed, sample.index, self._interval_s, so_far=True))
        if self._console.live:
            # Drawn on a terminal only: piped or redirected, the progress line is never formatted.
            elapsed = sample.index * self._interval_s
            self._console.progress(format_progress(elapsed, self._duration_s, facts.samples, self._planned))

    def note(self, event: ProcessEvent) -> None:
        """Hold the exit of a process asked for, or a refused instance, for the tick's grouped line."""
        if event.kind is EventKind.DENIED or (event.kind is EventKind.EXITED and event.is_root):
            self._events.add(event)

    def close(self) -> None:
        """Say the exits and refusals of the last tick."""
        self._flush_events()

    def _flush_events(self) -> None:
        if self._events:
            for line in self._events.sentences():
                self._console.line(line)
