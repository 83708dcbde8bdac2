"""Which of the files given to --analyze are read: each run's report once, not the files written beside it."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from monitor.errors import MonitorError
from monitor.output.files import CHART_SUFFIX, DETAIL_SUFFIX, JSON_SUFFIX, LOG_SUFFIX, REPORT_SUFFIX

# Files a run (or --analyze --plot) writes beside a report, which a glob such as reports/* lists with it.
_BESIDE = {JSON_SUFFIX: "JSON summary", CHART_SUFFIX: "chart", LOG_SUFFIX: "log"}
_PARTIAL = ".partial"  # a JSON or chart being written, renamed into place when whole
COMPARISON_CHART_END = "_compared"  # --compare --plot: <candidate stem>_compared.png beside the candidate
# The chart of one process of a detail CSV, or of a comparison with the report as its candidate.
_REPORT_CHART = re.compile(rf"(_pid\d+|{COMPARISON_CHART_END})$")


def written_beside(path: Path) -> Path | None:
    """The report a file belongs to: x.json, x.png, x.log and x_processes.csv to x.csv, x_pid12.png and
    x_compared.png to x.csv; None for any other file."""
    name = path.name.removesuffix(_PARTIAL)
    suffix = Path(name).suffix
    if suffix in _BESIDE:
        stem = Path(name).stem
        if suffix == CHART_SUFFIX:
            stem = _REPORT_CHART.sub("", stem)
        return path.with_name(stem + REPORT_SUFFIX)
    if name.endswith(DETAIL_SUFFIX) and path.name == name:
        return path.with_name(name.removesuffix(DETAIL_SUFFIX) + REPORT_SUFFIX)
    return None


def reports_to_read(paths: Sequence[Path]) -> list[Path]:
    """The given files without those written beside a report that is given too, in the order given.

    `--analyze reports/*` thus reads each run's report once: its detail CSV, JSON summary and chart
    are left out quietly. A detail CSV given without its report is read (one verdict per process).
    """
    given = {_absolute(path) for path in paths}
    kept = []
    for path in paths:
        report = written_beside(path)
        if report is None or _absolute(report) not in given:
            kept.append(path)
    return kept


def check_is_report(path: Path) -> None:
    """MonitorError for a file that the monitor writes beside a report and is no report itself (a chart, a JSON)."""
    report = written_beside(path)
    if report is None or path.name.endswith(DETAIL_SUFFIX) or not path.exists():
        return  # read as a report, or named as missing by the reader
    suffix = Path(path.name.removesuffix(_PARTIAL)).suffix
    kind = ("unfinished " if path.name.endswith(_PARTIAL) else "") + _BESIDE[suffix]
    # A log sits in the logs folder, apart from its report: only the report's name is known.
    where = f"{report.name} in the reports folder" if suffix == LOG_SUFFIX else str(report)
    raise MonitorError(f"{path}: a run's {kind}, not a CSV report; analyse its report ({where}) instead")


def _absolute(path: Path) -> Path:
    # Not resolve(): a link to a report stays that report's name, and nothing on disk is needed.
    return Path(os.path.abspath(path))
