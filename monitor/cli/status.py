"""The exit statuses of the command line, one enum for every mode."""

from __future__ import annotations

import enum

from monitor.sampling.signals import signal_exit_status


class ExitStatus(enum.IntEnum):
    """What the process returns to the shell."""

    SUCCESS = 0
    ERROR = 1
    USAGE = 2
    LEAK_FOUND = 3
    REGRESSION_FOUND = 4
    HUNG_UP = 129
    INTERRUPTED = 130
    QUIT = 131
    TERMINATED = 143


def status_for_signal(signum: int) -> ExitStatus:
    """128 + the signal, as a shell reports it: SIGHUP 129, Ctrl-C 130, SIGQUIT 131, SIGTERM 143.

    Ctrl-Break and console close on Windows (SIGBREAK) count as SIGTERM, 143.
    """
    return ExitStatus(signal_exit_status(signum))
