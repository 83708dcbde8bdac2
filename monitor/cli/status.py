"""The exit statuses of the command line, one enum for every mode."""

from __future__ import annotations

import enum
import signal


class ExitStatus(enum.IntEnum):
    """What the process returns to the shell."""

    SUCCESS = 0
    ERROR = 1
    USAGE = 2
    LEAK_FOUND = 3
    INTERRUPTED = 130
    TERMINATED = 143


def status_for_signal(signum: int) -> ExitStatus:
    """Ctrl-C is 130; SIGTERM, and Ctrl-Break or console close on Windows, are 143."""
    return ExitStatus.INTERRUPTED if signum == signal.SIGINT else ExitStatus.TERMINATED
