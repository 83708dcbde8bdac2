"""The errors a user can act on, shared by every layer."""

from __future__ import annotations


class MonitorError(Exception):
    """An error the user can act on: printed as one line, exit status 1."""


class UsageError(MonitorError):
    """Bad command-line input: printed as one line, exit status 2."""
