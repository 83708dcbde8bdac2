"""Where each bench keeps its latest result: bench/results/<bench>.md, written by the bench itself.

    with recorded("cli_latency"):
        ...print the table...

Everything the bench prints inside the block still goes to the terminal, and is also written to
bench/results/<bench>.md under the command that printed it, the date and the machine. A page of
docs/ that quotes the result marks the place with two comments, `<!-- bench/results/<bench>.md -->`
and `<!-- end of bench/results/<bench>.md -->`: what lies between them is replaced by the new result,
so the figures in the docs are the ones the script last wrote.
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
DOCS = Path(__file__).resolve().parent.parent / "docs"


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
def recorded(bench: str, markdown: bool = False) -> Iterator[None]:
    """Copy what the block prints to bench/results/<bench>.md, once it ends without an exception.

    Printed text is kept in a code block, unless the bench prints Markdown (`markdown`).
    """
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    printed = tee.copy.getvalue().rstrip()
    save(bench, printed if markdown else f"```\n{printed}\n```")


def save(bench: str, body: str) -> Path:
    """Write a bench's latest result (Markdown) under the command that made it, the date and the machine,
    to bench/results/<bench>.md, and into the docs' marks for it; the file's path."""
    command = " ".join(["python", f"bench/{bench}.py", *sys.argv[1:]])
    when = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    result = f"`{command}` on {when}; {machine()}:\n\n{body.rstrip()}\n"
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{bench}.md"
    path.write_text(result, encoding="utf-8")
    for page in DOCS.glob("*.md"):
        quote(page, bench, result)
    return path


def quote(page: Path, bench: str, result: str) -> bool:
    """Put `result` between the page's marks for this bench, if it has them; True when it did."""
    text = page.read_text(encoding="utf-8")
    start = f"<!-- bench/results/{bench}.md -->\n"
    end = f"<!-- end of bench/results/{bench}.md -->"
    if start not in text or end not in text:
        return False
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    page.write_text(f"{before}{start}{result}{end}{after}", encoding="utf-8")
    return True
