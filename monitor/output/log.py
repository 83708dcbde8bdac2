"""The run's log file: options, PIDs, every sample (DEBUG), joins and exits, errors and the summary."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from monitor.metrics import REPORT_COLUMNS
from monitor.output.units import PIDS_SHOWN, pid_list, plural
from monitor.stream import EventKind, ProcessEvent, Sample, Sink

if TYPE_CHECKING:
    from monitor.output.facts import RunFacts

# Values as the CSV keeps them (rounded; None for a value the OS refused).
_SAMPLE_FORMAT = "sample %s " + " ".join(f"{column}=%s" for column in REPORT_COLUMNS[1:])


class LogSink(Sink):
    """Logs joins, exits and refusals at INFO, the first time the README rule holds, and with `every_sample`
    each sample at DEBUG.

    A sample's line repeats its report row, so it is written only when asked for (--debug): the
    log then grows with events, not with the run's length.
    """

    def __init__(self, log: logging.Logger, facts: RunFacts, every_sample: bool = True) -> None:
        self._log = log
        self._facts = facts
        self._every_sample = every_sample
        self._events = EventGroups()

    def add(self, sample: Sample) -> None:
        """One DEBUG line per sample; a WARNING the first time the README rule holds."""
        if self._events:
            self._flush_events()
        facts = self._facts
        if self._every_sample:
            self._log.debug(_SAMPLE_FORMAT, *facts.row)
        for pid, name, columns in facts.newly_missing:
            # Said once per metric: the summary lists every process that did not give it.
            self._log.info(
                "pid %d (%s) gave no %s (refused by the OS, or not reported on it): left empty",
                pid,
                name,
                ", ".join(columns),
            )
        if facts.rule_first_holds:
            self._log.warning("the README leak rule first holds at sample %d", facts.rule.samples)

    def note(self, event: ProcessEvent) -> None:
        """Joins at once; exits and refusals grouped by tick, every PID named."""
        if event.kind is EventKind.JOINED:
            self._log.info("now also watching pid %d (%s)", event.pid, event.name)
        else:
            self._events.add(event)

    def close(self) -> None:
        """Log the exits and refusals of the last tick."""
        self._flush_events()

    def _flush_events(self) -> None:
        if self._events:
            for line in self._events.sentences(limit=None):
                self._log.info(line)


class EventGroups:
    """Exits and refusals of one tick, held so that each name gets one sentence instead of one per PID."""

    def __init__(self) -> None:
        self._events: list[ProcessEvent] = []

    def __bool__(self) -> bool:
        return bool(self._events)

    def add(self, event: ProcessEvent) -> None:
        """Hold an event until the tick's sentences are asked for."""
        self._events.append(event)

    def sentences(self, limit: int | None = PIDS_SHOWN) -> list[str]:
        """One sentence per kind and name, in the order first seen; the held events are then forgotten."""
        groups: dict[tuple[EventKind, str], list[ProcessEvent]] = {}
        for event in self._events:
            groups.setdefault((event.kind, event.name), []).append(event)
        self._events = []
        lines = []
        for (kind, name), events in groups.items():
            pids = [event.pid for event in events]
            if kind is EventKind.DENIED:
                lines.append(denied_sentence(name, pids, limit))
            elif kind is EventKind.EXITED:
                lines.append(exit_sentence(name, pids, max(event.samples for event in events), limit))
        return lines


def exit_sentence(name: str, pids: Sequence[int], samples: int, limit: int | None = PIDS_SHOWN) -> str:
    """'process 'x' (pid 12) exited after 40 samples', or '3 processes of 'x' exited after 40 samples: pids 1, 2, 3'."""
    after = plural(samples, "sample")
    if len(pids) == 1:
        return f"process '{name}' (pid {pids[0]}) exited after {after}"
    return f"{len(pids)} processes of '{name}' exited after {after}: {pid_list(pids, limit)}"


# Who may read any process: the fix named when an instance is refused.
_ELEVATED = "from an Administrator prompt" if sys.platform == "win32" else "as root"


def denied_sentence(name: str, pids: Sequence[int], limit: int | None = PIDS_SHOWN) -> str:
    """'1 instance of 'x' could not be read (access denied): pid 812; run as its owner or as root to include it'."""
    one = len(pids) == 1
    return (
        f"{plural(len(pids), 'instance')} of '{name}' could not be read (access denied): {pid_list(pids, limit)}; "
        f"run as {'its' if one else 'their'} owner or {_ELEVATED} to include {'it' if one else 'them'}"
    )


def denied_sentences(denied: Mapping[int, str], limit: int | None = PIDS_SHOWN) -> list[str]:
    """One denied_sentence per name, for PIDs given as {pid: name}."""
    by_name: dict[str, list[int]] = {}
    for pid, name in sorted(denied.items()):
        by_name.setdefault(name, []).append(pid)
    return [denied_sentence(name, pids, limit) for name, pids in by_name.items()]


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
        self.failed = False
        self.error: OSError | None = None  # the first write that failed

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        # A full disk must not print a traceback per record; the run reports the failure once.
        self.failed = True
        error = sys.exc_info()[1]
        if isinstance(error, OSError) and self.error is None:
            self.error = error

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
        try:
            super().close()
        except OSError as error:
            self.failed = True
            self.error = self.error or error


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


def log_error(log: logging.Logger) -> OSError | None:
    """The first error that kept a record of this run's log from its file (a full disk, say), if any."""
    for handler in log.handlers:
        if isinstance(handler, _LogFile) and handler.failed:
            return handler.error or OSError("the log could not be written")
    return None


def _lean_log_records() -> None:
    # Per-sample log records need no thread, process or caller details; skipping them (the logging
    # HOWTO's "Optimization" section) takes a third off each record's cost.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
