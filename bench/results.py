"""Where each bench keeps its latest result: bench/results/<bench>.md, written by the bench itself.

    with recorded("cli_latency"):
        ...print the table...

Everything the bench prints inside the block still goes to the terminal, and is also written to
bench/results/<bench>.md under the command that printed it, the date and the machine, so that the
figures quoted in docs/performance.md come from a file a script wrote.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import platform
import sys
from pathlib import Path
from typing import Iterator, TextIO

RESULTS = Path(__file__).resolve().parent / "results"


class _Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy."""

    def __init__(self, terminal: TextIO) -> None:
        self._terminal = terminal
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self._terminal.write(text)

    def flush(self) -> None:
        self._terminal.flush()


def machine() -> str:
    """This machine in one line: CPUs, OS, Python and psutil."""
    import psutil

    return (
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, psutil {psutil.__version__}"
    )


@contextlib.contextmanager
def recorded(bench: str) -> Iterator[None]:
    """Copy what the block prints to bench/results/<bench>.md, once it ends without an exception."""
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    command = " ".join(["python", f"bench/{bench}.py", *sys.argv[1:]])
    when = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{bench}.md").write_text(
        f"`{command}` on {when}; {machine()}:\n\n```\n{tee.copy.getvalue().rstrip()}\n```\n", encoding="utf-8"
    )
