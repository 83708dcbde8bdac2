"""The run's log file: options, PIDs, every sample (DEBUG), joins and exits, errors and the summary."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from monitor.analysis.running import RunningHeuristic
from monitor.metrics import HEURISTIC_METRIC, METRIC_TABLE, METRICS
from monitor.output.csv_report import iso_time
from monitor.sampling.session import EventKind, ProcessEvent, Sample, Sink

_HEURISTIC_INDEX = METRICS.index(HEURISTIC_METRIC)
_SAMPLE_FORMAT = (
    "sample %s "
    + " ".join(
        f"{metric.column}=%.{metric.decimals}f" if metric.decimals else f"{metric.column}=%d" for metric in METRIC_TABLE
    )
    + " processes=%d"
)


class LogSink(Sink):
    """Logs each sample at DEBUG, joins and exits at INFO, and the first time the README rule holds."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._heuristic = RunningHeuristic()
        self._warned = False

    def add(self, sample: Sample) -> None:
        """One DEBUG line per sample; a WARNING the first time the README rule holds."""
        self._log.debug(_SAMPLE_FORMAT, iso_time(sample), *sample.totals, len(sample.readings))
        rule = self._heuristic.add(sample.totals[_HEURISTIC_INDEX])
        if rule.leak and not self._warned:
            self._warned = True
            self._log.warning("the README leak rule first holds at sample %d", rule.samples)

    def note(self, event: ProcessEvent) -> None:
        """Joins and exits at INFO."""
        if event.kind is EventKind.JOINED:
            self._log.info("now also watching pid %d (%s)", event.pid, event.name)
        else:
            self._log.info(exit_sentence(event))


def exit_sentence(event: ProcessEvent) -> str:
    """'process 'x' (pid 12) exited after 40 samples'."""
    return f"process '{event.name}' (pid {event.pid}) exited after {event.samples} samples"


class _LogFile(logging.FileHandler):
    """A log file that flushes notes and errors at once, per-sample lines at most once a second.

    Every sample is also in the CSV, flushed as it is taken; a flush of the log per sample would
    cost a system call per tick for nothing a crash could lose.
    """

    FLUSH_EVERY_S = 1.0

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8")
        self._urgent = True
        self._last_flush = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        self._urgent = record.levelno >= logging.INFO
        super().emit(record)

    def flush(self) -> None:
        now = time.monotonic()
        if self._urgent or now - self._last_flush >= self.FLUSH_EVERY_S:
            super().flush()
            self._last_flush = now

    def close(self) -> None:
        self._urgent = True
        super().close()


@contextlib.contextmanager
def run_log(path: Path) -> Iterator[logging.Logger]:
    """A logger writing to this run's log file, detached again on exit."""
    _lean_log_records()
    handler = _LogFile(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger(f"monitor.run.{path.stem}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()


def _lean_log_records() -> None:
    # Per-sample log records need no thread, process or caller details; skipping them (the logging
    # HOWTO's "Optimization" section) takes a third off each record's cost.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
