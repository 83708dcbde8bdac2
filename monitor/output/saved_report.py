"""Saved reports read back and checked: a run's report, or its per-process detail CSV split by PID."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.analysis.trend_series import monotonic_times  # the one repair of time, as the verdict uses
from monitor.errors import MonitorError
from monitor.metrics import ELAPSED, METRICS, NAME, PID, PROCESS_COUNT, REQUIRED_REPORT_COLUMNS, TIMESTAMP
from monitor.output.csv_cells import cell_as_written, line_of_row, shown


@dataclass(frozen=True)
class ProcessRows:
    """One process's rows of a detail CSV, with elapsed_s counted from its own first row."""

    pid: int
    name: str
    frame: pd.DataFrame


def read_report(path: Path) -> pd.DataFrame:
    """A saved report's rows with an elapsed_s column, checked by column name; MonitorError if malformed.

    Reports written before elapsed_s existed get it from their timestamps, repaired where the clock
    stepped back. A detail CSV (a pid column, one row per process per sample) gets it per PID.
    """
    frame = _read_csv(path)
    missing = [column for column in REQUIRED_REPORT_COLUMNS if column not in frame.columns]
    if missing:
        wanted = ", ".join(REQUIRED_REPORT_COLUMNS)
        if len(missing) == len(REQUIRED_REPORT_COLUMNS):
            raise MonitorError(f"{path}: not a report of this monitor (none of its columns {wanted})")
        lacking = ", ".join(missing)
        raise MonitorError(f"{path}: not a report of this monitor (no column {lacking}; a report has {wanted})")
    # A row with no process (the last row of a tree, which holds only the CPU it spent after its last
    # sample, or an exporter's tick with nothing to watch) has nothing else to give.
    no_process = np.zeros(len(frame), dtype=bool)
    if PROCESS_COUNT in frame.columns and not is_detail(frame):
        no_process = (_numbers(frame[PROCESS_COUNT]) == 0).to_numpy()
    for column in [c for c in (*METRICS, ELAPSED) if c in frame.columns]:
        # The README's metrics and elapsed_s are always written; an added metric may be an empty
        # cell where the OS refused it (another user's I/O counters).
        always = column in (*REQUIRED_REPORT_COLUMNS, ELAPSED)
        may_be_empty = (no_process & (column != ELAPSED)) if always else True
        frame[column] = _finite_column(path, frame, column, may_be_empty)
        if column in METRICS:
            _check_range(path, frame, column)
    seconds = _timestamps(path, frame)
    if is_detail(frame):
        frame[PID] = _pids(path, frame)
        frame[NAME] = frame[NAME].fillna("").astype(str) if NAME in frame.columns else ""
    if ELAPSED in frame.columns:
        _check_order(path, frame)
    else:
        frame[ELAPSED] = _elapsed_per_process(frame, seconds) if is_detail(frame) else monotonic_times(seconds)
    return frame


def is_detail(frame: pd.DataFrame) -> bool:
    """True for a per-process detail CSV: one row per process per sample, not one row per sample."""
    return PID in frame.columns


def per_process(frame: pd.DataFrame) -> list[ProcessRows]:
    """A detail CSV's rows split by PID, in the order the processes first appear; each named as it was last."""
    groups = sorted(frame.groupby(PID, sort=False).indices.values(), key=lambda rows: int(rows[0]))
    pids, names = frame[PID], frame[NAME]
    return [
        ProcessRows(int(pids.iloc[rows[0]]), str(names.iloc[rows[-1]]), frame.iloc[rows].reset_index(drop=True))
        for rows in groups
    ]


def _read_csv(path: Path) -> pd.DataFrame:
    if path.is_dir():
        raise MonitorError(f"{path}: a folder, not a report; give the reports in it ({path / '*.csv'})")
    try:
        with warnings.catch_warnings():
            # A column of numbers with one bad cell deep in a long file is read as text, with a warning;
            # the bad cell is named by the checks below instead.
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            return pd.read_csv(path, dtype={TIMESTAMP: str}, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise MonitorError(f"{path}: no such file") from None
    except pd.errors.EmptyDataError:
        raise MonitorError(f"{path}: an empty file, not a report (no header line)") from None
    except UnicodeDecodeError as exc:
        where = f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"
        raise MonitorError(f"{path}: not a CSV report (not UTF-8 text: {where})") from None
    except pd.errors.ParserError as exc:
        raise MonitorError(f"{path}: not a readable CSV file ({_parser_problem(exc)})") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else _first_line(exc)
        raise MonitorError(f"{path}: not a readable CSV file ({reason})") from None


# pandas counts lines as the file numbers them (a quoted cell spanning lines aside), header included;
# its "rows" from 0.
_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _parser_problem(exc: Exception) -> str:
    message = _first_line(exc)
    if fields := _FIELDS.search(message):
        expected, line, saw = fields.groups()
        return f"line {line} has {saw} cells, the header {expected}; fix or delete that line"
    if quote := _OPEN_QUOTE.search(message):
        return f'the quote (") opened on line {int(quote.group(1)) + 1} is never closed'
    return message


def _bad_cell(path: Path, frame: pd.DataFrame, column: str, row: int, problem: str) -> MonitorError:
    """One line naming the file, the line (or the data row) and the column, the cell as written, and the fix."""
    parsed = frame[column].iloc[row]
    text = cell_as_written(path, row, column)
    if text is None:
        text = "" if pd.isna(parsed) else (repr(float(parsed)) if isinstance(parsed, float) else str(parsed))
    line = line_of_row(path, row, column, text)
    where, what = (f"line {line}", "line") if line is not None else (f"data row {row + 1}", "row")
    if text.strip() == "":
        return MonitorError(f"{path}: {where}, column {column} is empty; fix or delete that {what}")
    return MonitorError(f"{path}: {where}, column {column}: {shown(text)} is {problem}; fix or delete that {what}")


def _numbers(cells: pd.Series) -> pd.Series:
    """The cells as numbers, NaN where a cell is not one; pandas reads a column of only true/false as booleans."""
    if pd.api.types.is_bool_dtype(cells):
        return pd.Series(np.nan, index=cells.index)
    return pd.to_numeric(cells, errors="coerce")


def _finite_column(path: Path, frame: pd.DataFrame, column: str, may_be_empty: bool | np.ndarray = False) -> pd.Series:
    values = _numbers(frame[column])
    empty = frame[column].isna().to_numpy()
    finite = np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    bad = ~finite & ~(empty & may_be_empty)
    if bad.any():
        raise _bad_cell(path, frame, column, int(np.flatnonzero(bad)[0]), "not a finite number")
    return values


# No process has more of anything than 2**64 (bytes, descriptors, a percentage): a value beyond is a
# corrupted cell, and sums of such values would overflow.
MAX_METRIC = float(2**64)


def _check_range(path: Path, frame: pd.DataFrame, column: str) -> None:
    """MonitorError for a metric below 0 or beyond MAX_METRIC: no process measures so."""
    values = frame[column].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        out = (values < 0) | (values > MAX_METRIC)
    if out.any():
        raise _bad_cell(path, frame, column, int(np.flatnonzero(out)[0]), "not a value from 0 to 2^64")


def _pids(path: Path, frame: pd.DataFrame) -> pd.Series:
    """The pid column as whole numbers; MonitorError naming the first cell that is not a PID."""
    values = _numbers(frame[PID]).to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(values) & (values >= 0) & (values == np.floor(values))
    if not good.all():
        raise _bad_cell(path, frame, PID, int(np.flatnonzero(~good)[0]), "not a process ID (a whole number)")
    return pd.Series(values.astype(np.int64), index=frame.index)


def _timestamps(path: Path, frame: pd.DataFrame) -> np.ndarray:
    """The timestamps as seconds since the epoch; MonitorError naming the first bad one."""
    moments = pd.to_datetime(frame[TIMESTAMP], utc=True, errors="coerce", format="ISO8601")
    bad = moments.isna().to_numpy()
    if bad.any():
        raise _bad_cell(path, frame, TIMESTAMP, int(np.flatnonzero(bad)[0]), "not an ISO 8601 time")
    return (moments - moments.iloc[0]).dt.total_seconds().to_numpy(dtype=float) if len(moments) else np.empty(0)


def _check_order(path: Path, frame: pd.DataFrame) -> None:
    """MonitorError if elapsed_s goes back within a run (or one process's rows): the rows were reordered.

    elapsed_s is read from a monotonic clock, so unlike a wall-clock stamp it never steps back; rows
    out of its order (sorted by another column, two runs in one file) would be judged backwards.
    """
    groups = frame.groupby(PID, sort=False).indices.values() if is_detail(frame) else [np.arange(len(frame))]
    elapsed = frame[ELAPSED].to_numpy(dtype=float)
    back = [rows[1:][np.diff(elapsed[rows]) < 0] for rows in groups]
    rows_back = np.concatenate(back) if back else np.empty(0, dtype=int)
    if not len(rows_back):
        return
    row = int(rows_back.min())
    text = cell_as_written(path, row, ELAPSED) or repr(float(elapsed[row]))
    line = line_of_row(path, row, ELAPSED, text)
    where = f"line {line}" if line is not None else f"data row {row + 1}"
    raise MonitorError(
        f"{path}: {where}, {ELAPSED} {shown(text)} is earlier than the row before it: the rows are not in the "
        f"order they were taken; give one run's report in the monitor's order (sorted by {ELAPSED})"
    )


def _elapsed_per_process(frame: pd.DataFrame, seconds: np.ndarray) -> np.ndarray:
    """Each row's seconds since its process's first row, from the timestamps (repaired where the clock stepped)."""
    elapsed = np.empty(len(frame))
    for rows in frame.groupby(PID, sort=False).indices.values():
        elapsed[rows] = monotonic_times(seconds[rows])
    return elapsed


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
