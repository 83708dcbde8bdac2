"""Stop signals: outside a run they end the program cleanly; during a run they stop it after the current tick.

SIGINT (Ctrl-C), SIGTERM, SIGHUP (the terminal closed) and SIGQUIT (Ctrl-\\) are stop signals, and
on Windows SIGBREAK (Ctrl-Break, console close). The run's handlers (StopSignals) stay installed
until its files are written, so a second Ctrl-C while the summary is being written is counted
instead of killing the monitor half-way; outside them (start-up, the way out) EndOnSignals ends
the program with the signal's exit status and no traceback, once the modules being loaded are in.
"""

from __future__ import annotations

import signal
import time

# main.py imports this module before anything else, so that a signal during start-up is handled:
# the types are for the type checker only, and `typing` (a few milliseconds) is not loaded for them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType, TracebackType
    from typing import Any

_STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM]
for _name in ("SIGHUP", "SIGQUIT", "SIGBREAK"):  # SIGHUP and SIGQUIT: POSIX; SIGBREAK: Windows
    if hasattr(signal, _name):
        _STOP_SIGNALS.append(getattr(signal, _name))

# A hang-up that was ignored when the program started stays ignored, as `nohup` asks. The others
# are always handled: a script's background job starts with SIGINT and SIGQUIT ignored (so that the
# terminal's Ctrl-C and Ctrl-\ pass it by), and `kill -INT` or `kill -QUIT` must still stop it cleanly.
_IGNORED_STAYS_IGNORED = {signal.SIGHUP} if hasattr(signal, "SIGHUP") else set()


def stop_signals() -> list[int]:
    """The stop signals this process handles: those of this platform, minus a hang-up ignored at start."""
    return [
        signum
        for signum in _STOP_SIGNALS
        if signum not in _IGNORED_STAYS_IGNORED or signal.getsignal(signum) is not signal.SIG_IGN
    ]


def signal_exit_status(signum: int) -> int:
    """The exit status of a stop by `signum`: 128 + N as a shell reports it; Windows' SIGBREAK counts as SIGTERM."""
    if signum == getattr(signal, "SIGBREAK", None):
        return 128 + signal.SIGTERM
    return 128 + signum


def signal_name(signum: int) -> str:
    """SIGINT, SIGTERM...: the name a user knows the signal by."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Stopped(SystemExit):
    """A stop signal outside a run: a SystemExit with the signal's status, silent if nothing catches it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal_exit_status(signum))
        self.signum = signum


class _Loading:
    """The context of loading(): counts the blocks entered, holds the signal that came meanwhile."""

    depth = 0
    held: int | None = None  # signals reach the whole process: so does this state

    def __enter__(self) -> None:
        _Loading.depth += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _Loading.depth -= 1
        if _Loading.depth == 0 and _Loading.held is not None:
            signum, _Loading.held = _Loading.held, None
            raise Stopped(signum)


def loading() -> _Loading:
    """While modules load, a stop signal's Stopped waits for the end of the block instead of landing inside them.

    A library's initialisation (numpy's C extension among them) may turn any exception raised
    inside it into an ImportError, which would end the program with status 1 and a page of advice
    instead of the signal's status.
    """
    return _Loading()


class EndOnSignals:
    """Makes the first stop signal raise Stopped; later ones are ignored, so the way out is not cut short.

    install() may be called before anything else is imported; restore() puts back the handlers it
    replaced, for a caller that runs the program in-process.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> EndOnSignals:
        """Take over every stop signal; returns self."""
        try:
            for signum in stop_signals():
                self._previous[signum] = signal.signal(signum, self._handle)
        except ValueError:
            pass  # not the main thread, which alone receives signals: they stay its business
        return self

    def restore(self) -> None:
        """Put back the handlers that install() replaced."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            if _Loading.depth:
                _Loading.held = signum
            else:
                raise Stopped(signum)


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
        for signum in stop_signals():
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
