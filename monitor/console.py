"""Where the console text goes: table rows that scroll, a progress line that stays put, or only the summary.

On a terminal the progress line is redrawn in place under the table (carriage return and "erase
line"); when the output is piped or redirected there is no progress line and no escape sequence.
"""

from __future__ import annotations

from typing import TextIO

_ERASE_LINE = "\r\x1b[2K"


class Console:
    """Prints a run's table, notes, progress and summary according to the output kind and --quiet."""

    def __init__(self, out: TextIO, quiet: bool = False, live: bool | None = None) -> None:
        self._out = out
        self.quiet = quiet
        self.live = _is_terminal(out) if live is None else live
        self._progress_shown = False

    def line(self, text: str) -> None:
        """A table row or a note; left out with --quiet."""
        if self.quiet:
            return
        self._clear_progress()
        self._out.write(text + "\n")
        self._out.flush()

    def progress(self, text: str) -> None:
        """Redraw the progress line in place (terminals only)."""
        if self.quiet or not self.live:
            return
        self._out.write(_ERASE_LINE + text)
        self._out.flush()
        self._progress_shown = True

    def summary(self, text: str) -> None:
        """A summary line: always printed."""
        self._clear_progress()
        self._out.write(text + "\n")
        self._out.flush()

    def _clear_progress(self) -> None:
        if self._progress_shown:
            self._out.write(_ERASE_LINE)
            self._progress_shown = False


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False
