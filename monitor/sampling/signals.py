"""Turns SIGINT / SIGTERM into a clean stop: the current tick finishes, the sleep is cut short.

The handlers stay installed until the run's files are written, so a second Ctrl-C while the summary
is being written is counted instead of killing the monitor half-way.
"""

from __future__ import annotations

import signal
import time
from types import FrameType, TracebackType
from typing import Any

# Windows delivers Ctrl-Break and console close as SIGBREAK where Python can see them.
_STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM]
if hasattr(signal, "SIGBREAK"):
    _STOP_SIGNALS.append(signal.SIGBREAK)


class _WakeUpError(Exception):
    """Raised inside an interrupted sleep; never escapes StopSignals.sleep."""


class StopSignals:
    """Context manager that records the first stop signal instead of dying mid-write.

    A signal that arrives while a tick is being written only sets `signum`; the loop stops
    after that tick. One that arrives during the sleep between ticks ends the sleep at once.
    Every signal is counted in `count`, the later ones included.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0
        self._sleeping = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for signum in _STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    @property
    def requested(self) -> bool:
        """True once a stop signal has arrived."""
        return self.signum is not None

    def sleep(self, seconds: float) -> None:
        """Sleep, returning early if a stop signal arrives."""
        # The handler raises at most once per sleep and only while _sleeping is set,
        # so the wake-up can never land outside this try.
        try:
            self._sleeping = True
            if self.signum is None:
                time.sleep(seconds)
            self._sleeping = False
        except _WakeUpError:
            pass

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.signum is None:
            self.signum = signum
        if self._sleeping:
            self._sleeping = False
            raise _WakeUpError
