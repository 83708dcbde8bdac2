"""A drift-free tick schedule: tick k fires at start + k * interval, on a schedule.Scheduler."""

from __future__ import annotations

import datetime
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import schedule


@dataclass
class ClockStats:
    """How well the ticks kept to their grid."""

    planned: int
    fired: int = 0
    missed: int = 0
    max_lateness_s: float = 0.0


class _GridJob(schedule.Job):
    """A scheduler's job that the clock runs when the monotonic clock says it is due, and then aims itself.

    schedule's own `Job.run` reads the wall clock three times and works out the next run from the
    job's unit, once per tick; the clock sets `next_run` onto its grid right after anyway, so this job
    only runs its function.
    """

    def run(self) -> Any:
        """Run the job's function; the clock sets the next run."""
        return self.job_func()  # type: ignore[misc]


class TickClock:
    """Calls on_tick(k) for k = 1..planned at start + k * interval_s, skipping ticks it cannot honour.

    schedule's own `every(S).seconds` reschedules from the moment a job finishes, so each tick
    drifts by the job's run time. After every run the job's next_run is set back onto the ideal
    grid, measured on the monotonic clock. A tick more than half an interval late (the machine
    stalled) is skipped and counted rather than fired in a bunch.

    on_tick returns False, or stopped() True, to stop the clock early. `monotonic` and `sleep`
    are the clock's only contact with time, so a test can run it on a fake clock.
    """

    def __init__(
        self,
        interval_s: float,
        planned: int,
        on_tick: Callable[[int], bool],
        sleep: Callable[[float], None] = time.sleep,
        stopped: Callable[[], bool] = lambda: False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        # A zero period would make the scheduler spin without ever sleeping (or sleep forever).
        if not (math.isfinite(interval_s) and interval_s > 0):
            raise ValueError(f"the tick interval must be a finite number of seconds above 0, got {interval_s!r}")
        self.interval_s = interval_s
        self.stats = ClockStats(planned=planned)
        self._on_tick = on_tick
        self._sleep = sleep
        self._stopped = stopped
        self._monotonic = monotonic
        # schedule logs every job run at DEBUG; at sampling rates of 100 Hz that is pure overhead.
        logging.getLogger("schedule").setLevel(logging.WARNING)
        self._scheduler = schedule.Scheduler()
        self._job = _GridJob(interval_s, self._scheduler).seconds.do(self._fire)  # type: ignore[arg-type]
        self._start = 0.0
        self._next_index = 1
        self._running = False

    def elapsed_s(self) -> float:
        """Seconds since the clock started."""
        return self._monotonic() - self._start

    def grid_time(self, index: int) -> float:
        """Monotonic time at which tick `index` is due."""
        return self._start + index * self.interval_s

    def run(self, start: float | None = None) -> ClockStats:
        """Run until every planned tick has fired or been skipped, or on_tick asks to stop."""
        self._start = self._monotonic() if start is None else start
        self._next_index = 1
        self._running = True
        self._aim_job()
        monotonic, sleep, stopped, planned = self._monotonic, self._sleep, self._stopped, self.stats.planned
        start, interval_s, run_job = self._start, self.interval_s, self._job.run
        while self._running and self._next_index <= planned and not stopped():
            due = start + self._next_index * interval_s
            delay = due - monotonic()
            if delay > 0:
                sleep(delay)
                # A stop signal cuts the sleep short; the tick it was waiting for must not fire.
                if stopped():
                    break
                if monotonic() < due:
                    continue
            # The monotonic clock decides that the tick is due (schedule's own check compares next_run
            # with the wall clock, which NTP or a manual change may step), so the job is run at once.
            run_job()
            self._aim_job()
        return self.stats

    def _fire(self) -> None:
        index = self._next_index
        lateness = self._monotonic() - self.grid_time(index)
        self.stats.max_lateness_s = max(self.stats.max_lateness_s, lateness)
        self.stats.fired += 1
        self._next_index = index + 1
        if not self._on_tick(index):
            self._running = False

    def _aim_job(self) -> None:
        """Point the job at the next grid time that can still be honoured."""
        now = self._monotonic()
        # The first tick still within half an interval of its grid time; those before it are missed.
        honourable = math.ceil((now - self._start) / self.interval_s - 0.5)
        if honourable > self._next_index:
            skipped = min(honourable, self.stats.planned + 1) - self._next_index
            self.stats.missed += skipped
            self._next_index += skipped
        delay = self.grid_time(self._next_index) - now
        self._job.next_run = datetime.datetime.now() + datetime.timedelta(seconds=delay)
