"""Where the console text goes: table rows that scroll, a progress line that stays put, or only the summary.

On a terminal the progress line is redrawn in place under the table (carriage return and "erase
line"); when the output is piped or redirected there is no progress line and no escape sequence.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

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
        except BrokenPipeError:
            # The reader went away (`| head`): sampling goes on into the files, silently.
            self._closed = True
            if self._out is sys.stdout:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False
