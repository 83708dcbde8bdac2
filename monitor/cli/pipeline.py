"""One run's plumbing, the same for a monitoring run, the exporter and the soak bench.

`open_run` claims the run's files, opens its log and yields a RunPipeline: the session, and the
sinks it feeds, the run's facts always first (the other sinks read them). However the run ends,
every sink is closed once and the log is detached.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Iterator, TypeVar

from monitor.cli.options import LOGS_OPTION, REPORTS_OPTION
from monitor.output.csv_report import DetailSink, ReportSink
from monitor.output.facts import RunFacts
from monitor.output.files import DETAIL_SUFFIX, LOG_SUFFIX, REPORT_SUFFIX, claim_files, dir_error
from monitor.output.log import LogSink, run_log
from monitor.sampling.session import RunResult, Session, StopRequest
from monitor.stream import ProcessReading, Sample, Sink

AnySink = TypeVar("AnySink", bound=Sink)


class RowsOnly(Sink):
    """Hands a sink only the samples that hold readings: an exporter's empty ticks make no CSV row."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def add(self, sample: Sample) -> None:
        """Pass the sample on when some process was read."""
        if sample.readings:
            self._sink.add(sample)

    def close(self) -> None:
        """Close the wrapped sink."""
        self._sink.close()


class RunPipeline:
    """A session and the sinks it feeds, in the order they were added, after the run's facts."""

    def __init__(
        self, session: Session, paths: dict[str, Path], log: logging.Logger, per_process_rule: bool = True
    ) -> None:
        self.session = session
        self.paths = paths
        self.log = log
        self.facts = RunFacts(per_process_rule)
        self._sinks: list[Sink] = [self.facts]
        self._closed = False

    def add(self, sink: AnySink) -> AnySink:
        """Feed this sink too, after those added before it; returns it."""
        self._sinks.append(sink)
        return sink

    def write_reports(self, rows_only: bool = False) -> None:
        """Stream the report and detail CSVs (with `rows_only`, no row for a tick that read no process)."""
        for suffix, kind in ((REPORT_SUFFIX, ReportSink), (DETAIL_SUFFIX, DetailSink)):
            try:
                sink: Sink = kind(self.paths[suffix], self.facts)
            except OSError as exc:
                # The report, if opened, is a sink already: closed with the others.
                raise dir_error(self.paths[suffix].parent, "reports", REPORTS_OPTION, exc) from None
            self.add(RowsOnly(sink) if rows_only else sink)

    def log_samples(self, every_sample: bool) -> None:
        """Log the run's events, and with `every_sample` a line per sample."""
        self.add(LogSink(self.log, self.facts, every_sample=every_sample))

    def start(self) -> list[ProcessReading]:
        """Find the targets and take their first reading (see Session.start)."""
        return self.session.start()

    def run(self, interval_s: float, planned: int, stop: StopRequest) -> RunResult:
        """Sample until the run ends, handing each sample to every sink (see Session.run)."""
        return self.session.run(interval_s, planned, self._sinks, stop)

    def close(self) -> None:
        """Close every sink, once."""
        if not self._closed:
            self._closed = True
            for sink in self._sinks:
                sink.close()

    def discard(self, *suffixes: str) -> None:
        """Close the sinks and remove these files of the run: a header-only report helps nobody."""
        self.close()
        for suffix in suffixes:
            with contextlib.suppress(OSError):
                self.paths[suffix].unlink(missing_ok=True)


@contextlib.contextmanager
def open_run(
    session: Session,
    stem: str,
    places: dict[str, Path],
    reserved: dict[str, Path] | None = None,
    per_process_rule: bool = True,
) -> Iterator[RunPipeline]:
    """Claim the run's files (see claim_files), open its log, and close every sink on the way out.

    Without `per_process_rule` the run's facts keep no README rule per process (the exporter has no summary).
    """
    paths = claim(stem, places, reserved)
    with run_log(paths[LOG_SUFFIX]) as log:
        pipeline = RunPipeline(session, paths, log, per_process_rule)
        try:
            yield pipeline
        finally:
            pipeline.close()


def claim(stem: str, places: dict[str, Path], reserved: dict[str, Path] | None = None) -> dict[str, Path]:
    """Create the run's files, or say which directory refused them and which option moves it."""
    try:
        return claim_files(stem, places, reserved)
    except OSError as exc:
        reports_dir = places.get(REPORT_SUFFIX)
        in_reports = exc.filename is not None and Path(exc.filename).parent == reports_dir
        if in_reports and reports_dir is not None:
            raise dir_error(reports_dir, "reports", REPORTS_OPTION, exc) from None
        raise dir_error(places[LOG_SUFFIX], "logs", LOGS_OPTION, exc) from None
