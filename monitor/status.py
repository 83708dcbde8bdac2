"""Exit statuses and the errors that map to them."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """What the process returns to the shell."""

    SUCCESS = 0
    ERROR = 1
    USAGE = 2
    LEAK_FOUND = 3
    INTERRUPTED = 130
    TERMINATED = 143


class MonitorError(Exception):
    """An error the user can act on: printed as one line, exit status 1."""


class UsageError(MonitorError):
    """Bad command-line input: printed as one line, exit status 2."""
