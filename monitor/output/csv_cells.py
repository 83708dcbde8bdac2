"""Where a cell of a CSV file sits and what it holds as written: for error messages a user can act on."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Protocol

import pandas as pd

# A cell shown in a message is cut to this many characters: enough to recognise it, never a wall of text.
SHOWN_CHARACTERS = 40


def cell_as_written(path: Path, row: int, column: str) -> str | None:
    """The text of data row `row` (0-based) in `column`, as the file holds it; None when it cannot be read again.

    The file is read again as text with pandas, so the rows are counted exactly as the first reading
    counted them; only done for an error, so a good report is read once.
    """
    try:
        texts = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False)[column]
        return str(texts.iloc[row])
    except (OSError, ValueError, UnicodeDecodeError, KeyError, IndexError):
        return None


def line_of_row(path: Path, row: int, column: str, text: str) -> int | None:
    """The file's line (the header is line 1) on which data row `row` (0-based) starts, or None when unsure.

    Blank lines and lines of spaces are skipped as pandas skips them, and a quoted cell may span lines;
    the row found must hold `text` in `column`, so a file the two readers split differently gives None
    rather than a wrong line.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            reader = csv.reader(handle)
            header = _next_record(reader)
            if header is None or header[1].count(column) != 1:
                return None
            position = header[1].index(column)
            record = _next_record(reader)
            for _ in range(row):
                record = _next_record(reader)
            if record is None:
                return None
            line, cells = record
            written = cells[position] if position < len(cells) else ""
            return line if written == text else None
    except (OSError, csv.Error):
        return None


class _Records(Protocol):
    """A csv reader: records, and the count of lines read so far."""

    line_num: int

    def __next__(self) -> list[str]: ...


def _next_record(reader: _Records) -> tuple[int, list[str]] | None:
    """The next record that is not blank, with the line it starts on; None at the end of the file."""
    while True:
        start = reader.line_num + 1
        cells = next(reader, None)
        if cells is None:
            return None
        if cells and not (len(cells) == 1 and cells[0].strip(" \t") == ""):
            return start, cells


def shown(text: str) -> str:
    """The cell in double quotes on one line: characters that are not printable escaped, a long one cut."""
    cut = text[:SHOWN_CHARACTERS]
    escaped = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in cut)
    escaped = escaped.replace('"', '\\"')
    return f'"{escaped}..."' if len(text) > SHOWN_CHARACTERS else f'"{escaped}"'
